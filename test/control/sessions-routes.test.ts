import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Router } from '../../src/control/router.js';
import { registerSessionRoutes } from '../../src/control/routes/sessions.js';
import { registerStatsRoutes } from '../../src/control/routes/stats.js';
import { SessionTable } from '../../src/sessions/table.js';
import type { SessionView } from '../../src/sessions/types.js';
import { serve } from './helpers.js';

let table: SessionTable;
let base: string;
let close: () => Promise<void>;
let ended: number[];
const now = Date.now();

const ended1: SessionView = {
  id: 'old-1', state: 'completed', upstream: 'http://a', client_ip: null, started_at: new Date(0).toISOString(),
  last_seen_at: new Date(0).toISOString(), requests: 3, bytes_in: 1, bytes_out: 2, flags: 0,
};

beforeEach(async () => {
  table = new SessionTable({ upstreams: ['http://a'], idleTimeoutMs: 300_000, completeAfterMs: 300_000 });
  ended = [];
  table.onEnd((slot) => ended.push(slot));
  const router = new Router();
  registerSessionRoutes(router, table, { fallback: async (id) => (id === 'old-1' ? ended1 : undefined) });
  registerStatsRoutes(router, { sessions: table, requests: () => ({ total: 7, blocked: 2 }) });
  ({ url: base, close } = await serve(router));
});
afterEach(() => close());

async function call(method: string, path: string): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(base + path, { method });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

function expectError(body: any, type: string, code: string): void {
  expect(body).toEqual({ error: { message: expect.any(String), type, code } });
}

describe('GET /control/sessions', () => {
  it('lists with paging and a state filter', async () => {
    for (let i = 0; i < 5; i++) table.resolve(`s${i}`, '10.0.0.1', 0, 10, now);
    table.kill('s2');
    const p1 = await call('GET', '/control/sessions?limit=2');
    expect(p1.status).toBe(200);
    expect(p1.body.sessions.map((s: SessionView) => s.id)).toEqual(['s0', 's1']);
    expect(typeof p1.body.next_cursor).toBe('string');
    const p2 = await call('GET', `/control/sessions?limit=10&cursor=${encodeURIComponent(p1.body.next_cursor)}`);
    expect(p2.body.sessions.map((s: SessionView) => s.id)).toEqual(['s2', 's3', 's4']);
    expect(p2.body.next_cursor).toBeNull();
    const killed = await call('GET', '/control/sessions?state=killed');
    expect(killed.body).toEqual({ sessions: [expect.objectContaining({ id: 's2', state: 'killed' })], next_cursor: null });
    const s = p1.body.sessions[0];
    expect(Object.keys(s).sort()).toEqual(['bytes_in', 'bytes_out', 'client_ip', 'flags', 'id', 'last_seen_at', 'requests', 'started_at', 'state', 'upstream']);
  });

  it('answers 400 for a bad state, limit or cursor', async () => {
    for (const q of ['state=dead', 'limit=0', 'limit=-1', 'limit=abc', 'limit=1001', 'limit=1.5']) {
      const r = await call('GET', `/control/sessions?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.type).toBe('invalid_request');
    }
    expectError((await call('GET', '/control/sessions?state=dead')).body, 'invalid_request', 'invalid_state');
    expectError((await call('GET', '/control/sessions?limit=0')).body, 'invalid_request', 'invalid_limit');
    const c = await call('GET', '/control/sessions?cursor=nonsense');
    expect(c.status).toBe(400);
    expectError(c.body, 'invalid_request', 'invalid_cursor');
  });
});

describe('GET /control/sessions/:id', () => {
  it('returns a session with ISO times', async () => {
    table.resolve('agent-1', '::ffff:10.0.0.9', 0, 42, now);
    const r = await call('GET', '/control/sessions/agent-1');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 'agent-1', state: 'active', upstream: 'http://a', client_ip: '::ffff:10.0.0.9', requests: 1, bytes_in: 42, bytes_out: 0, flags: 0 });
    expect(new Date(r.body.started_at).toISOString()).toBe(r.body.started_at);
  });
  it('404 for unknown, the fallback for ended, 400 for malformed', async () => {
    const u = await call('GET', '/control/sessions/nobody');
    expect(u.status).toBe(404);
    expectError(u.body, 'not_found', 'session_not_found');
    expect((await call('GET', '/control/sessions/old-1')).body).toEqual(ended1);
    for (const bad of ['a%20b', 'x'.repeat(129), '%C3%A9', 'a%2Fb']) {
      const r = await call('GET', `/control/sessions/${bad}`);
      expect(r.status, bad).toBe(400);
      expectError(r.body, 'invalid_request', 'invalid_session_id');
    }
  });
});

describe('kill and resume', () => {
  it('kill → 200 killed and onEnd fires; resume → 200 active', async () => {
    const slot = table.resolve('victim', '', 0, 0, now);
    const k = await call('POST', '/control/sessions/victim/kill');
    expect(k).toMatchObject({ status: 200, body: { id: 'victim', state: 'killed' } });
    expect(ended).toEqual([slot]);
    expect(table.refusal(slot)).toBe('session_killed');
    const r = await call('POST', '/control/sessions/victim/resume');
    expect(r).toMatchObject({ status: 200, body: { id: 'victim', state: 'active' } });
    expect(table.refusal(slot)).toBeNull();
  });

  it('kills an unknown ID in advance', async () => {
    const k = await call('POST', '/control/sessions/later/kill');
    expect(k).toMatchObject({ status: 200, body: { id: 'later', state: 'killed' } });
    expect((await call('GET', '/control/sessions/later')).body.state).toBe('killed');
  });

  it('concurrent kills and resumes end consistent with the last one applied', async () => {
    table.resolve('race', '', 0, 0, now);
    const ops = Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? 'resume' : 'kill'));
    const results = await Promise.all(ops.map((op) => call('POST', `/control/sessions/race/${op}`)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const state = (await call('GET', '/control/sessions/race')).body.state;
    expect(['killed', 'active']).toContain(state);
    const s = table.stats();
    expect(s.killed + s.active).toBe(1);
    // a final kill always wins
    await call('POST', '/control/sessions/race/kill');
    expect((await call('GET', '/control/sessions/race')).body.state).toBe('killed');
  });

  it('400 for malformed IDs, 405 for a wrong method', async () => {
    for (const op of ['kill', 'resume']) {
      const r = await call('POST', `/control/sessions/bad%20id/${op}`);
      expect(r.status).toBe(400);
      expectError(r.body, 'invalid_request', 'invalid_session_id');
    }
    const m = await call('GET', '/control/sessions/x/kill');
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('POST');
    expectError(m.body, 'invalid_request', 'method_not_allowed');
  });
});

describe('GET /control/stats', () => {
  it('has the SPEC shape', async () => {
    table.resolve('a', '', 0, 0, now);
    table.resolve('b', '', 0, 0, now);
    table.kill('b');
    table.kill('c');
    const r = await call('GET', '/control/stats');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      sessions: { active: 1, total: 2, killed: 2 },
      requests: { total: 7, blocked: 2 },
      memory: { rss_bytes: expect.any(Number), heap_used_bytes: expect.any(Number), bytes_per_session: expect.any(Number), pressure: 'normal' },
    });
    expect(r.body.memory.bytes_per_session).toBeGreaterThan(0);
    expect(r.body.memory.bytes_per_session).toBe(table.bytesPerSession());
  });
});
