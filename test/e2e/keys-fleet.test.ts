// Keys and agent kills across a fleet: two real gateways on one private redis-server. A key made on
// one instance works on the other; its revocation and an agent kill hold on the other within 1s.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, skipWithoutRedis } from '../helpers/redis-server.js';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

describe.skipIf(skipWithoutRedis())('keys and agents, fleet-wide', () => {
  let redis: RedisServer;
  let mock: MockProc;
  let a: GatewayProc;
  let b: GatewayProc;

  beforeAll(async () => {
    redis = await RedisServer.start();
    mock = await startMockLlm();
    const file = join(mkdtempSync(join(tmpdir(), 'cordon-keys-fleet-')), 'c.yaml');
    writeFileSync(file, `upstreams:\n  - url: ${mock.url}/v1\nauth:\n  required: true\n`);
    a = await startGateway(['--config', file, '--redis', redis.url]);
    b = await startGateway(['--config', file, '--redis', redis.url]);
  }, 30_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await mock?.stop();
    await redis?.stop();
  });

  const chat = (gw: GatewayProc, key: string, sid: string) => fetch(`${gw.proxy}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-session-id': sid },
    body: JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'hi' }] }),
  }).then(async (r) => { await r.text(); return r.status; });

  async function within(ms: number, fn: () => Promise<boolean>): Promise<number> {
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      if (await fn()) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`not within ${ms}ms`);
  }

  it('a key created on A works on B; revoked on A, B refuses it within 1s; an agent killed on A is refused on B', async () => {
    const made = await fetch(`${a.control}/control/keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent: 'fleet-bot' }) });
    const k = await made.json() as { id: string; key: string };
    await within(1000, async () => (await chat(b, k.key, 'f-1')) === 200);
    await fetch(`${a.control}/control/agents/fleet-bot/kill`, { method: 'POST' });
    await within(1000, async () => (await chat(b, k.key, 'f-new')) === 403);
    await fetch(`${b.control}/control/agents/fleet-bot/resume`, { method: 'POST' });
    await within(1000, async () => (await chat(a, k.key, 'f-2')) === 200);
    expect((await fetch(`${a.control}/control/keys/${k.id}`, { method: 'DELETE' })).status).toBe(200);
    await within(1000, async () => (await chat(b, k.key, 'f-3')) === 401);
    // the reserved IDs of the kill channel never show as sessions
    const list = await fetch(`${b.control}/control/sessions?limit=1000`).then((r) => r.json()) as { sessions: Array<{ id: string }> };
    expect(list.sessions.some((s) => s.id.startsWith('@'))).toBe(false);
  }, 30_000);
});
