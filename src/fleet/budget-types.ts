// What spend budgets need of the fleet (spend/budgets.ts keeps them; redis-budgets.ts shares them).

/** A budget as the fleet counts it. */
export interface BudgetAsk {
  /** `key:<id>`, `team:<name>`, `session:<rule>:<session id>` */
  readonly scope: string;
  /** the group whose largest charge bounds a request's (a key, a team, a session rule) */
  readonly cls: string;
  readonly limit: number;
  readonly unit: 'usd' | 'tokens';
  readonly windowMs: number;
}

/** A request's places in its budgets, given back with what it cost when its answer ends. */
export interface BudgetTicket {
  readonly asks: readonly BudgetAsk[];
  /** window start (Redis's clock) per ask; null: admitted on local state alone (no place held) */
  readonly windows: readonly number[] | null;
  /** the run generation that holds the places */
  readonly run: string;
}

export type BudgetAdmission =
  | { kind: 'ok'; ticket: BudgetTicket }
  /** `held`: not spent, but what is in flight may spend the rest (try again shortly) */
  | { kind: 'refused'; index: number; retryAfterMs: number; held: boolean }
  /** the shared store is away: the local ledger's answer stands */
  | { kind: 'local' };

export interface FleetBudgets {
  /** One round trip: a place in every budget of `asks`, or which one refused. Never rejects. */
  admit(asks: readonly BudgetAsk[]): Promise<BudgetAdmission>;
  /** The answer ended: gives the places back and adds its cost (USD and tokens; each budget takes its unit). */
  settle(ticket: BudgetTicket, usd: number, tokens: number): void;
}
