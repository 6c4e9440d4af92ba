// The FleetState contract, run against both implementations (LocalFleet and RedisFleet).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FleetSessionState } from '../../src/fleet/types.js';
import { RedisServer, skipWithoutRedis } from '../helpers/redis-server.js';
import { localPair, redisPair, waitFor, type Pair } from './backends.js';

const skipRedis = skipWithoutRedis();
let server: RedisServer | null = null;

beforeAll(async () => {
  if (!skipRedis) server = await RedisServer.start();
});
afterAll(async () => {
  await server?.stop();
});

const backends: { name: string; skip: boolean; make: () => Promise<Pair> }[] = [
  { name: 'LocalFleet', skip: false, make: localPair },
  { name: 'RedisFleet', skip: skipRedis, make: () => redisPair(server!.url) },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`FleetState contract: ${backend.name}`, () => {
    let pair: Pair;
    afterEach(async () => { await pair?.close(); });

    it('propagates a kill from A to B within 250ms, and a resume', async () => {
      pair = await backend.make();
      const seen: [string, FleetSessionState, number][] = [];
      pair.b.onKill((id, state) => seen.push([id, state, Date.now()]));
      expect(pair.b.killState('s1')).toBeNull();
      const t0 = Date.now();
      await pair.a.kill('s1');
      expect(pair.a.killState('s1')).toBe('killed');
      const took = await waitFor(() => pair.b.killState('s1') === 'killed', 250, 'B to see the kill');
      expect(took).toBeLessThan(250);
      expect(seen).toHaveLength(1);
      expect(seen[0][0]).toBe('s1');
      expect(seen[0][1]).toBe('killed');
      expect(seen[0][2] - t0).toBeLessThan(250);

      await pair.b.resume('s1');
      await waitFor(() => pair.a.killState('s1') === null, 250, 'A to see the resume');
      expect(pair.b.killState('s1')).toBeNull();
      await waitFor(() => seen.length === 2, 250, 'the resume event');
      expect(seen[1][1]).toBe('active');
    });

    it('keeps terminated apart from killed, and kills an unknown session in advance', async () => {
      pair = await backend.make();
      await pair.a.kill('t1', 'terminated');
      await waitFor(() => pair.b.killState('t1') === 'terminated', 250, 'terminated on B');
      await pair.b.kill('never-seen');
      const v = await pair.a.getSession('never-seen');
      expect(v?.state).toBe('killed');
      expect(v?.requests).toBe(0);
      expect(await pair.a.getSession('nobody')).toBeUndefined();
    });

    it('sums counters from both instances under concurrent increments without losing any', async () => {
      pair = await backend.make();
      const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
      const rounds = 400;
      const work = (f: typeof pair.a, bytes: number) => (async () => {
        for (let r = 0; r < rounds; r++) {
          for (const id of ids) f.record(id, 1, bytes, 2 * bytes, 3, Date.now());
          if (r % 20 === 0) { await new Promise((res) => setTimeout(res, 1)); void f.flush(); }
        }
        await f.flush();
      })();
      await Promise.all([work(pair.a, 10), work(pair.b, 100)]);
      expect(await pair.a.flush()).toBe(true);
      expect(await pair.b.flush()).toBe(true);
      for (const id of ids) {
        const v = await pair.a.getSession(id);
        expect(v).toBeDefined();
        expect(v!.requests).toBe(2 * rounds);
        expect(v!.bytes_in).toBe(rounds * 10 + rounds * 100);
        expect(v!.bytes_out).toBe(2 * (rounds * 10 + rounds * 100));
        expect(v!.tokens).toBe(3 * 2 * rounds);
        expect(v!.instances.sort()).toEqual(['A', 'B']);
        expect(['A', 'B']).toContain(v!.instance);
        expect(Date.now() - v!.last_seen_ms).toBeLessThan(10_000);
      }
    });

    it('enforces a rate limit exactly across instances', async () => {
      pair = await backend.make();
      const tries = [];
      for (let i = 0; i < 15; i++) {
        tries.push(pair.a.rateLimit('rk', 10, 60_000));
        tries.push(pair.b.rateLimit('rk', 10, 60_000));
      }
      const results = await Promise.all(tries);
      expect(results.filter((r) => r.allowed)).toHaveLength(10);
      for (const r of results.filter((x) => !x.allowed)) {
        expect(r.retryAfterMs).toBeGreaterThan(0);
        expect(r.retryAfterMs).toBeLessThanOrEqual(6_000);
      }
      // other keys are independent; cost counts several units at once
      expect((await pair.b.rateLimit('other', 10, 60_000, 10)).allowed).toBe(true);
      expect((await pair.a.rateLimit('other', 10, 60_000, 1)).allowed).toBe(false);
    });

    it('lets a unit through again after windowMs/limit', async () => {
      pair = await backend.make();
      for (let i = 0; i < 4; i++) expect((await pair.a.rateLimit('slow', 4, 400)).allowed).toBe(true);
      const denied = await pair.b.rateLimit('slow', 4, 400);
      expect(denied.allowed).toBe(false);
      expect(denied.retryAfterMs).toBeGreaterThan(0);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(100);
      await new Promise((r) => setTimeout(r, denied.retryAfterMs + 15));
      expect((await pair.b.rateLimit('slow', 4, 400)).allowed).toBe(true);
      expect((await pair.a.rateLimit('slow', 4, 400)).allowed).toBe(false);
    });

    it('lists sessions from both instances in bounded pages with their instance', async () => {
      pair = await backend.make();
      for (let i = 0; i < 25; i++) (i % 2 ? pair.a : pair.b).record(`L${i}`, 1, 1, 1, 0, Date.now());
      await pair.a.flush();
      await pair.b.flush();
      const seen = new Map<string, string | null>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await pair.a.listSessions({ limit: 10, cursor });
        expect(page.sessions.length).toBeLessThanOrEqual(10);
        for (const s of page.sessions) seen.set(s.id, s.instance);
        cursor = page.next_cursor;
        pages++;
      } while (cursor !== null && pages < 20);
      expect(seen.size).toBe(25);
      for (let i = 0; i < 25; i++) expect(seen.get(`L${i}`)).toBe(i % 2 ? 'A' : 'B');
      expect(await pair.b.listInstances()).toEqual(['A', 'B']);
    });

    it('reports healthy and admits while its backend is up', async () => {
      pair = await backend.make();
      expect(pair.a.health()).toEqual({ ok: true });
      expect(pair.a.admit()).toBe(true);
      expect(pair.b.stats().instance_id).toBe('B');
    });
  });
}
