// Phase "request filter", budget part in fleet mode: the request takes a place in every spend budget
// that applies, through the shared store (fleet/redis-budgets.ts), before it goes upstream. A budget
// that is not spent but whose rest may go to requests in flight makes the request wait (polling) for
// them to end, up to HOLD_MAX_MS, then answers 429 with Retry-After 1. The local ledger has already
// refused what this instance alone knows is spent (spend/service.ts admit).
import type { BudgetAsk, BudgetTicket, FleetBudgets } from '../../fleet/budget-types.js';
import { ERR, type ProxyError } from '../../errors/index.js';

const HOLD_RETRY_MS = 20;
const HOLD_MAX_MS = 30_000;

/** What the budget check hands back to the exchange. */
export interface FleetBudgetClient {
  /** false once the exchange ended (client gone, killed) while the check was out */
  readonly open: boolean;
  /** admitted with the ticket to give back when the answer ends (null: decided on local state), or refused */
  budgetsDone(ticket: BudgetTicket | null, refusal: ProxyError | null): void;
}

export function checkFleetBudgets(fleet: FleetBudgets, asks: readonly BudgetAsk[], x: FleetBudgetClient, since = performance.now()): void {
  void fleet.admit(asks).then((r) => {
    if (!x.open) {
      if (r.kind === 'ok') fleet.settle(r.ticket, 0, 0);
      return;
    }
    if (r.kind === 'ok') return x.budgetsDone(r.ticket, null);
    if (r.kind === 'local') return x.budgetsDone(null, null);
    if (r.held && performance.now() - since < HOLD_MAX_MS) {
      setTimeout(checkFleetBudgets, HOLD_RETRY_MS + Math.random() * HOLD_RETRY_MS, fleet, asks, x, since);
      return;
    }
    x.budgetsDone(null, ERR.budgetExceeded(asks[r.index].scope, r.held ? 1 : Math.max(1, Math.ceil(r.retryAfterMs / 1000))));
  });
}
