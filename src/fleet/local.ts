// The in-process fleet: the default when no --redis is given. One LocalHub holds what a fleet
// would share; several LocalFleet instances may share one hub (tests run the fleet suite against
// it, as they do against Redis), but in a real process there is exactly one instance per hub.
import { KillListeners } from './kill-listeners.js';
import { hostname } from 'node:os';
import { LocalRateTable } from './gcra.js';
import type {
  FleetLogger,
  FleetHealth, FleetKillState, FleetSessionState, FleetSessionView, FleetState, FleetStats,
  KillListener, RateResult, RestoredKill, SessionPage, SessionTotals,
} from './types.js';

/** Per-session shared counters: kept as one small object per session. */
interface SharedSession {
  requests: number;
  bytes_in: number;
  bytes_out: number;
  tokens: number;
  last_seen_ms: number;
  holder: string;
  instances: string[];
}

export class LocalHub {
  readonly sessions = new Map<string, SharedSession>();
  readonly kills = new Map<string, FleetKillState>();
  readonly rates = new LocalRateTable();
  readonly members = new Set<LocalFleet>();
}

export interface LocalFleetOptions {
  instanceId?: string;
  hub?: LocalHub;
  /** sessions kept in the shared table; the least recently inserted go first beyond it */
  maxSessions?: number;
  logger?: FleetLogger;
}

export class LocalFleet implements FleetState {
  readonly mode = 'local' as const;
  readonly instanceId: string;
  private readonly hub: LocalHub;
  private readonly listeners: KillListeners;
  private readonly maxSessions: number;

  constructor(opts: LocalFleetOptions = {}) {
    this.instanceId = opts.instanceId ?? `${hostname()}:${process.pid}`;
    const log = opts.logger;
    this.listeners = new KillListeners((id, err) => log?.error({ id, err: err.message }, 'fleet: kill listener threw'));
    this.hub = opts.hub ?? new LocalHub();
    this.maxSessions = opts.maxSessions ?? 1_000_000;
  }

  async start(): Promise<void> { this.hub.members.add(this); }
  async close(): Promise<void> { this.hub.members.delete(this); }

  killState(id: string): FleetKillState | null {
    return this.hub.kills.get(id) ?? null;
  }

  admit(): boolean { return true; }

  record(id: string, requests: number, bytesIn: number, bytesOut: number, tokens: number, nowMs: number): void {
    let s = this.hub.sessions.get(id);
    if (s === undefined) {
      if (this.hub.sessions.size >= this.maxSessions) {
        const oldest = this.hub.sessions.keys().next();
        if (!oldest.done) this.hub.sessions.delete(oldest.value);
      }
      s = { requests: 0, bytes_in: 0, bytes_out: 0, tokens: 0, last_seen_ms: 0, holder: this.instanceId, instances: [this.instanceId] };
      this.hub.sessions.set(id, s);
    }
    s.requests += requests;
    s.bytes_in += bytesIn;
    s.bytes_out += bytesOut;
    s.tokens += tokens;
    if (nowMs > s.last_seen_ms) s.last_seen_ms = nowMs;
    s.holder = this.instanceId;
    if (!s.instances.includes(this.instanceId)) s.instances.push(this.instanceId);
  }

  async kill(id: string, state: FleetKillState = 'killed'): Promise<void> {
    this.hub.kills.set(id, state);
    for (const m of this.hub.members) m.emit(id, state);
    if (!this.hub.members.has(this)) this.emit(id, state);
  }

  async resume(id: string): Promise<void> {
    this.hub.kills.delete(id);
    for (const m of this.hub.members) m.emit(id, 'active');
    if (!this.hub.members.has(this)) this.emit(id, 'active');
  }

  onKill(fn: KillListener): () => void {
    return this.listeners.add(fn);
  }

  private emit(id: string, state: FleetSessionState): void {
    this.listeners.emit(id, state);
  }


  async rateLimit(key: string, limit: number, windowMs: number, cost = 1): Promise<RateResult> {
    return this.hub.rates.take(key, limit, windowMs, cost, Date.now());
  }

  async getSession(id: string): Promise<FleetSessionView | undefined> {
    const s = this.hub.sessions.get(id);
    const k = this.hub.kills.get(id);
    if (s === undefined && k === undefined) return undefined;
    return this.view(id, s, k);
  }

  private view(id: string, s: SharedSession | undefined, k: FleetKillState | undefined): FleetSessionView {
    return {
      id,
      state: k ?? 'active',
      requests: s?.requests ?? 0,
      bytes_in: s?.bytes_in ?? 0,
      bytes_out: s?.bytes_out ?? 0,
      tokens: s?.tokens ?? 0,
      last_seen_ms: s?.last_seen_ms ?? 0,
      instance: s?.holder ?? null,
      instances: s ? s.instances.slice() : [],
    };
  }

  /** The cursor is an offset into insertion order: good enough in-process, where the table is one Map. */
  async listSessions(opts: { limit: number; cursor?: string | null }): Promise<SessionPage> {
    const limit = Math.max(1, Math.min(1000, Math.floor(opts.limit)));
    const start = opts.cursor ? Number.parseInt(opts.cursor, 10) || 0 : 0;
    const out: FleetSessionView[] = [];
    let i = 0;
    for (const [id, s] of this.hub.sessions) {
      if (i++ < start) continue;
      if (out.length === limit) return { sessions: out, next_cursor: String(start + limit) };
      out.push(this.view(id, s, this.hub.kills.get(id)));
    }
    return { sessions: out, next_cursor: null };
  }

  async listInstances(): Promise<string[]> {
    return [...this.hub.members].map((m) => m.instanceId);
  }

  async flush(): Promise<boolean> { return true; }

  setTotalsSource(_fn: () => Iterable<SessionTotals>): void {
    // nothing to rebuild: the hub lives as long as the process
  }

  restoreKills(_kills: RestoredKill[]): void {
    // one instance: its own storage is the whole truth, and the session table already has them
  }

  health(): FleetHealth { return { ok: true }; }

  stats(): FleetStats {
    return {
      mode: 'local', instance_id: this.instanceId, connected: true, pending_sessions: 0, dropped_deltas: 0,
      flushes: 0, flush_errors: 0, kills_received: 0, reconnects: 0, redis_resets: 0, swept_sessions: 0,
    };
  }
}
