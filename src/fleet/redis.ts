// The Redis fleet: kill state, per-session counters, rate limits and instance heartbeats shared
// through one Redis. The local side stays authoritative for the hot path:
// - kill checks read a local KillSet kept in sync by pub/sub, re-read whole on every (re)connect
//   (redis-kills.ts);
// - counters are summed locally per session and written behind every flushIntervalMs (the gateway
//   passes fleet.flush_interval, 1s by default; 100ms when the class is used alone) in batches that Redis
//   applies at most once (a per-process sequence number), so a resend after a lost reply never
//   double-counts and nothing is read, changed and written back from Node (write-behind.ts);
// - when Redis is down the instance keeps serving (or refuses, by config), buffers deltas up to a
//   bound, counts what it drops, and reconciles when Redis returns.
// Session and instance reads for the control API live in redis-reads.ts, the deletion of stale
// session hashes in sweeper.ts, the two connections in redis-link.ts, rate limits in redis-rates.ts.
import { KillListeners } from './kill-listeners.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KillSet } from './kill-set.js';
import { RedisKills } from './redis-kills.js';
import { RedisLink } from './redis-link.js';
import { RedisRates } from './redis-rates.js';
import { RedisReads } from './redis-reads.js';
import { RedisBudgets } from './redis-budgets.js';
import { EPOCH, INSTANCE_INDEX, type Script } from './scripts.js';
import { Sweeper } from './sweeper.js';
import {
  silentLogger,
  type FleetHealth, type FleetKillState, type FleetLogger, type FleetSessionState, type FleetSessionView,
  type FleetState, type FleetStats, type KillListener, type RateResult, type RestoredKill, type SessionPage, type SessionTotals,
} from './types.js';
import { WriteBehind } from './write-behind.js';

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

/** Why Redis is not usable, for health() and logs. */
const NEVER_CONNECTED = 'redis unreachable: not connected yet';

export class RedisFleet implements FleetState {
  readonly mode = 'redis' as const;
  readonly instanceId: string;

  private readonly onRedisDown: 'serve' | 'refuse';
  private readonly p: string;
  private readonly flushIntervalMs: number;
  private readonly heartbeatMs: number;
  private readonly log: FleetLogger;

  private readonly link: RedisLink;
  private readonly kills: KillSet;
  private readonly listeners = new KillListeners((id, err) => this.log.error({ id, err: err.message }, 'fleet: kill listener threw'));

  /** a unique name for this process's ack key, so a restarted instance with the same id starts afresh */
  private readonly runId = randomBytes(6).toString('hex');

  private holderIdx = 0;
  private readonly instanceNames = new Map<string, string>();
  private epoch: string | null = null;
  /** true once both connections are ready and the resync after (re)connecting has finished */
  private synced = false;
  private everSynced = false;
  private lastError = NEVER_CONNECTED;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /**
   * Set once the first SUBSCRIBE is done. node-redis re-subscribes before it reports 'ready' after a
   * reconnect, so from then on 'ready' means "messages flow": only then may the kill state be re-read,
   * or a kill published between the read and the subscription would be missed.
   */
  private subscribed = false;
  private ticking = false;

  private readonly counters = {
    dropped_deltas: 0, flushes: 0, flush_errors: 0, kills_received: 0, reconnects: 0, redis_resets: 0, swept_sessions: 0,
  };
  private readonly killSync: RedisKills;
  private readonly writes: WriteBehind;
  private readonly reads: RedisReads;
  private readonly sweeper: Sweeper;
  readonly budgets: RedisBudgets;
  private readonly rates: RedisRates;

  constructor(opts: RedisFleetOptions) {
    this.instanceId = opts.instanceId ?? `${hostname()}:${process.pid}`;
    this.onRedisDown = opts.onRedisDown ?? 'serve';
    this.p = opts.prefix ?? 'cordon:';
    this.flushIntervalMs = opts.flushIntervalMs ?? 100;
    this.heartbeatMs = opts.heartbeatMs ?? 5_000;
    this.log = opts.logger ?? silentLogger;
    this.kills = new KillSet((id, state) => this.emit(id, state));
    const synced = () => this.synced;
    const evalScript = (s: Script, keys: string[], args: string[]) => this.evalScript(s, keys, args);
    this.killSync = new RedisKills({
      prefix: this.p, heartbeatMs: this.heartbeatMs, kills: this.kills, counters: this.counters, log: this.log, synced, evalScript,
      call: (args) => this.call(args), emit: (id, state) => this.emit(id, state),
    });
    this.writes = new WriteBehind({
      maxPending: opts.maxPendingSessions ?? 200_000,
      batchSize: opts.batchSize ?? 500,
      ackKey: this.p + 'ack:' + this.runId,
      sessionPrefix: this.p + 's:',
      counters: this.counters,
      log: this.log,
      synced,
      holderIdx: () => this.holderIdx,
      evalScript,
    });
    const call = (args: string[]) => this.call(args);
    this.reads = new RedisReads({ prefix: this.p, call, kills: this.kills, instanceNames: this.instanceNames });
    this.budgets = new RedisBudgets({ prefix: this.p, runId: this.runId, synced, evalScript, call, log: this.log });
    this.sweeper = new Sweeper({
      prefix: this.p, runId: this.runId, ttlMs: opts.sessionTtlMs ?? 86_400_000, intervalMs: opts.sweepIntervalMs ?? 1_000,
      counters: this.counters, live: () => this.synced && !this.closed, call, evalScript,
    });

    this.rates = new RedisRates({ prefix: this.p, synced, evalScript, onError: (reason) => { this.lastError = reason; } });
    this.link = new RedisLink(opts.url, opts.commandTimeoutMs ?? 2_000, {
      onError: (err) => this.onError(err), onReady: () => this.onReady(), onDown: (why) => this.onDown(why),
    });
  }

  // --- lifecycle ---

  async start(): Promise<void> {
    this.flushTimer = setInterval(() => { if (!this.writes.inFlight) void this.flush(); }, this.flushIntervalMs);
    this.flushTimer.unref();
    this.sweeper.start();
    this.budgets.start();
    this.heartbeatTimer = setInterval(() => this.tick(), this.heartbeatMs);
    this.heartbeatTimer.unref();
    const onMessage = (msg: string) => this.killSync.onMessage(msg);
    // connect() keeps retrying (redis-link.ts); do not hold start-up hostage to Redis.
    const connecting = this.link.connect(this.killSync.channel, onMessage).then(() => { this.subscribed = true; this.onReady(); }, (err: unknown) => this.onError(err as Error));
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
    this.sweeper.stop();
    this.budgets.stop();
    if (this.synced) {
      try { await this.call(['DEL', this.instanceKey(this.instanceId)]); } catch { /* it expires anyway */ }
    }
    this.synced = false;
    this.link.destroy();
  }

  // --- hot path ---

  killState(id: string): FleetKillState | null {
    return this.kills.get(id);
  }

  admit(): boolean {
    return this.synced || this.onRedisDown === 'serve';
  }

  record(id: string, requests: number, bytesIn: number, bytesOut: number, tokens: number, nowMs: number): void {
    this.writes.record(id, requests, bytesIn, bytesOut, tokens, nowMs);
  }

  // --- kills (redis-kills.ts) ---

  async kill(id: string, state: FleetKillState = 'killed'): Promise<void> {
    await this.killSync.change(id, state);
  }

  async resume(id: string): Promise<void> {
    await this.killSync.change(id, 'active');
  }

  onKill(fn: KillListener): () => void {
    return this.listeners.add(fn);
  }

  private emit(id: string, state: FleetSessionState): void {
    this.listeners.emit(id, state);
  }

  // --- rate limits (redis-rates.ts) ---

  rateLimit(key: string, limit: number, windowMs: number, cost = 1): Promise<RateResult> {
    return this.rates.take(key, limit, windowMs, cost);
  }

  // --- counters (write-behind.ts) ---

  /** Resolves once everything recorded before the call was written (or false if Redis did not take it). */
  flush(): Promise<boolean> {
    return this.writes.flush();
  }

  setTotalsSource(fn: () => Iterable<SessionTotals>): void {
    this.writes.setTotalsSource(fn);
  }

  restoreKills(kills: RestoredKill[]): void {
    this.killSync.setRestored(kills);
  }

  // --- reads (redis-reads.ts) ---

  getSession(id: string): Promise<FleetSessionView | undefined> {
    return this.reads.getSession(id);
  }

  listSessions(opts: { limit: number; cursor?: string | null }): Promise<SessionPage> {
    return this.reads.listSessions(opts);
  }

  listInstances(): Promise<string[]> {
    return this.reads.listInstances();
  }

  // --- health ---

  health(): FleetHealth {
    return this.synced ? { ok: true } : { ok: false, reason: this.lastError };
  }

  stats(): FleetStats {
    return {
      mode: 'redis', instance_id: this.instanceId, connected: this.synced,
      pending_sessions: this.writes.heldSessions,
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
    if (this.closed || !this.subscribed || !this.link.ready) return;
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
      await this.killSync.replayPendingOps();
      await this.killSync.readSnapshot();
      await this.killSync.reconcileRestored();
      await this.heartbeat();
      await this.budgets.resync();
      if (this.everSynced) {
        this.counters.reconnects++;
        const info: Record<string, number> = { pending_sessions: this.writes.pendingSessions, dropped_deltas: this.counters.dropped_deltas };
        if (this.rates.localDecisions > 0) {
          info.local_rate_decisions = this.rates.localDecisions;
          this.log.warn(info, 'fleet: redis is back; rate limits were counted per instance while it was away and those windows cannot be merged');
        } else {
          this.log.info(info, 'fleet: redis is back; flushing buffered counters');
        }
        this.rates.localDecisions = 0;
      }
      this.rates.clearLocal();
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

  /** Redis came back empty. Kills held here are written back; counters are rebuilt from local totals if we have them. */
  private async afterReset(): Promise<void> {
    this.counters.redis_resets++;
    // instance indexes are handed out afresh too
    this.instanceNames.clear();
    this.instanceNames.set(String(this.holderIdx), this.instanceId);
    const killsRestored = await this.killSync.restoreAfterReset();
    const n = this.writes.rebuildFromTotals();
    if (n !== null) {
      this.log.warn({ kills_restored: killsRestored, sessions_rebuilt: n },
        'fleet: redis lost its data; kill state restored from this instance, counters rebuilt from its session totals (sessions it no longer holds cannot be reconciled)');
    } else {
      this.log.warn({ kills_restored: killsRestored, pending_sessions: this.writes.pendingSessions },
        'fleet: redis lost its data; kill state restored from this instance; counters flushed before the loss could not be reconciled');
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
      // a resync under way (the first one, say, slow on a loaded box) is not a reconnect to count
      if (this.resyncing === null) this.onReady();
      return;
    }
    if (this.ticking) return;
    if (!this.resyncing) this.kills.pruneTombstones();
    this.ticking = true;
    void this.heartbeat().then(async () => {
      // a kill whose store failed without the connection dropping (a timeout) is retried here
      if (this.killSync.hasPendingOps) await this.killSync.replayPendingOps();
      const v = Number(await this.call(['GET', this.p + 'killv']) ?? 0);
      if (this.killSync.missedMessages(v, Date.now(), this.resyncing !== null)) {
        this.resyncing = this.killSync.readSnapshot().catch(() => {}).finally(() => { this.resyncing = null; });
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

  // --- Redis calls (redis-link.ts) ---

  private call(args: string[]): Promise<unknown> {
    return this.link.call(args);
  }

  private evalScript(s: Script, keys: string[], args: string[]): Promise<unknown> {
    return this.link.evalScript(s, keys, args);
  }

  private instanceKey(id: string): string { return this.p + 'i:' + id; }
}
