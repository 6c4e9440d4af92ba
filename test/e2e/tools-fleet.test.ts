// Approvals across a fleet: two real gateways on one private redis-server. A call held on A is
// listed and decided from B; A releases it. A decision made while A's subscriber connection is
// down still reaches A through the stored record when it reconnects.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';
import { RedisServer, skipWithoutRedis } from '../helpers/redis-server.js';

const skip = skipWithoutRedis();

describe.skipIf(skip)('approvals across two instances', () => {
  let redis: RedisServer;
  let mock: MockProc;
  let a: GatewayProc;
  let b: GatewayProc;

  beforeAll(async () => {
    redis = await RedisServer.start();
    mock = await startMockLlm();
    const dir = mkdtempSync(join(tmpdir(), 'cordon-tools-fleet-'));
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, "policy:\n  preset: off\n  approval_timeout: 20s\n  rules:\n    - name: hold-shell\n      target: tool_call\n      patterns: ['rm\\s+-rf']\n      action: hold\n");
    [a, b] = await Promise.all([
      startGateway(['--upstream', `${mock.url}/v1`, '--redis', redis.url, '--config', cfg]),
      startGateway(['--upstream', `${mock.url}/v1`, '--redis', redis.url, '--config', cfg]),
    ]);
  });
  afterAll(async () => { await a?.stop(); await b?.stop(); await mock?.stop(); await redis?.stop(); });

  const hold = (session: string) => fetch(`${a.proxy}/v1/mcp`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'shell', arguments: { command: `rm -rf /tmp/${session}` } } }),
  });

  async function pendingOn(gw: GatewayProc, session: string): Promise<{ id: string; instance?: string }> {
    for (let i = 0; i < 300; i++) {
      const r = (await (await fetch(`${gw.control}/control/approvals`)).json()) as { approvals: Array<{ id: string; session_id: string; instance?: string }> };
      const found = r.approvals.find((x) => x.session_id === session);
      if (found) return found;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error(`no pending approval for ${session} on ${gw.control}`);
  }

  it('a call held on A is listed on B, approved there, and released on A', async () => {
    const p = hold('fleet-1');
    const seen = await pendingOn(b, 'fleet-1');
    expect(seen.instance).toBeDefined();
    const r = await fetch(`${b.control}/control/approvals/${seen.id}/approve`, { method: 'POST' });
    expect(r.status).toBe(200);
    const body = (await (await p).json()) as { result?: unknown };
    expect(body.result).toBeDefined();
    const again = await fetch(`${a.control}/control/approvals/${seen.id}/deny`, { method: 'POST' });
    expect(again.status).toBe(409);
  });

  it('a decision made while A\'s subscriber is disconnected reaches A when it reconnects', async () => {
    const p = hold('fleet-2');
    const seen = await pendingOn(b, 'fleet-2');
    // drop every pub/sub connection (A's and B's subscribers), then deny at once from B
    execFileSync('redis-cli', ['-p', String(redis.port), 'CLIENT', 'KILL', 'TYPE', 'pubsub']);
    const r = await fetch(`${b.control}/control/approvals/${seen.id}/deny`, { method: 'POST' });
    expect(r.status).toBe(200);
    const body = (await (await p).json()) as { error?: { data: { type: string } } };
    expect(body.error?.data.type).toBe('approval_denied');
  }, 15_000);
});
