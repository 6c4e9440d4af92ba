// Agents: the names behind keys, as numbers for the session slot, with what each has used since
// start and whether an operator killed it. A killed agent is refused under any session ID until
// resumed; the kill is kept in storage (and in the fleet) so it outlives a restart.
import { NameIndex } from './names.js';

/** Agents past this many share one number ("other"); the slot field is a u16. */
const MAX_AGENTS = 65_535;

export interface AgentTotals {
  team: string | null;
  sessions: number;
  requests: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
}

export interface AgentView extends AgentTotals {
  agent: string;
  state: 'active' | 'killed';
}

export class Agents {
  readonly names = new NameIndex(MAX_AGENTS);
  private readonly totals: AgentTotals[] = [];
  private readonly killed = new Set<number>();
  private readonly killedNames = new Set<string>();

  /** The agent's number (from 1), registering it with its team. */
  number(agent: string, team: string | null): number {
    const n = this.names.number(agent);
    const t = (this.totals[n] ??= { team, sessions: 0, requests: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0 });
    if (team !== null) t.team = team;
    if (this.killedNames.has(agent)) this.killed.add(n);
    return n;
  }

  isKilled(n: number): boolean {
    return this.killed.size > 0 && this.killed.has(n);
  }

  /** Marks an agent killed or active; returns its number (0 when never seen: the kill waits for it). */
  setKilled(agent: string, killed: boolean): number {
    if (killed) this.killedNames.add(agent);
    else this.killedNames.delete(agent);
    const n = this.names.find(agent);
    if (n !== 0) {
      if (killed) this.killed.add(n);
      else this.killed.delete(n);
    }
    return n;
  }

  killedAgents(): string[] {
    return [...this.killedNames];
  }

  sessionOpened(n: number): void {
    const t = this.totals[n];
    if (t !== undefined) t.sessions++;
  }

  request(n: number): void {
    const t = this.totals[n];
    if (t !== undefined) t.requests++;
  }

  usage(n: number, tokensIn: number, tokensOut: number, usd: number): void {
    const t = this.totals[n];
    if (t === undefined) return;
    t.tokens_in += tokensIn;
    t.tokens_out += tokensOut;
    t.cost_usd += usd;
  }

  list(): AgentView[] {
    const out: AgentView[] = [];
    for (let n = 1; n <= this.names.size; n++) {
      const name = this.names.name(n)!;
      const t = this.totals[n] ?? { team: null, sessions: 0, requests: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0 };
      out.push({ agent: name, state: this.killedNames.has(name) ? 'killed' : 'active', ...t, cost_usd: roundUsd(t.cost_usd) });
    }
    // agents killed before they were ever seen
    for (const name of this.killedNames) {
      if (this.names.find(name) === 0) out.push({ agent: name, team: null, state: 'killed', sessions: 0, requests: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0 });
    }
    return out;
  }

  get(agent: string): AgentView | undefined {
    return this.list().find((a) => a.agent === agent);
  }
}

/** USD to the nano-dollar: a cheap model's answer costs millionths, and floats add noise below that. */
export function roundUsd(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
