// Fleet-wide budgets on one Redis (fleet/redis-budgets.ts): a place per request in flight, admitted
// while spent + places x largest charge < limit, one place per instance before any charge is known,
// and the places of a run that died given back.
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, skipWithoutRedis } from '../helpers/redis-server.js';
import { redisPair, uniquePrefix, waitFor } from './backends.js';
import type { BudgetAdmission, BudgetAsk, BudgetTicket } from '../../src/fleet/budget-types.js';

const skip = skipWithoutRedis();

describe.skipIf(skip)('fleet budgets', () => {
  let server: RedisServer;
  beforeAll(async () => { server = await RedisServer.start(); });
  afterAll(async () => { await server?.stop(); });

  const ask: BudgetAsk = { scope: 'key:k1', cls: 'key:k1', limit: 1, unit: 'usd', windowMs: 86_400_000 };
  const ticket = (r: BudgetAdmission): BudgetTicket => {
    expect(r.kind).toBe('ok');
    return (r as { ticket: BudgetTicket }).ticket;
  };
  let c: ReturnType<typeof createClient>;
  beforeAll(async () => { c = createClient({ url: server.url, RESP: 2 }); await c.connect(); });
  afterAll(() => { c?.destroy(); });
  /** settle is fire-and-forget: wait until Redis holds the total it should */
  const settled = (prefix: string, scope: string, total: number) => waitFor(async () => {
    const [hash] = await c.keys(`${prefix}b:${scope}:*`);
    return hash !== undefined && Math.abs(Number(await c.hGet(hash, 's') ?? 0) - total) < 1e-9;
  }, 10_000, `${scope} spent ${total}`);

  it('admits on the shared total and places in flight, refuses once spent, with the time to the window end', async () => {
    const prefix = uniquePrefix();
    const { a, b, close } = await redisPair(server.url, { prefix });
    try {
      // nothing charged yet: one request in flight per instance
      const t1 = ticket(await a.budgets.admit([ask]));
      const t2 = ticket(await b.budgets.admit([ask]));
      expect(await a.budgets.admit([ask])).toMatchObject({ kind: 'refused', held: true, index: 0 });
      a.budgets.settle(t1, 0.4, 0);
      await settled(prefix, 'key:k1', 0.4);
      // 0.4 spent, B's one in flight may cost 0.4: 0.8 < 1, A may go
      const t3 = ticket(await a.budgets.admit([ask]));
      // 0.4 + 2 x 0.4 >= 1: wait for those in flight
      expect(await b.budgets.admit([ask])).toMatchObject({ kind: 'refused', held: true });
      b.budgets.settle(t2, 0.4, 0);
      a.budgets.settle(t3, 0.4, 0);
      await settled(prefix, 'key:k1', 1.2);
      const spent = await a.budgets.admit([ask]);
      expect(spent).toMatchObject({ kind: 'refused', held: false, index: 0 });
      const left = (spent as { retryAfterMs: number }).retryAfterMs;
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(86_400_000);
      // a tokens budget takes the tokens, not the USD
      const other: BudgetAsk = { ...ask, scope: 'team:t', cls: 'team:t', unit: 'tokens', limit: 100 };
      const t4 = ticket(await b.budgets.admit([other]));
      b.budgets.settle(t4, 5, 40);
      await settled(prefix, 'team:t', 40);
      ticket(await b.budgets.admit([other])); // 40 of 100 spent
    } finally {
      await close();
    }
  });

  it('gives back the places of a run whose live key expired (a dead instance)', async () => {
    const prefix = uniquePrefix();
    const { a, b, close } = await redisPair(server.url, { prefix });
    try {
      a.budgets.settle(ticket(await a.budgets.admit([ask])), 0.3, 0);
      await settled(prefix, 'key:k1', 0.3);
      ticket(await a.budgets.admit([ask])); // A: one in flight, never settled
      ticket(await b.budgets.admit([ask])); // 0.3 + 1 x 0.3 < 1
      ticket(await b.budgets.admit([ask])); // 0.3 + 2 x 0.3 < 1
      expect(await b.budgets.admit([ask])).toMatchObject({ kind: 'refused', held: true }); // 0.3 + 3 x 0.3 >= 1
      // A dies: its live key goes; the next admission drops its place
      const [hash] = await c.keys(`${prefix}b:key:k1:*`);
      const runs = Object.keys(await c.hGetAll(hash)).filter((f) => f.startsWith('r:'));
      const fields = await c.hGetAll(hash);
      const aRun = runs.find((f) => fields[f] === '1');
      expect(aRun).toBeDefined();
      await c.del(`${prefix}live:${aRun!.slice(2)}`);
      ticket(await b.budgets.admit([ask]));
    } finally {
      await close();
    }
  });
});
