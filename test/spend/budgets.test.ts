import { describe, expect, it } from 'vitest';
import { budgetOf, Ledger } from '../../src/spend/budgets.js';

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
