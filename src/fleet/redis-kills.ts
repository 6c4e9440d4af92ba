// The Redis side of the fleet's kill state: storing kills and resumes (queued while Redis is away,
// replayed in order), applying pub/sub messages and whole-hash snapshots to the local KillSet, and
// noticing missed messages by comparing kill versions. Kept apart from redis.ts because it is one
// protocol with its own state (queued operations, the newest version seen, a lag being watched);
// RedisFleet owns it and decides when it runs (connection events, resync, heartbeat).
import { codeOf, stateOf, type KillSet } from './kill-set.js';
import { KILL, KILL_SNAPSHOT, type Script } from './scripts.js';
import type { FleetLogger, FleetSessionState, RestoredKill } from './types.js';

export interface RedisKillsOptions {
  /** key prefix (`cordon:` by default) */
  prefix: string;
  heartbeatMs: number;
  /** the local kill state the hot path reads; this class keeps it in step with Redis */
  kills: KillSet;
  /** the RedisFleet counter this class adds to (the same object RedisFleet reports in stats()) */
  counters: { kills_received: number };
  log: FleetLogger;
  /** whether Redis is usable now (RedisFleet's synced state) */
  synced(): boolean;
  evalScript(s: Script, keys: string[], args: string[]): Promise<unknown>;
  call(args: string[]): Promise<unknown>;
  /** tells the kill listeners of a change that did not come through the KillSet (a restored kill resumed) */
  emit(id: string, state: FleetSessionState): void;
}

export class RedisKills {
  /** the pub/sub channel of kill changes */
  readonly channel: string;
  private readonly p: string;
  private readonly kills: KillSet;
  /** kills and resumes made while Redis was unreachable, replayed on reconnect (latest per ID wins) */
  private readonly pendingOps = new Map<string, FleetSessionState>();
  /** the newest kill version this instance has applied (pub/sub or snapshot) */
  private maxVerSeen = 0;
  /** Redis's kill version at the last heartbeat, when it was ahead of maxVerSeen */
  private lagVer = 0;
  private lagSince = 0;
  /** kills this instance restored from its own storage, not yet checked against the fleet */
  private restored: RestoredKill[] = [];

  constructor(private readonly opts: RedisKillsOptions) {
    this.p = opts.prefix;
    this.channel = opts.prefix + 'kills';
    this.kills = opts.kills;
  }

  async change(id: string, state: FleetSessionState): Promise<void> {
    // Local first: this instance refuses the session at once, whatever Redis does.
    this.kills.applyLocal(id, state);
    if (!this.opts.synced()) {
      this.pendingOps.set(id, state);
      this.opts.log.warn({ id, state }, 'fleet: redis unreachable; kill state applied locally and queued for the fleet');
      return;
    }
    try {
      await this.storeChange(id, state, false);
    } catch (err) {
      this.pendingOps.set(id, state);
      this.opts.log.warn({ id, state, err: (err as Error).message }, 'fleet: could not store kill state; queued for the fleet');
    }
  }

  private async storeChange(id: string, state: FleetSessionState, nx: boolean): Promise<void> {
    const v = await this.opts.evalScript(KILL, [this.p + 'kill', this.p + 'killv', this.p + 'resumed'], [id, codeOf(state), this.channel, nx ? '1' : '0']);
    if (typeof v === 'number' && v > 0) this.kills.confirm(id, state, v);
  }

  /** true while a kill or resume waits for Redis to take it */
  get hasPendingOps(): boolean {
    return this.pendingOps.size > 0;
  }

  /** Kills and resumes that Redis has not taken yet, in the order they were made. */
  async replayPendingOps(): Promise<void> {
    for (const [id, state] of [...this.pendingOps]) {
      await this.storeChange(id, state, false);
      if (this.pendingOps.get(id) === state) this.pendingOps.delete(id);
    }
  }

  /** A pub/sub message `<version>:<k|t|a>:<id>`. */
  onMessage(msg: string): void {
    const a = msg.indexOf(':');
    const b = msg.indexOf(':', a + 1);
    if (a < 1 || b < 0) return;
    const v = Number(msg.slice(0, a));
    const state = stateOf(msg.slice(a + 1, b));
    if (!Number.isFinite(v) || state === null) return;
    if (v > this.maxVerSeen) this.maxVerSeen = v;
    if (this.kills.apply(msg.slice(b + 1), state, v)) this.opts.counters.kills_received++;
  }

  async readSnapshot(): Promise<void> {
    const [verStr, flat] = await this.opts.evalScript(KILL_SNAPSHOT, [this.p + 'kill', this.p + 'killv'], []) as [string, string[]];
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
      this.opts.counters.kills_received += changed;
      this.opts.log.info({ changed }, 'fleet: kill state changed while this instance was away from redis');
    }
  }

  /**
   * Redis's kill version `v`, read at a heartbeat. True when Redis has stayed ahead of what this
   * instance received for a whole heartbeat and no re-read is under way (`busy`): the caller then
   * re-reads the kill state (a half-open subscriber connection, a dropped message).
   */
  missedMessages(v: number, now: number, busy: boolean): boolean {
    if (v <= this.maxVerSeen) { this.lagVer = 0; return false; }
    if (this.lagVer === 0 || this.lagVer <= this.maxVerSeen) {
      // ahead now, maybe only because a message is on its way: look again a heartbeat later
      this.lagVer = v;
      this.lagSince = now;
      return false;
    }
    if (now - this.lagSince >= this.opts.heartbeatMs && !busy) {
      this.opts.log.warn({ redis_version: v, seen: this.maxVerSeen }, 'fleet: missed kill messages; re-reading kill state');
      this.lagVer = 0;
      return true;
    }
    return false;
  }

  /** Kills read from this instance's storage at start; checked against the fleet by reconcileRestored(). */
  setRestored(kills: RestoredKill[]): void {
    this.restored = kills;
  }

  /**
   * After a sync: each restored kill the fleet does not hold was either resumed elsewhere while this
   * instance was down (the resume hash has a resume newer than the kill: resume here too) or never
   * reached Redis (a kill made while cut off, or before fleet mode: store it, so every instance
   * refuses the session; fail closed). Kills the fleet holds need nothing. Runs until it succeeds once.
   */
  async reconcileRestored(): Promise<void> {
    if (this.restored.length === 0) return;
    let resumed = 0;
    let stored = 0;
    const open = this.restored.filter((r) => this.kills.get(r.id) === null);
    // One HMGET for all of them, not a round trip per kill (a restart may restore thousands).
    const times = open.length === 0 ? [] : await this.opts.call(['HMGET', this.p + 'resumed', ...open.map((r) => r.id)]) as (string | null)[];
    for (let i = 0; i < open.length; i++) {
      const r = open[i];
      const at = times[i];
      if (at !== null && at !== undefined && Number(at) >= r.at) {
        this.opts.emit(r.id, 'active');
        resumed++;
      } else {
        await this.storeChange(r.id, r.state, true);
        stored++;
      }
    }
    this.restored = [];
    if (resumed + stored > 0) {
      this.opts.log.info({ resumed, stored }, 'fleet: kills restored from storage checked against the fleet (resumed elsewhere since / stored for the fleet)');
    }
  }

  /** Redis came back empty: kill versions restart, and every kill held here is written back (fail closed). Returns how many. */
  async restoreAfterReset(): Promise<number> {
    this.kills.rebase();
    this.maxVerSeen = 0;
    this.lagVer = 0;
    const kills = [...this.kills.killed()];
    for (const [id, state] of kills) await this.storeChange(id, state, true);
    return kills.length;
  }
}
