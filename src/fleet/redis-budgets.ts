// Spend budgets shared through Redis (SPEC.md "Agents, keys and spend": fleet-wide in Redis mode).
// A request with budgets takes a place in each of them in one Lua step before it goes upstream
// (budget-scripts.ts BUDGET_ADMIT), and gives it back with its cost when its answer ends
// (BUDGET_SETTLE). Places are held under a run name that changes at every resync: a run cut off from
// Redis, or dead, stops refreshing its `live:` key and the places it held are given back by the next
// admission that looks (within LIVE_TTL_MS).
// While Redis is away the local ledger decides (per instance) and charges wait here, summed per
// budget (bounded), until the next resync sends them.
import { BUDGET_ADMIT, BUDGET_SETTLE } from './budget-scripts.js';
import type { BudgetAdmission, BudgetAsk, BudgetTicket, FleetBudgets } from './budget-types.js';
import type { Script } from './scripts.js';
import type { FleetLogger } from './types.js';

const LIVE_TTL_MS = 15_000;
const LIVE_EVERY_MS = 5_000;
/** budgets whose charges are held while Redis is away; past this, charges are dropped and counted */
const MAX_PENDING = 10_000;
const LOCAL: BudgetAdmission = { kind: 'local' };

export interface RedisBudgetDeps {
  prefix: string;
  runId: string;
  synced(): boolean;
  evalScript(s: Script, keys: string[], args: string[]): Promise<unknown>;
  call(args: string[]): Promise<unknown>;
  log: FleetLogger;
}

interface Pending { ask: BudgetAsk; usd: number; tokens: number }

export class RedisBudgets implements FleetBudgets {
  private gen = 0;
  private run: string;
  private timer: NodeJS.Timeout | null = null;
  private readonly pending = new Map<string, Pending>();
  /** charges thrown away because too many budgets were waiting for Redis */
  dropped = 0;

  constructor(private readonly d: RedisBudgetDeps) {
    this.run = `${d.runId}.0`;
  }

  start(): void {
    this.timer = setInterval(() => { if (this.d.synced()) void this.alive().catch(() => undefined); }, LIVE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * After every (re)connect: a new run name (places held before may have been charged while away,
   * or not: the old name's places expire with its `live:` key), then the charges made while away.
   */
  async resync(): Promise<void> {
    this.run = `${this.d.runId}.${++this.gen}`;
    await this.alive();
    if (this.pending.size === 0) return;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    try {
      await this.d.evalScript(BUDGET_SETTLE, [], [this.d.prefix, this.run, ...waiting.map((w) => settleArg(w.ask, -1, w.usd, w.tokens))]);
    } catch (err) {
      for (const w of waiting) this.hold(w.ask, w.usd, w.tokens);
      throw err;
    }
  }

  async admit(asks: readonly BudgetAsk[]): Promise<BudgetAdmission> {
    if (!this.d.synced()) return LOCAL;
    const run = this.run;
    const args = [this.d.prefix, run];
    for (const a of asks) args.push(`${a.limit} ${a.windowMs} ${a.unit} ${clsArg(a.cls)} ${a.scope}`);
    let r: number[];
    try {
      r = await this.d.evalScript(BUDGET_ADMIT, [], args) as number[];
    } catch {
      return LOCAL;
    }
    if (r[0] === 0) return { kind: 'ok', ticket: { asks, windows: r.slice(1).map(Number), run } };
    return { kind: 'refused', index: Number(r[1]), retryAfterMs: Number(r[2]), held: r[0] === 2 };
  }

  settle(ticket: BudgetTicket, usd: number, tokens: number): void {
    const charged = usd > 0 || tokens > 0;
    if (ticket.windows === null && !charged) return;
    if (!this.d.synced()) {
      if (charged) for (const a of ticket.asks) this.hold(a, usd, tokens);
      return;
    }
    const args = [this.d.prefix, ticket.run];
    ticket.asks.forEach((a, i) => args.push(settleArg(a, ticket.windows === null ? -1 : ticket.windows[i], usd, tokens)));
    this.d.evalScript(BUDGET_SETTLE, [], args).catch(() => {
      // the places expire with this run's name at the resync; the cost waits for it
      if (charged) for (const a of ticket.asks) this.hold(a, usd, tokens);
    });
  }

  get pendingBudgets(): number {
    return this.pending.size;
  }

  private hold(ask: BudgetAsk, usd: number, tokens: number): void {
    const p = this.pending.get(ask.scope);
    if (p !== undefined) { p.usd += usd; p.tokens += tokens; return; }
    if (this.pending.size >= MAX_PENDING) {
      if (this.dropped++ === 0) this.d.log.warn({ max: MAX_PENDING }, 'fleet: too many budgets with charges waiting for redis; further charges are counted on this instance only');
      return;
    }
    this.pending.set(ask.scope, { ask, usd, tokens });
  }

  private async alive(): Promise<void> {
    await this.d.call(['SET', `${this.d.prefix}live:${this.run}`, '1', 'PX', String(LIVE_TTL_MS)]);
  }
}

/** A class name is one word in the script's packed argument. */
function clsArg(cls: string): string {
  return cls.replace(/\s/g, '_');
}

function settleArg(a: BudgetAsk, windowStart: number, usd: number, tokens: number): string {
  const amount = a.unit === 'usd' ? usd : tokens;
  // 17 significant digits: what a double holds, so a sum of small charges loses nothing
  return `${windowStart} ${a.windowMs} ${amount > 0 ? amount.toPrecision(17) : '0'} ${a.unit} ${clsArg(a.cls)} ${a.scope}`;
}
