import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Router } from '../../src/control/router.js';
import { registerHistoryRoutes } from '../../src/control/routes/history.js';
import { registerEventStreamRoute, type EventStreamHub } from '../../src/control/routes/events.js';
import { EventBus } from '../../src/events.js';
import { kDb, type Store } from '../../src/storage/index.js';
import { cleanupDirs, completed, open, policy, tempDir } from './helpers.js';

const servers: Server[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) { s.closeAllConnections(); await new Promise((r) => s.close(r)); }
  for (const s of stores.splice(0)) await s.close();
  cleanupDirs();
});

async function serve(router: Router): Promise<string> {
  const server = createServer((req, res) => void router.handle(req, res, new URL(req.url ?? '/', 'http://x')));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function withHistory(): Promise<{ base: string; store: Store; t0: number }> {
  const store = open(tempDir());
  stores.push(store);
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < 5; i++) store.recordSession(completed(`s${i}`, t0 + i * 1000, t0 + i * 1000 + 500));
  store.recordPolicy(policy('s2', t0 + 2100, 'high', 'pii'));
  await store.drain();
  const router = new Router();
  registerHistoryRoutes(router, store);
  return { base: await serve(router), store, t0 };
}

describe('history routes', () => {
  it('GET /control/history pages and filters', async () => {
    const { base, t0 } = await withHistory();
    const r = await fetch(`${base}/control/history?limit=2`);
    expect(r.status).toBe(200);
    const page = await r.json() as { sessions: { id: string; ended_at: string; events: unknown[] }[]; next_cursor: string };
    expect(page.sessions.map((s) => s.id)).toEqual(['s4', 's3']);
    expect(page.next_cursor).toEqual(expect.any(String));
    const r2 = await (await fetch(`${base}/control/history?limit=2&cursor=${page.next_cursor}`)).json() as typeof page;
    expect(r2.sessions.map((s) => s.id)).toEqual(['s2', 's1']);
    expect(r2.sessions[0].events).toEqual([{
      id: expect.any(String), kind: 'policy', session_id: 's2', rule: 'pii', severity: 'high', action: 'flag',
      direction: 'request', excerpt: 'excerpt of pii', at: '2026-01-01T00:00:02.100Z',
    }]);
    const since = await (await fetch(`${base}/control/history?since=${new Date(t0 + 3000).toISOString()}`)).json() as typeof page;
    expect(since.sessions.map((s) => s.id)).toEqual(['s4', 's3']);
    const sinceMs = await (await fetch(`${base}/control/history?since=${t0 + 3000}&session_id=s4`)).json() as typeof page;
    expect(sinceMs.sessions.map((s) => s.id)).toEqual(['s4']);
    expect(sinceMs.next_cursor).toBeNull();
  });

  it('bad parameters get 400 in the SPEC error shape', async () => {
    const { base } = await withHistory();
    for (const [q, code] of [['since=yesterday', 'bad_since'], ['limit=0', 'bad_limit'], ['limit=abc', 'bad_limit'], ['limit=100000', 'bad_limit'],
      ['session_id=a%20b', 'bad_session_id'], ['cursor=zzz', 'bad_cursor']] as const) {
      const r = await fetch(`${base}/control/history?${q}`);
      expect(r.status, q).toBe(400);
      const body = await r.json() as { error: { message: string; type: string; code: string } };
      expect(body.error.type).toBe('invalid_request');
      expect(body.error.code).toBe(code);
      expect(body.error.message).not.toMatch(/\n\s+at /);
    }
    expect((await fetch(`${base}/control/flagged?limit=-1`)).status).toBe(400);
  });

  it('GET /control/flagged lists policy events with ISO times', async () => {
    const { base } = await withHistory();
    const r = await fetch(`${base}/control/flagged?limit=5`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ events: [{
      id: expect.any(String), session_id: 's2', rule: 'pii', severity: 'high', action: 'flag', direction: 'request',
      excerpt: 'excerpt of pii', at: '2026-01-01T00:00:02.100Z',
    }] });
  });

  it('answers 503 without a stack when storage cannot be read', async () => {
    const { base, store } = await withHistory();
    store[kDb].close();
    const r = await fetch(`${base}/control/flagged`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('storage_unavailable');
  });
});

async function withStream(opts = {}): Promise<{ base: string; bus: EventBus; hub: EventStreamHub }> {
  const bus = new EventBus();
  const router = new Router();
  const hub = registerEventStreamRoute(router, bus, opts);
  return { base: await serve(router), bus, hub };
}

describe('GET /control/events', () => {
  it('streams bus events as SSE with heartbeats, and cleans up on disconnect', async () => {
    const { base, bus, hub } = await withStream({ heartbeatMs: 50 });
    const ac = new AbortController();
    const r = await fetch(`${base}/control/events`, { signal: ac.signal });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = r.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    const readUntil = async (pred: () => boolean) => {
      while (!pred()) text += dec.decode((await reader.read()).value);
    };
    await readUntil(() => text.includes(': connected'));
    expect(bus.listenerCount('event')).toBe(1);
    bus.publish(policy('s1', Date.parse('2026-01-01T00:00:00Z'), 'high', 'pii'));
    bus.publish({ kind: 'session', type: 'killed', session_id: 's1', at: Date.parse('2026-01-01T00:00:01Z') });
    await readUntil(() => text.includes('event: session'));
    await readUntil(() => text.includes(': heartbeat'));
    const frames = text.split('\n\n').filter((f) => f.startsWith('event:'));
    expect(frames[0].split('\n')[0]).toBe('event: policy');
    expect(JSON.parse(frames[0].split('\n')[1].slice(6))).toMatchObject({ kind: 'policy', session_id: 's1', rule: 'pii', at: '2026-01-01T00:00:00.000Z' });
    expect(JSON.parse(frames[1].split('\n')[1].slice(6))).toEqual({ kind: 'session', type: 'killed', session_id: 's1', at: '2026-01-01T00:00:01.000Z' });
    ac.abort();
    for (let i = 0; i < 50 && hub.clients.size > 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(hub.clients.size).toBe(0);
    expect(bus.listenerCount('event')).toBe(0);
  });

  it('bounds the queue of a client that does not read, and counts drops', async () => {
    const { base, bus, hub } = await withStream({ clientQueueBytes: 64 * 1024 });
    const url = new URL(base);
    const sock = connect(Number(url.port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('GET /control/events HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => sock.once('data', r));
    sock.pause(); // stop reading: the server's writes back up
    for (let i = 0; i < 5000 && hub.clients.size === 1; i++) bus.publish(policy('s', i, 'low', 'r'.padEnd(2000, 'x')));
    expect(hub.dropped).toBeGreaterThan(0);
    expect(hub.bytes()).toBeLessThanOrEqual(64 * 1024);
    sock.destroy();
    for (let i = 0; i < 50 && hub.clients.size > 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(hub.clients.size).toBe(0);
  });

  it('refuses more streams than maxClients with 503', async () => {
    const { base, hub } = await withStream({ maxClients: 1 });
    const ac = new AbortController();
    const first = await fetch(`${base}/control/events`, { signal: ac.signal });
    expect(first.status).toBe(200);
    const second = await fetch(`${base}/control/events`);
    expect(second.status).toBe(503);
    hub.close();
    ac.abort();
  });
});
