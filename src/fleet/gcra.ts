// GCRA (generic cell rate algorithm) for rate limits: one number per key, the "theoretical arrival
// time" (TAT), instead of a window of timestamps. `limit` units per `windowMs` means a burst of
// `limit`, then one unit every windowMs/limit. The Redis script in scripts.ts runs the same
// arithmetic; keep the two in step (the shared test suite checks both).
import type { RateResult } from './types.js';

/** Float slack so that exactly `limit` units fit although windowMs/limit*limit may round up. */
export const GCRA_EPSILON_MS = 1e-6;

/** Returns the new TAT, or a negative number -retryAfterMs when denied (never 0: retry is at least 1ms). */
export function gcraStep(tat: number, nowMs: number, limit: number, windowMs: number, cost: number): number {
  const start = tat > nowMs ? tat : nowMs;
  const next = start + cost * (windowMs / limit);
  const excess = next - nowMs - windowMs;
  if (excess > GCRA_EPSILON_MS) return -Math.max(1, Math.ceil(excess));
  return next;
}

/** An in-process GCRA table. Entries whose TAT has passed carry no information and are swept. */
export class LocalRateTable {
  private readonly tats = new Map<string, number>();
  private sweepAt = 0;

  constructor(private readonly maxKeys = 100_000) {}

  take(key: string, limit: number, windowMs: number, cost: number, nowMs: number): RateResult {
    if (!(limit > 0) || !(windowMs > 0)) return { allowed: true, retryAfterMs: 0 };
    const r = gcraStep(this.tats.get(key) ?? 0, nowMs, limit, windowMs, cost);
    if (r < 0) return { allowed: false, retryAfterMs: -r };
    if (this.tats.size >= this.maxKeys && !this.tats.has(key)) this.sweep(nowMs, true);
    this.tats.set(key, r);
    return { allowed: true, retryAfterMs: 0 };
  }

  get size(): number { return this.tats.size; }

  clear(): void { this.tats.clear(); }

  /** Drops expired TATs; when `force` and still full, drops the oldest insertions (fails open for them). */
  private sweep(nowMs: number, force: boolean): void {
    if (nowMs >= this.sweepAt) {
      this.sweepAt = nowMs + 1000;
      for (const [k, tat] of this.tats) if (tat <= nowMs) this.tats.delete(k);
    }
    if (force && this.tats.size >= this.maxKeys) {
      let n = this.tats.size - this.maxKeys + 1;
      for (const k of this.tats.keys()) {
        if (n-- <= 0) break;
        this.tats.delete(k);
      }
    }
  }
}
