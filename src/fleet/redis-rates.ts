// Fleet-wide rate limits for a RedisFleet (redis.ts): one GCRA script call per decision while
// Redis is synced; while it is away each instance decides alone (gcra.ts), up to the limit on its
// own, and counts those decisions so the fleet can say so when Redis returns.
import { LocalRateTable } from './gcra.js';
import { RATE, type Script } from './scripts.js';
import type { RateResult } from './types.js';

export interface RedisRatesOptions {
  prefix: string;
  synced(): boolean;
  evalScript(s: Script, keys: string[], args: string[]): Promise<unknown>;
  /** a script call failed: why Redis is not usable, for health() */
  onError(reason: string): void;
}

export class RedisRates {
  private readonly fallback = new LocalRateTable();
  /** decisions taken by this instance alone since Redis was last back */
  localDecisions = 0;

  constructor(private readonly o: RedisRatesOptions) {}

  async take(key: string, limit: number, windowMs: number, cost: number): Promise<RateResult> {
    if (!(limit > 0) || !(windowMs > 0)) return { allowed: true, retryAfterMs: 0 };
    if (this.o.synced()) {
      try {
        const r = await this.o.evalScript(RATE, [this.o.prefix + 'rl:' + key], [String(limit), String(windowMs), String(cost)]) as number[];
        return { allowed: r[0] === 1, retryAfterMs: Number(r[1]) };
      } catch (err) {
        this.o.onError(`redis unreachable: ${(err as Error).message}`);
      }
    }
    // Per instance while Redis is away: each instance allows up to the limit on its own.
    this.localDecisions++;
    return this.fallback.take(key, limit, windowMs, cost, Date.now());
  }

  /** Redis is synced again: the windows counted here are dropped (they cannot be merged). */
  clearLocal(): void { this.fallback.clear(); }
}
