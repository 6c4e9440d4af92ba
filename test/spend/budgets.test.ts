import { describe, expect, it } from 'vitest';
import { budgetOf, Ledger } from '../../src/spend/budgets.js';
import { Spend, type SpendTable } from '../../src/spend/service.js';
import type { KeyRecord } from '../../src/auth/keys.js';
import { validate } from '../../src/config/load.js';

describe('Ledger', () => {
  it('refuses once spent, with Retry-After to the window end; a new window starts afresh; ended windows are swept', () => {
    const l = new Ledger();
    const b = budgetOf('key:k', { usd: 1, window: 3_600_000 });
    const t0 = 7 * 3_600_000 + 600_000; // ten minutes into an hour window
    expect(l.check(b, t0)).toBeNull();
    l.charge(b, 0.6, 10, t0);
    expect(l.check(b, t0)).toBeNull();
    l.charge(b, 0.6, 10, t0);
    expect(l.check(b, t0)).toEqual({ scope: 'key:k', retryAfter: 3000 });
    expect(l.check(b, t0 + 3_000_000)).toBeNull(); // the next hour
    const s = budgetOf('session:r:s1', { usd: 1, window: 60_000 });
    l.charge(s, 0.1, 1, t0);
    expect(l.size).toBe(2);
    l.sweep(t0 + 60_000);
    expect(l.size).toBe(1); // the session's minute ended; the key's hour has not
    l.sweep(t0 + 3_000_000);
    expect(l.size).toBe(0);
  });
});

describe('Spend budgets (one instance)', () => {
  const table: SpendTable = {
    addUsage: () => true,
    spendOf: () => ({ agent: 0, model: 0, meta: 0, tokensIn: 0, tokensOut: 0, cost: 0, toolCalls: 0 }),
    costOf: () => 0,
    idOf: () => 's',
  };
  const cfg = (limit: number) => validate({
    upstreams: [{ url: 'http://127.0.0.1:1/v1' }],
    pricing: { m: { input: 1_000_000, output: 0 } }, // a dollar a prompt token
    teams: { ml: { budget: { usd: 5, window: '1d' } } },
    policy: { rules: [{ name: 'cap', metric: 'cost_usd', limit, window: '1h' }] },
  });
  const key: KeyRecord = { id: 'k', agent: 'a', team: 'ml', budget: { usd: 100, window: 86_400_000 }, tools: null, source: 'config', created_at: 0 };
  /** one answer of `tokens` prompt tokens ($1 each) for a session */
  const spend1 = (s: Spend, sid: string, tokens: number) => {
    const m = s.open(0, null, undefined, '/v1/chat/completions');
    m.write(Buffer.from(JSON.stringify({ model: 'm', usage: { prompt_tokens: tokens, completion_tokens: 0 } })));
    s.settle(0, 0, key, sid, m, 1, -1);
  };

  it('a session rule caps each session on its own; the team budget caps them together; a reload keeps the totals', () => {
    const s = new Spend(cfg(2), table);
    const now = Date.now();
    spend1(s, 's1', 2);
    expect(s.admit(0, key, 's1', now)).toMatchObject({ scope: 'session:cap' });
    expect(s.admit(0, key, 's2', now)).toBeNull();
    s.reconfigure(cfg(3)); // the limit goes up: s1 may spend again, its $2 still count
    expect(s.admit(0, key, 's1', now)).toBeNull();
    spend1(s, 's1', 1);
    expect(s.admit(0, key, 's1', now)).toMatchObject({ scope: 'session:cap' });
    spend1(s, 's2', 2); // team: 2 + 1 + 2 = 5 of 5
    expect(s.admit(0, key, 's3', now)).toMatchObject({ scope: 'team:ml' });
    expect(s.admit(0, null, 's3', now)).toBeNull(); // no key: no team
  });
});
