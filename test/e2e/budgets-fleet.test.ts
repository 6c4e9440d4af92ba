// Budgets across a fleet: two real gateways on one private redis-server share a key's budget. Clients
// on both instances send streamed requests at once until refused; the fleet admits no more than the
// budget plus one request per instance (SPEC "Agents, keys and spend": fleet-wide in Redis mode).
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, skipWithoutRedis } from '../helpers/redis-server.js';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

const KEY = 'ck-fleet-budget-key-0123456789';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe.skipIf(skipWithoutRedis())('budgets, fleet-wide', () => {
  let redis: RedisServer;
  let mock: MockProc;
  let a: GatewayProc;
  let b: GatewayProc;
  let file: string;

  beforeAll(async () => {
    redis = await RedisServer.start();
    mock = await startMockLlm();
    file = join(mkdtempSync(join(tmpdir(), 'cordon-budget-fleet-')), 'c.yaml');
  }, 30_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await mock?.stop();
    await redis?.stop();
  });

  /** One streamed request with usage; its status and the USD it cost at mock-gpt's price (1 and 2 per million). */
  const chat = async (gw: GatewayProc, sid: string): Promise<{ status: number; usd: number }> => {
    const r = await fetch(`${gw.proxy}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-session-id': sid, 'x-mock-delay-ms': '15' },
      body: JSON.stringify({ model: 'mock-gpt', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'spend a little' }] }),
    });
    const text = await r.text();
    if (r.status !== 200) return { status: r.status, usd: 0 };
    const m = /"prompt_tokens":(\d+),"completion_tokens":(\d+)/.exec(text);
    expect(m).not.toBeNull();
    return { status: 200, usd: (Number(m![1]) + 2 * Number(m![2])) / 1e6 };
  };

  it('clients on two instances at once spend the budget and no more than one request per instance over', async () => {
    // the price of one request, from a gateway without the budget
    writeFileSync(file, `upstreams:\n  - url: ${mock.url}/v1\npricing:\n  mock-gpt: { input: 1, output: 2 }\nauth:\n  keys:\n    - { id: k, key_sha256: ${sha(KEY)}, agent: spender }\n`);
    const probe = await startGateway(['--config', file]);
    const one = (await chat(probe, 'probe')).usd;
    await probe.stop();
    expect(one).toBeGreaterThan(0);
    const limit = one * 10.5;
    writeFileSync(file, `upstreams:\n  - url: ${mock.url}/v1\npricing:\n  mock-gpt: { input: 1, output: 2 }\nauth:\n  keys:\n    - { id: k, key_sha256: ${sha(KEY)}, agent: spender, budget: { usd: ${limit}, window: 1d } }\n`);
    a = await startGateway(['--config', file, '--redis', redis.url]);
    b = await startGateway(['--config', file, '--redis', redis.url]);
    let spent = 0;
    let ok = 0;
    const statuses = new Map<number, number>();
    // four clients per instance, each sending until it is refused
    const client = async (gw: GatewayProc, n: number): Promise<void> => {
      for (let i = 0; i < 40; i++) {
        const r = await chat(gw, `c${n}-${i}`);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status !== 200) return;
        ok++;
        spent += r.usd;
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((n) => client(n % 2 === 0 ? a : b, n)));
    expect(statuses.get(429)).toBe(8); // every client ends refused
    expect([...statuses.keys()].sort()).toEqual([200, 429]);
    // at least what fits, at most the budget plus one request per instance
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(spent).toBeLessThanOrEqual(limit + 2 * one + 1e-12);
    // a refusal names the budget and the time to the window's end
    const r = await fetch(`${b.proxy}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'more' }] }),
    });
    expect(r.status).toBe(429);
    expect(await r.json()).toMatchObject({ error: { type: 'budget_exceeded' } });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 60_000);
});
