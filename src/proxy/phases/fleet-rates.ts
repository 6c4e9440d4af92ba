// Phase "request filter", fleet part: request-rate rules counted across every instance through the
// shared store. The one round trip to Redis on the request path, taken only when such rules exist.
import type { Hit, PolicyEngine } from '../../policy/types.js';
import type { ProxyContext } from '../context.js';
import { applyHits, type Verdict } from '../verdict.js';

/** What the fleet check hands back to the exchange. */
export interface FleetRateClient {
  readonly sessionId: string | null;
  readonly slot: number;
  /** the engine the request began with (a reload may have replaced ctx.policy since) */
  readonly policy: PolicyEngine | null;
  /** false once the exchange ended (client gone, killed) while the check was out */
  readonly open: boolean;
  /** the check passed (or the store failed: the local count of the same rules already applied) */
  fleetRatesPassed(): void;
  fleetRatesRefused(v: Verdict): void;
}

export function checkFleetRates(ctx: ProxyContext, x: FleetRateClient): void {
  const sid = x.sessionId!;
  const rules = ctx.fleetRates;
  Promise.all(rules.map((r) => ctx.fleet.rateLimit(`${r.name}:${sid}`, r.limit, r.windowMs))).then((results) => {
    if (!x.open) return;
    let hits: Hit[] | null = null;
    for (let i = 0; i < rules.length; i++) {
      if (results[i].allowed) continue;
      const r = rules[i];
      (hits ??= []).push({ rule: r.name, severity: r.severity, action: r.action, direction: 'request', excerpt: '', retry_after: results[i].retryAfterMs / 1000 });
    }
    if (hits !== null) {
      x.policy?.countHits(hits);
      const v = applyHits(ctx, x.slot, sid, hits, 'request');
      if (v !== null) return x.fleetRatesRefused(v);
    }
    x.fleetRatesPassed();
  }, () => {
    if (x.open) x.fleetRatesPassed();
  });
}
