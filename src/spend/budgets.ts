// Spend budgets (SPEC.md "Agents, keys and spend"): USD or tokens per fixed window, per key, per
// team and per session (a policy rule `metric: cost_usd`). A request is admitted while every
// budget that applies has something left; its cost is charged when its answer ends, so a stream in
// progress finishes and counts. Windows are aligned to the epoch (a 1d budget resets at 00:00 UTC),
// which makes Retry-After the time to the window's end and lets instances agree on a window
// without talking (fleet/redis-budgets.ts keeps the shared totals in Redis).
import type { BudgetConfig } from '../config/spend-schema.js';
import type { BudgetAsk } from '../fleet/budget-types.js';

export interface Budget extends BudgetAsk {
  /** `key:<id>`, `team:<name>`, `session:<rule>:<session id>` */
  readonly scope: string;
  /** USD, or tokens when `unit` is tokens */
  readonly limit: number;
  readonly unit: 'usd' | 'tokens';
  readonly windowMs: number;
}

export interface Refusal {
  scope: string;
  /** seconds to the end of the budget's window */
  retryAfter: number;
}

interface Spent {
  windowStart: number;
  windowMs: number;
  usd: number;
  tokens: number;
}

/** The budget of a config entry for a scope. */
export function budgetOf(scope: string, b: BudgetConfig): Budget {
  return b.usd !== undefined
    ? { scope, cls: scope, limit: b.usd, unit: 'usd', windowMs: b.window }
    : { scope, cls: scope, limit: b.tokens!, unit: 'tokens', windowMs: b.window };
}

export function windowStart(nowMs: number, windowMs: number): number {
  return nowMs - (nowMs % windowMs);
}

/** What this instance knows was spent per scope and window (fleet mode adds the others' share). */
export class Ledger {
  private readonly spent = new Map<string, Spent>();

  // `key`: where the total is kept, the budget's scope unless given (a session rule keeps one
  // ledger per rule keyed by session ID, so no scope string is built per request)
  used(b: Budget, nowMs: number, key: string = b.scope): number {
    const s = this.spent.get(key);
    if (s === undefined || s.windowStart !== windowStart(nowMs, b.windowMs)) return 0;
    return b.unit === 'usd' ? s.usd : s.tokens;
  }

  /** null when the budget has something left, else the refusal. */
  check(b: Budget, nowMs: number, key: string = b.scope): Refusal | null {
    if (this.used(b, nowMs, key) < b.limit) return null;
    return refusal(b, nowMs);
  }

  charge(b: Budget, usd: number, tokens: number, nowMs: number, key: string = b.scope): void {
    const ws = windowStart(nowMs, b.windowMs);
    let s = this.spent.get(key);
    if (s === undefined || s.windowStart !== ws) {
      s = { windowStart: ws, windowMs: b.windowMs, usd: 0, tokens: 0 };
      this.spent.set(key, s);
    }
    s.usd += usd;
    s.tokens += tokens;
  }

  /** Sets a scope's total from the fleet (Redis holds every instance's charges). */
  setTotal(b: Budget, windowStartMs: number, total: number): void {
    let s = this.spent.get(b.scope);
    if (s === undefined || s.windowStart !== windowStartMs) {
      s = { windowStart: windowStartMs, windowMs: b.windowMs, usd: 0, tokens: 0 };
      this.spent.set(b.scope, s);
    }
    if (b.unit === 'usd') s.usd = total;
    else s.tokens = total;
  }

  /** Drops scopes whose window has passed, so per-session budgets do not pile up (spend/service.ts calls it). */
  sweep(nowMs: number): void {
    for (const [scope, s] of this.spent) if (s.windowStart + s.windowMs <= nowMs) this.spent.delete(scope);
  }

  get size(): number {
    return this.spent.size;
  }
}

export function refusal(b: Budget, nowMs: number): Refusal {
  const end = windowStart(nowMs, b.windowMs) + b.windowMs;
  return { scope: b.scope, retryAfter: Math.max(1, Math.ceil((end - nowMs) / 1000)) };
}
