// End-to-end fleet tests: two real `cordon start --redis URL` processes, one mock-llm, one private
// redis-server (skipped with a message where redis-server is missing, outside CI).
// Fleet health is read from /control/fleet (in serve mode /readyz stays 200 while Redis is down).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RedisServer, freePort, skipWithoutRedis } from '../helpers/redis-server.js';
import { TcpGate } from '../fleet/tcp-gate.js';

const CLI = resolve('dist/cli.js');
const MOCK_SLOW = { 'x-mock-delay-ms': '50', 'x-mock-deltas': '200' }; // mock-llm: 200 deltas, 50ms apart

const skipRedis = skipWithoutRedis();

const procs: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'cordon-fleet-e2e-'));

async function waitHttp(url: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer within ${ms}ms`);
}

async function fleetOf(gw: Gw): Promise<{ health: { ok: boolean; reason?: string }; stats: Record<string, number> }> {
  return (await fetch(`${gw.control}/control/fleet`)).json();
}

async function waitFor(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms}ms waiting for ${what}`);
}

interface Gw { proxy: string; control: string; proc: ChildProcess }

async function startGateway(name: string, redisUrl: string, upstream: string, extraYaml = ''): Promise<Gw> {
  const [p, c] = [await freePort(), await freePort()];
  const cfg = join(dir, `${name}.yaml`);
  writeFileSync(cfg, `fleet:\n  instance_id: ${name}\n  flush_interval: 100ms\npolicy:\n  preset: off\n  rules:\n    - name: fleet-rpm\n      metric: requests\n      limit: 10\n      window: 1m\n      action: block\n${extraYaml}`);
  const proc = spawn(process.execPath, [CLI, 'start', '--config', cfg, '--listen', `127.0.0.1:${p}`, '--control-listen', `127.0.0.1:${c}`,
    '--upstream', upstream, '--data-dir', join(dir, name), '--redis', redisUrl], { stdio: 'ignore' });
  procs.push(proc);
  const gw = { proxy: `http://127.0.0.1:${p}`, control: `http://127.0.0.1:${c}`, proc };
  await waitHttp(`${gw.control}/healthz`);
  return gw;
}

function chat(gw: Gw, session: string, stream = false, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.proxy}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-session-id': session, ...headers },
    body: JSON.stringify({ model: 'mock', stream, messages: [{ role: 'user', content: 'hello' }] }),
  });
}

describe.skipIf(skipRedis)('fleet end to end: two gateways, one redis', () => {
  let redis: RedisServer;
  let gate: TcpGate;
  let a: Gw;
  let b: Gw;
  let upstreamUrl = '';

  beforeAll(async () => {
    redis = await RedisServer.start();
    gate = await TcpGate.start(redis.port);
    const mockPort = await freePort();
    const mock = spawn(process.execPath, [CLI, 'mock-llm', '--listen', `127.0.0.1:${mockPort}`], { stdio: 'ignore' });
    procs.push(mock);
    upstreamUrl = `http://127.0.0.1:${mockPort}`;
    a = await startGateway('A', redis.url, upstreamUrl);
    b = await startGateway('B', gate.url, upstreamUrl); // B reaches Redis through a gate the test can cut
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await gate?.close();
    await redis?.stop();
  });

  it('a kill on A ends a stream open on B within 250ms', async () => {
    const res = await chat(b, 'e2e-kill', true, MOCK_SLOW);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read(); // the stream is open on B
    const t0 = Date.now();
    expect((await fetch(`${a.control}/control/sessions/e2e-kill/kill`, { method: 'POST' })).status).toBe(200);
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    expect(Date.now() - t0).toBeLessThan(250 + 100);
    expect(text).toContain('event: error');
    expect(text).toContain('session_killed');
    const again = await chat(b, 'e2e-kill');
    expect(again.status).toBe(403);
    expect((await again.json()).error.type).toBe('session_killed');
  });

  it('counts requests from both gateways without losing any, and lists the session with its instance', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => chat(i % 2 ? a : b, `e2e-count-${i % 4}`).then((r) => r.arrayBuffer())));
    await new Promise((r) => setTimeout(r, 400)); // write-behind flush
    let total = 0;
    for (let s = 0; s < 4; s++) {
      const v = await (await fetch(`${a.control}/control/sessions/e2e-count-${s}`)).json();
      total += v.requests;
    }
    expect(total).toBe(20);
    const page = await (await fetch(`${b.control}/control/sessions?limit=100`)).json();
    const one = page.sessions.find((s: { id: string }) => s.id === 'e2e-count-0');
    expect(['A', 'B']).toContain(one.instance);
  });

  it('counts WebSocket traffic in the fleet view: the upgrade as a request, frames as bytes', async () => {
    const ws = new WebSocket(`${a.proxy.replace('http', 'ws')}/v1/realtime`, { headers: { 'x-session-id': 'e2e-ws' } });
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    const echoed = new Promise((r) => ws.once('message', r));
    ws.send('hello fleet');
    await echoed;
    ws.close();
    await waitFor(async () => {
      const v = await (await fetch(`${b.control}/control/sessions/e2e-ws`)).json() as { requests?: number; bytes_in?: number; bytes_out?: number };
      return v.requests === 1 && (v.bytes_in ?? 0) >= 11 && (v.bytes_out ?? 0) >= 11;
    }, 3_000, 'B to see e2e-ws with 1 request and its frame bytes');
  });

  it('enforces a rate rule across both gateways', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 16; i++) {
      const r = await chat(i % 2 ? a : b, 'e2e-rate');
      codes.push(r.status);
      await r.arrayBuffer();
    }
    expect(codes.filter((c) => c === 200)).toHaveLength(10);
    expect(codes.filter((c) => c === 429)).toHaveLength(6);
  });

  it('sees a kill issued while B was cut off from redis, once B reconnects', async () => {
    expect((await chat(b, 'e2e-cut')).status).toBe(200);
    gate.cut();
    await waitFor(async () => !(await fleetOf(b)).health.ok, 3_000, 'B to report the fleet store unreachable');
    expect((await fleetOf(b)).health.reason).toMatch(/^redis unreachable/);
    expect((await fetch(`${b.control}/readyz`)).status).toBe(200); // serve mode: stays in the load balancer
    expect((await chat(b, 'e2e-cut-other')).status).toBe(200); // serve mode keeps serving
    await fetch(`${a.control}/control/sessions/e2e-cut/kill`, { method: 'POST' });
    gate.restore();
    const t0 = Date.now();
    let status = 200;
    while (Date.now() - t0 < 5_000 && status !== 403) {
      const r = await chat(b, 'e2e-cut');
      status = r.status;
      await r.arrayBuffer();
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(status).toBe(403);
  });

  it('keeps serving while redis is killed and restarted, and rebuilds the counters it lost', async () => {
    for (let i = 0; i < 3; i++) await (await chat(a, 'e2e-rebuild')).arrayBuffer();
    await new Promise((r) => setTimeout(r, 400)); // write-behind flush
    await redis.kill();
    for (let i = 0; i < 10; i++) expect((await chat(a, `e2e-down-${i}`)).status).toBe(200);
    await waitFor(async () => !(await fleetOf(a)).health.ok, 3_000, 'A to report redis down');
    await redis.restart();
    await waitFor(async () => (await fleetOf(a)).health.ok, 10_000, 'A to reconnect');
    expect((await fleetOf(a)).stats.redis_resets).toBeGreaterThanOrEqual(1);
    // the kill made before the outage was written back by the instances that held it
    const r = await chat(b, 'e2e-kill');
    expect(r.status).toBe(403);
    // redis restarted empty: A rebuilt the session's counters from its own session table
    await waitFor(async () => {
      const v = await (await fetch(`${b.control}/control/sessions/e2e-rebuild`)).json() as { requests?: number };
      return v.requests === 3;
    }, 5_000, 'the fleet view of e2e-rebuild to show its 3 requests again');
  });

  it('a gateway restarted with a kill in its storage follows a resume made elsewhere while it was down', async () => {
    expect((await chat(a, 'e2e-restart')).status).toBe(200);
    await fetch(`${a.control}/control/sessions/e2e-restart/kill`, { method: 'POST' });
    expect((await chat(a, 'e2e-restart')).status).toBe(403);
    await new Promise((r) => setTimeout(r, 200)); // the kill reaches A's storage (flushed every 50ms)
    a.proc.kill('SIGTERM');
    await new Promise((r) => a.proc.once('exit', r));
    await fetch(`${b.control}/control/sessions/e2e-restart/resume`, { method: 'POST' });
    expect((await chat(b, 'e2e-restart')).status).toBe(200);
    // same name, same data dir: A restores the kill from SQLite, then learns from Redis it was resumed since
    a = await startGateway('A', redis.url, upstreamUrl);
    await waitFor(async () => {
      const r = await chat(a, 'e2e-restart');
      await r.arrayBuffer();
      return r.status === 200;
    }, 5_000, 'the restarted A to serve the session resumed on B');
  });
});
