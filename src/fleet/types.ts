// The contract of the fleet layer: what several gateway instances must agree on (kill state,
// per-session counters, rate limits, who serves a session) behind one interface, with an
// in-process implementation (LocalFleet, the default) and a Redis one (RedisFleet, --redis URL).
//
// The hot path only ever calls the synchronous methods (`killState`, `admit`, `record`); they are
// answered from local memory. Everything that talks to Redis is asynchronous and off that path,
// except `rateLimit` and `budgets.admit`, which must ask Redis to be exact across instances.
import type { FleetBudgets } from './budget-types.js';

/** A session's shared state. `active` is the absence of a kill. */
export type FleetKillState = 'killed' | 'terminated';
export type FleetSessionState = 'active' | FleetKillState;

/** What one instance adds to a session's shared counters. */
export interface CounterDelta {
  requests: number;
  bytes_in: number;
  bytes_out: number;
  tokens: number;
}

/** This instance's cumulative contribution to one session, used to rebuild Redis after it lost its data. */
export interface SessionTotals extends CounterDelta {
  id: string;
  last_seen_ms: number;
}

/** A kill read from this instance's storage at start, with when it was made (epoch ms). */
export interface RestoredKill {
  id: string;
  state: FleetKillState;
  /** epoch ms, as storage keeps it */
  at: number;
}

export interface RateResult {
  allowed: boolean;
  /** 0 when allowed; else how long until one unit of cost would be allowed */
  retryAfterMs: number;
}

export type FleetHealth = { ok: true } | { ok: false; reason: string };

/** A session as the fleet sees it: the sum over every instance that served it. */
export interface FleetSessionView extends CounterDelta {
  id: string;
  state: FleetSessionState;
  /** epoch ms; 0 when the session is only known from a kill issued in advance */
  last_seen_ms: number;
  /** the instance that served it last, which holds its live streams; null when unknown */
  instance: string | null;
  /** every instance that served it */
  instances: string[];
}

export interface SessionPage {
  sessions: FleetSessionView[];
  /** opaque; pass back to get the next page; null at the end */
  next_cursor: string | null;
}

/** Numbers for /metrics and /control/stats. */
export interface FleetStats {
  mode: 'local' | 'redis';
  instance_id: string;
  connected: boolean;
  /** sessions with counter deltas not yet written to Redis */
  pending_sessions: number;
  /** deltas thrown away because the buffer was full while Redis was down */
  dropped_deltas: number;
  flushes: number;
  flush_errors: number;
  /** kills and resumes received from other instances (pub/sub or re-read on reconnect) */
  kills_received: number;
  reconnects: number;
  /** times Redis came back without its data (restart without persistence) */
  redis_resets: number;
  /** stale session hashes deleted from Redis by this instance's sweeper */
  swept_sessions: number;
}

export type KillListener = (id: string, state: FleetSessionState) => void;

export interface FleetState {
  readonly mode: 'local' | 'redis';
  readonly instanceId: string;

  /** Connects and loads shared state. Never throws because Redis is down: it serves on local state and retries. */
  start(): Promise<void>;
  /** Flushes what it can (bounded wait), stops timers, closes connections. */
  close(): Promise<void>;

  // --- hot path: synchronous, local memory only ---
  /** null when the session may proceed; else its kill state. */
  killState(id: string): FleetKillState | null;
  /** false only in `on_redis_down: refuse` mode while Redis is unreachable. */
  admit(): boolean;
  /** Adds to a session's shared counters; batched and written behind. */
  record(id: string, requests: number, bytesIn: number, bytesOut: number, tokens: number, nowMs: number): void;

  // --- operator actions and shared reads ---
  /** Kills or terminates a session fleet-wide (an unknown ID is killed in advance). Applied locally at once. */
  kill(id: string, state?: FleetKillState): Promise<void>;
  resume(id: string): Promise<void>;
  /** Called for every change of a session's kill state, local or from another instance. Returns an unsubscribe. */
  onKill(fn: KillListener): () => void;
  /**
   * At most `limit` units per `windowMs` for `key`, exact across instances (GCRA: a burst of `limit`,
   * then one unit per windowMs/limit). `cost` defaults to 1. While Redis is down it counts per instance.
   */
  rateLimit(key: string, limit: number, windowMs: number, cost?: number): Promise<RateResult>;
  getSession(id: string): Promise<FleetSessionView | undefined>;
  listSessions(opts: { limit: number; cursor?: string | null }): Promise<SessionPage>;
  /** Instances that sent a heartbeat recently. */
  listInstances(): Promise<string[]>;
  /** Writes pending counter deltas now (tests, drain). Resolves false when Redis did not take them. */
  flush(): Promise<boolean>;
  /** Where this instance's totals can be read if Redis comes back empty; see SessionTotals. */
  setTotalsSource(fn: () => Iterable<SessionTotals>): void;
  /**
   * Kills this instance restored from its own storage at start (call before start()). The shared
   * store checks them at its first sync: resumed elsewhere since → resumed here (a kill listener
   * call with 'active'); unknown to the fleet → stored for every instance.
   */
  restoreKills(kills: RestoredKill[]): void;

  health(): FleetHealth;
  stats(): FleetStats;
  /** spend budgets shared by every instance (Redis mode); absent where the local ledger is the whole truth */
  readonly budgets?: FleetBudgets;
}

export type { BudgetAdmission, BudgetAsk, BudgetTicket, FleetBudgets } from './budget-types.js';

/** The logger shape the fleet needs (log.ts PartLog). */
export type { PartLog as FleetLogger } from '../log.js';
export { silentLog as silentLogger } from '../log.js';
