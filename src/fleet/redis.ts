// The Redis fleet: kill state, per-session counters, rate limits and instance heartbeats shared
// through one Redis. The local side stays authoritative for the hot path:
// - kill checks read a local KillSet kept in sync by pub/sub, re-read whole on every (re)connect;
// - counters are summed locally per session and written behind every ~100ms in batches that Redis
//   applies at most once (a per-process sequence number), so a resend after a lost reply never
//   double-counts and nothing is read, changed and written back from Node;
// - when Redis is down the instance keeps serving (or refuses, by config), buffers deltas up to a
//   bound, counts what it drops, and reconciles when Redis returns.
import { KillListeners } from './kill-listeners.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createClient } from 'redis';
import { LocalRateTable } from './gcra.js';
import { KillSet, codeOf, stateOf } from './kill-set.js';
import { EPOCH, FLUSH, INSTANCE_INDEX, KILL, KILL_SNAPSHOT, RATE, SWEEP, type Script } from './scripts.js';
import {
  silentLogger,
  type FleetHealth, type FleetKillState, type FleetLogger, type FleetSessionState, type FleetSessionView,
  type FleetState, type FleetStats, type KillListener, type RateResult, type SessionPage, type SessionTotals,
} from './types.js';

type Client = ReturnType<typeof createClient>;

export interface RedisFleetOptions {
  url: string;
  instanceId?: string;
  /** what admit() answers while Redis is unreachable */
  onRedisDown?: 'serve' | 'refuse';
  /** key and channel prefix; several fleets may share one Redis under different prefixes */
  prefix?: string;
  flushIntervalMs?: number;
  /** sessions whose deltas are held while Redis is down; deltas of further sessions are dropped and counted */
  maxPendingSessions?: number;
  /** sessions per flush script call (bounds how long one call holds Redis) */
  batchSize?: number;
  /** a session hash is deleted by the sweeper once it was last seen this long ago */
  sessionTtlMs?: number;
  /** how often the instance holding the sweep lock scans one step of session keys */
  sweepIntervalMs?: number;
  heartbeatMs?: number;
  commandTimeoutMs?: number;
  logger?: FleetLogger;
}

/** Deltas accumulated for one session since the last flush: one small object per active session. */
interface Delta {
  r: number;
  i: number;
  o: number;
  t: number;
  /** last seen, epoch seconds */
  l: number;
}

interface Batch {
  seq: number;
  keys: string[];
  args: string[];
  sessions: number;
}

/** Why Redis is not usable, for health() and logs. */
const NEVER_CONNECTED = 'redis unreachable: not connected yet';

export class RedisFleet implements FleetState {
  readonly mode = 'redis' as const;
  readonly instanceId: string;

  private readonly url: string;
  private readonly onRedisDown: 'serve' | 'refuse';
  private readonly p: string;
  private readonly flushIntervalMs: number;
  private readonly maxPending: number;
  private readonly batchSize: number;
  private readonly ttlMs: number;
  private readonly sweepIntervalMs: number;
  private readonly heartbeatMs: number;
  private readonly timeoutMs: number;
  private readonly log: FleetLogger;

  private readonly cmd: Client;
  private readonly sub: Client;
  private readonly kills: KillSet;
  private readonly listeners = new KillListeners((id, err) => this.log.error({ id, err: err.message }, 'fleet: kill listener threw'));
  private readonly fallbackRates = new LocalRateTable();

  /** a unique name for this process's ack key, so a restarted instance with the same id starts afresh */
  private readonly runId = randomBytes(6).toString('hex');
  private seq = 0;
  private pending = new Map<string, Delta>();
  /** batches built but not yet acknowledged by Redis, resent in order */
  private unacked: Batch[] = [];
  /** kills and resumes made while Redis was unreachable, replayed on reconnect (latest per ID wins) */
  private readonly pendingOps = new Map<string, FleetSessionState>();
  private totalsSource: (() => Iterable<SessionTotals>) | null = null;

  private holderIdx = 0;
  private readonly instanceNames = new Map<string, string>();
  private epoch: string | null = null;
  /** true once both connections are ready and the resync after (re)connecting has finished */
  private synced = false;
  private everSynced = false;
  private lastError = NEVER_CONNECTED;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  private flushing: Promise<boolean> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweepCursor = '0';
  private sweeping = false;
  private closed = false;
  /**
   * Set once the first SUBSCRIBE is done. node-redis re-subscribes before it reports 'ready' after a
   * reconnect, so from then on 'ready' means "messages flow": only then may the kill state be re-read,
   * or a kill published between the read and the subscription would be missed.
   */
  private subscribed = false;
  private localRateDecisions = 0;
  /** the newest kill version this instance has applied (pub/sub or snapshot) */
  private maxVerSeen = 0;
  /** Redis's kill version at the last heartbeat, when it was ahead of maxVerSeen */
  private lagVer = 0;
  private lagSince = 0;
  private ticking = false;

  private readonly counters = {
    dropped_deltas: 0, flushes: 0, flush_errors: 0, kills_received: 0, reconnects: 0, redis_resets: 0, swept_sessions: 0,
  };

  constructor(opts: RedisFleetOptions) {
    this.url = opts.url;
    this.instanceId = opts.instanceId ?? `${hostname()}:${process.pid}`;
    this.onRedisDown = opts.onRedisDown ?? 'serve';
    this.p = opts.prefix ?? 'cordon:';
    this.flushIntervalMs = opts.flushIntervalMs ?? 100;
    this.maxPending = opts.maxPendingSessions ?? 200_000;
    this.batchSize = opts.batchSize ?? 500;
    this.ttlMs = opts.sessionTtlMs ?? 86_400_000;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 1_000;
    this.heartbeatMs = opts.heartbeatMs ?? 5_000;
    this.timeoutMs = opts.commandTimeoutMs ?? 2_000;
    this.log = opts.logger ?? silentLogger;
    this.kills = new KillSet((id, state) => this.emit(id, state));

    // Exponential backoff from 50ms to 2s with jitter, forever: a gateway never gives up on its fleet.
    const reconnectStrategy = (retries: number): number =>
      Math.min(2 ** retries * 50, 2_000) + Math.floor(Math.random() * 100);
    this.cmd = createClient({
      url: this.url,
      RESP: 2,
      // Commands fail at once while disconnected instead of queueing without bound: this layer
      // buffers what it must itself (deltas, kill operations) and bounds it.
      disableOfflineQueue: true,
      socket: { reconnectStrategy, connectTimeout: 2_000 },
    });
    this.sub = this.cmd.duplicate();
    for (const c of [this.cmd, this.sub]) {
      c.on('error', (err: Error) => this.onError(err));
      c.on('ready', () => this.onReady());
      c.on('end', () => this.onDown('connection closed'));
      c.on('reconnecting', () => this.onDown('reconnecting'));
    }
  }

  // --- lifecycle ---

  async start(): Promise<void> {
    this.flushTimer = setInterval(() => { if (!this.flushing) void this.flush(); }, this.flushIntervalMs);
    this.flushTimer.unref();
    this.sweepTimer = setInterval(() => { void this.sweepStep(); }, this.sweepIntervalMs);
    this.sweepTimer.unref();
    this.heartbeatTimer = setInterval(() => this.tick(), this.heartbeatMs);
    this.heartbeatTimer.unref();
    const onMessage = (msg: string) => this.onMessage(msg);
    // connect() keeps retrying with the strategy above; do not hold start-up hostage to Redis.
    const connecting = Promise.all([
      this.cmd.connect(),
      this.sub.connect().then(() => this.sub.subscribe(this.channel(), onMessage)),
    ]).then(() => { this.subscribed = true; this.onReady(); }, (err: unknown) => this.onError(err as Error));
    const timer = new Promise<void>((r) => setTimeout(r, 2_000).unref());
    await Promise.race([connecting, timer]);
    if (this.resyncing) await Promise.race([this.resyncing, timer]);
    if (!this.synced) this.log.warn({ reason: this.lastError }, 'fleet: redis not reachable at start; serving on local state');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.synced) await Promise.race([this.flush(), new Promise((r) => setTimeout(r, 1_000).unref())]);
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.synced) {
      try { await this.call(['DEL', this.instanceKey(this.instanceId)]); } catch { /* it expires anyway */ }
    }
    this.synced = false;
    for (const c of [this.sub, this.cmd]) {
      try { c.destroy(); } catch { /* already closed */ }
    }
  }

  // --- hot path ---

  killState(id: string): FleetKillState | null {
    return this.kills.get(id);
  }

  admit(): boolean {
    return this.synced || this.onRedisDown === 'serve';
  }

  record(id: string, requests: number, bytesIn: number, bytesOut: number, tokens: number, nowMs: number): void {
    const d = this.pending.get(id);
    const l = Math.floor(nowMs / 1000);
    if (d !== undefined) {
      d.r += requests; d.i += bytesIn; d.o += bytesOut; d.t += tokens;
      if (l > d.l) d.l = l;
      return;
    }
    if (this.pending.size >= this.maxPending) {
      this.counters.dropped_deltas++;
      return;
    }
    this.pending.set(id, { r: requests, i: bytesIn, o: bytesOut, t: tokens, l });
  }

  // --- kills ---

  async kill(id: string, state: FleetKillState = 'killed'): Promise<void> {
    await this.change(id, state);
  }

  async resume(id: string): Promise<void> {
    await this.change(id, 'active');
  }

  private async change(id: string, state: FleetSessionState): Promise<void> {
    // Local first: this instance refuses the session at once, whatever Redis does.
    this.kills.applyLocal(id, state);
    if (!this.synced) {
      this.pendingOps.set(id, state);
      this.log.warn({ id, state }, 'fleet: redis unreachable; kill state applied locally and queued for the fleet');
      return;
    }
    try {
      await this.storeChange(id, state, false);
    } catch (err) {
      this.pendingOps.set(id, state);
      this.log.warn({ id, state, err: (err as Error).message }, 'fleet: could not store kill state; queued for the fleet');
    }
  }

  private async storeChange(id: string, state: FleetSessionState, nx: boolean): Promise<void> {
    const v = await this.evalScript(KILL, [this.p + 'kill', this.p + 'killv'], [id, codeOf(state), this.channel(), nx ? '1' : '0']);
    if (typeof v === 'number' && v > 0) this.kills.confirm(id, state, v);
  }

  onKill(fn: KillListener): () => void {
    return this.listeners.add(fn);
  }

  private emit(id: string, state: FleetSessionState): void {
    this.listeners.emit(id, state);
  }


  private onMessage(msg: string): void {
    const a = msg.indexOf(':');
    const b = msg.indexOf(':', a + 1);
    if (a < 1 || b < 0) return;
    const v = Number(msg.slice(0, a));
    const state = stateOf(msg.slice(a + 1, b));
    if (!Number.isFinite(v) || state === null) return;
    if (v > this.maxVerSeen) this.maxVerSeen = v;
    if (this.kills.apply(msg.slice(b + 1), state, v)) this.counters.kills_received++;
  }

  // --- rate limits ---

  async rateLimit(key: string, limit: number, windowMs: number, cost = 1): Promise<RateResult> {
    if (!(limit > 0) || !(windowMs > 0)) return { allowed: true, retryAfterMs: 0 };
    if (this.synced) {
      try {
        const r = await this.evalScript(RATE, [this.p + 'rl:' + key], [String(limit), String(windowMs), String(cost)]) as number[];
        return { allowed: r[0] === 1, retryAfterMs: Number(r[1]) };
      } catch (err) {
        this.lastError = `redis unreachable: ${(err as Error).message}`;
      }
    }
    // Per instance while Redis is away: each instance allows up to the limit on its own.
    this.localRateDecisions++;
    return this.fallbackRates.take(key, limit, windowMs, cost, Date.now());
  }

  // --- counters ---

  /** Resolves once everything recorded before the call was written (or false if Redis did not take it). */
  flush(): Promise<boolean> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (!this.synced || (this.pending.size === 0 && this.unacked.length === 0)) return Promise.resolve(this.synced);
    this.flushing = this.doFlush().finally(() => { this.flushing = null; });
    return this.flushing;
  }

  /** Batches are sent one after another: the ack sequence relies on Redis applying them in order. */
  private async doFlush(): Promise<boolean> {
    if (this.pending.size > 0) {
      const taken = this.pending;
      this.pending = new Map();
      this.buildBatches(taken);
    }
    while (this.unacked.length > 0) {
      const b = this.unacked[0];
      try {
        await this.evalScript(FLUSH, b.keys, b.args);
      } catch (err) {
        this.counters.flush_errors++;
        this.log.warn({ err: (err as Error).message, batches: this.unacked.length }, 'fleet: counter flush failed; will resend');
        return false;
      }
      this.unacked.shift();
      this.counters.flushes++;
    }
    return true;
  }

  private buildBatches(deltas: Map<string, Delta>): void {
    let b: Batch | null = null;
    for (const [id, d] of deltas) {
      if (b === null || b.sessions === this.batchSize) {
        b = { seq: ++this.seq, keys: [this.ackKey()], args: [String(this.seq), String(this.holderIdx), this.sessionKey('')], sessions: 0 };
        this.unacked.push(b);
      }
      b.args.push(`${d.r} ${d.i} ${d.o} ${d.t} ${d.l} ${id}`);
      b.sessions++;
    }
  }

  setTotalsSource(fn: () => Iterable<SessionTotals>): void {
    this.totalsSource = fn;
  }

  // --- reads ---

  async getSession(id: string): Promise<FleetSessionView | undefined> {
    const flat = await this.call(['HGETALL', this.sessionKey(id)]) as string[];
    const k = this.kills.get(id);
    if (flat.length === 0 && k === null) return undefined;
    await this.loadInstanceNames(flat);
    return this.view(id, flat);
  }

  /**
   * SCAN over session keys, bounded: at most 50 SCAN calls per page. The cursor is
   * "<scan cursor>.<keys of that step already returned>" so a page never exceeds `limit`.
   * As with SCAN itself, a session may appear twice if Redis rehashes between pages.
   */
  async listSessions(opts: { limit: number; cursor?: string | null }): Promise<SessionPage> {
    const limit = Math.max(1, Math.min(1000, Math.floor(opts.limit)));
    let [scanCur, skipStr] = (opts.cursor ?? '0.0').split('.');
    if (!/^\d+$/.test(scanCur ?? '')) scanCur = '0';
    let skip = Number.parseInt(skipStr ?? '0', 10) || 0;
    const ids: string[] = [];
    let next: string | null = null;
    const prefixLen = this.sessionKey('').length;
    for (let step = 0; ; step++) {
      if (step === 50) { next = `${scanCur}.0`; break; }
      const [after, keys] = await this.call(['SCAN', scanCur, 'MATCH', this.sessionKey('*'), 'COUNT', String(Math.max(limit, 100))]) as [string, string[]];
      const avail = keys.length - skip;
      const want = limit - ids.length;
      for (let i = skip; i < keys.length && ids.length < limit; i++) ids.push(keys[i].slice(prefixLen));
      if (avail > want) { next = `${scanCur}.${skip + want}`; break; }
      skip = 0;
      scanCur = after;
      if (after === '0') { next = null; break; }
      if (ids.length === limit) { next = `${after}.0`; break; }
    }
    const flats = await Promise.all(ids.map((id) => this.call(['HGETALL', this.sessionKey(id)]) as Promise<string[]>));
    const sessions: FleetSessionView[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (flats[i].length === 0) continue; // expired between SCAN and HGETALL
      await this.loadInstanceNames(flats[i]);
      sessions.push(this.view(ids[i], flats[i]));
    }
    return { sessions, next_cursor: next };
  }

  private view(id: string, flat: string[]): FleetSessionView {
    const v: FleetSessionView = {
      id, state: this.kills.get(id) ?? 'active', requests: 0, bytes_in: 0, bytes_out: 0, tokens: 0,
      last_seen_ms: 0, instance: null, instances: [],
    };
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const f = flat[i];
      const val = flat[i + 1];
      switch (f) {
        case 'r': v.requests = Number(val); break;
        case 'i': v.bytes_in = Number(val); break;
        case 'o': v.bytes_out = Number(val); break;
        case 't': v.tokens = Number(val); break;
        case 'l': v.last_seen_ms = Number(val) * 1000; break;
        case 'h': v.instance = this.instanceNames.get(val) ?? `#${val}`; break;
        default:
          if (f.startsWith('@')) v.instances.push(this.instanceNames.get(f.slice(1)) ?? `#${f.slice(1)}`);
      }
    }
    // '@' fields appear only once a second instance served the session; the holder always did.
    if (v.instance !== null && !v.instances.includes(v.instance)) v.instances.push(v.instance);
    return v;
  }

  /** Instance indexes → names, read from Redis when a session names an index not seen yet. */
  private async loadInstanceNames(flat: string[]): Promise<void> {
    for (let i = 0; i < flat.length; i += 2) {
      const f = flat[i];
      const idx = f === 'h' ? flat[i + 1] : f.startsWith('@') ? f.slice(1) : null;
      if (idx !== null && !this.instanceNames.has(idx)) {
        const all = await this.call(['HGETALL', this.p + 'inst']) as string[];
        for (let j = 0; j + 1 < all.length; j += 2) {
          if (all[j].startsWith('#')) this.instanceNames.set(all[j].slice(1), all[j + 1]);
        }
        return;
      }
    }
  }

  async listInstances(): Promise<string[]> {
    const out: string[] = [];
    let cur = '0';
    const prefixLen = this.instanceKey('').length;
    for (let step = 0; step < 100; step++) {
      const [after, keys] = await this.call(['SCAN', cur, 'MATCH', this.instanceKey('*'), 'COUNT', '100']) as [string, string[]];
      for (const k of keys) out.push(k.slice(prefixLen));
      cur = after;
      if (cur === '0') break;
    }
    return out.sort();
  }

  // --- health ---

  health(): FleetHealth {
    return this.synced ? { ok: true } : { ok: false, reason: this.lastError };
  }

  /**
   * One bounded step of deleting stale session hashes (instead of a per-key TTL, see FLUSH).
   * One instance at a time does it, under a lock that expires if that instance dies.
   */
  private async sweepStep(): Promise<void> {
    if (!this.synced || this.sweeping || this.closed) return;
    this.sweeping = true;
    try {
      const lockKey = this.p + 'sweep';
      const lockMs = String(this.sweepIntervalMs * 5);
      const got = await this.call(['SET', lockKey, this.runId, 'NX', 'PX', lockMs]);
      if (got !== 'OK') {
        if (await this.call(['GET', lockKey]) !== this.runId) return;
        await this.call(['PEXPIRE', lockKey, lockMs]);
      }
      const cutoff = Math.floor((Date.now() - this.ttlMs) / 1000);
      const [after, n] = await this.evalScript(SWEEP, [], [this.sweepCursor, this.sessionKey('*'), '1000', String(cutoff)]) as [string, number];
      this.sweepCursor = after;
      this.counters.swept_sessions += Number(n);
    } catch {
      // the connection events report Redis trouble; the next step retries
    } finally {
      this.sweeping = false;
    }
  }

  stats(): FleetStats {
    return {
      mode: 'redis', instance_id: this.instanceId, connected: this.synced,
      pending_sessions: this.pending.size + this.unacked.reduce((n, b) => n + b.sessions, 0),
      ...this.counters,
    };
  }

  // --- connection events and resync ---

  private onError(err: Error): void {
    this.lastError = `redis unreachable: ${err.message || err.name}`;
    this.onDown(err.message);
  }

  private onDown(why: string): void {
    if (this.synced) {
      this.synced = false;
      this.log.warn({ reason: why, on_redis_down: this.onRedisDown }, 'fleet: lost redis; serving on local state');
    }
  }

  private onReady(): void {
    if (this.closed || !this.subscribed || !this.cmd.isReady || !this.sub.isReady) return;
    if (this.resyncing) { this.resyncAgain = true; return; }
    this.resyncing = this.resync().finally(() => {
      this.resyncing = null;
      if (this.resyncAgain) { this.resyncAgain = false; this.onReady(); }
    });
  }

  /**
   * After every (re)connect: detect a Redis that lost its data, get our instance index, replay
   * kills made while away, re-read the whole kill state (so a kill missed while cut off is seen),
   * then resume flushing. Only then is the instance "synced" (healthy).
   */
  private async resync(): Promise<void> {
    try {
      const epoch = await this.evalScript(EPOCH, [this.p + 'epoch'], [`${Date.now()}-${this.runId}`]) as string;
      const reset = this.epoch !== null && epoch !== this.epoch;
      this.epoch = epoch;
      this.holderIdx = Number(await this.evalScript(INSTANCE_INDEX, [this.p + 'inst', this.p + 'instn'], [this.instanceId]));
      this.instanceNames.set(String(this.holderIdx), this.instanceId);
      if (reset) await this.afterReset();
      await this.replayPendingOps();
      await this.readKillSnapshot();
      await this.heartbeat();
      if (this.everSynced) {
        this.counters.reconnects++;
        const info: Record<string, number> = { pending_sessions: this.pending.size, dropped_deltas: this.counters.dropped_deltas };
        if (this.localRateDecisions > 0) {
          info.local_rate_decisions = this.localRateDecisions;
          this.log.warn(info, 'fleet: redis is back; rate limits were counted per instance while it was away and those windows cannot be merged');
        } else {
          this.log.info(info, 'fleet: redis is back; flushing buffered counters');
        }
        this.localRateDecisions = 0;
      }
      this.fallbackRates.clear();
      this.synced = true;
      this.everSynced = true;
      this.lastError = 'redis unreachable';
      void this.flush();
    } catch (err) {
      this.lastError = `redis unreachable: ${(err as Error).message}`;
      this.log.warn({ err: (err as Error).message }, 'fleet: resync with redis failed; retrying');
      // Retry on the next tick of the heartbeat timer if no reconnect event comes first.
    }
  }

  /** Kills and resumes that Redis has not taken yet, in the order they were made. */
  private async replayPendingOps(): Promise<void> {
    for (const [id, state] of [...this.pendingOps]) {
      await this.storeChange(id, state, false);
      if (this.pendingOps.get(id) === state) this.pendingOps.delete(id);
    }
  }

  /** Redis came back empty. Kills held here are written back; counters are rebuilt from local totals if we have them. */
  private async afterReset(): Promise<void> {
    this.counters.redis_resets++;
    this.kills.rebase();
    this.maxVerSeen = 0;
    this.lagVer = 0;
    // instance indexes are handed out afresh too
    this.instanceNames.clear();
    this.instanceNames.set(String(this.holderIdx), this.instanceId);
    const kills = [...this.kills.killed()];
    for (const [id, state] of kills) await this.storeChange(id, state, true);
    // The ack key went with the data: unacked batches were never applied to this data set.
    if (this.totalsSource) {
      this.pending = new Map();
      this.unacked = [];
      let n = 0;
      for (const t of this.totalsSource()) {
        if (this.pending.size >= this.maxPending) { this.counters.dropped_deltas++; continue; }
        this.pending.set(t.id, { r: t.requests, i: t.bytes_in, o: t.bytes_out, t: t.tokens, l: Math.floor(t.last_seen_ms / 1000) });
        n++;
      }
      this.log.warn({ kills_restored: kills.length, sessions_rebuilt: n },
        'fleet: redis lost its data; kill state restored from this instance, counters rebuilt from its session totals (sessions it no longer holds cannot be reconciled)');
    } else {
      this.log.warn({ kills_restored: kills.length, pending_sessions: this.pending.size },
        'fleet: redis lost its data; kill state restored from this instance; counters flushed before the loss could not be reconciled');
    }
  }

  private async readKillSnapshot(): Promise<void> {
    const [verStr, flat] = await this.evalScript(KILL_SNAPSHOT, [this.p + 'kill', this.p + 'killv'], []) as [string, string[]];
    const snap = new Map<string, { s: 'k' | 't' | 'a'; v: number }>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const val = flat[i + 1];
      const c = val.indexOf(':');
      const s = val.slice(c + 1);
      if (s === 'k' || s === 't') snap.set(flat[i], { s, v: Number(val.slice(0, c)) });
    }
    const snapVer = Number(verStr);
    if (snapVer > this.maxVerSeen) this.maxVerSeen = snapVer;
    const changed = this.kills.applySnapshot(snapVer, snap);
    if (changed > 0) {
      this.counters.kills_received += changed;
      this.log.info({ changed }, 'fleet: kill state changed while this instance was away from redis');
    }
  }

  /**
   * Every heartbeatMs: refresh this instance's heartbeat key, notice a connection that went silent
   * (a timed-out heartbeat counts as Redis down until a resync succeeds), and check that pub/sub did
   * not miss a kill: if Redis's kill version stays ahead of what this instance received for a whole
   * heartbeat, it re-reads the kill state (a half-open subscriber connection, a dropped message).
   */
  private tick(): void {
    if (this.closed) return;
    if (!this.synced) {
      this.onReady();
      return;
    }
    if (this.ticking) return;
    if (!this.resyncing) this.kills.pruneTombstones();
    this.ticking = true;
    void this.heartbeat().then(async () => {
      // a kill whose store failed without the connection dropping (a timeout) is retried here
      if (this.pendingOps.size > 0) await this.replayPendingOps();
      const v = Number(await this.call(['GET', this.p + 'killv']) ?? 0);
      const now = Date.now();
      if (v <= this.maxVerSeen) { this.lagVer = 0; return; }
      if (this.lagVer === 0 || this.lagVer <= this.maxVerSeen) {
        // ahead now, maybe only because a message is on its way: look again a heartbeat later
        this.lagVer = v;
        this.lagSince = now;
        return;
      }
      if (now - this.lagSince >= this.heartbeatMs && !this.resyncing) {
        this.log.warn({ redis_version: v, seen: this.maxVerSeen }, 'fleet: missed kill messages; re-reading kill state');
        this.lagVer = 0;
        this.resyncing = this.readKillSnapshot().catch(() => {}).finally(() => { this.resyncing = null; });
      }
    }).catch((err: Error) => {
      if (this.synced && !this.closed) {
        this.lastError = `redis unreachable: heartbeat failed (${err.message})`;
        this.onDown('heartbeat failed');
      }
    }).finally(() => { this.ticking = false; });
  }

  private async heartbeat(): Promise<void> {
    await this.call(['SET', this.instanceKey(this.instanceId), String(Date.now()), 'PX', String(this.heartbeatMs * 3)]);
  }

  // --- Redis calls ---

  private call(args: string[]): Promise<unknown> {
    return this.cmd.sendCommand(args, { timeout: this.timeoutMs });
  }

  /** EVALSHA, and EVAL (which also caches the script) when Redis does not know it, e.g. after a restart. */
  private async evalScript(s: Script, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.call(['EVALSHA', s.sha, ...tail]);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return await this.call(['EVAL', s.source, ...tail]);
    }
  }

  private channel(): string { return this.p + 'kills'; }
  private sessionKey(id: string): string { return this.p + 's:' + id; }
  private instanceKey(id: string): string { return this.p + 'i:' + id; }
  private ackKey(): string { return this.p + 'ack:' + this.runId; }
}
