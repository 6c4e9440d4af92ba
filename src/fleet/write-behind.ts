// The counter write-behind of the Redis fleet: per-session deltas summed in local memory on the hot
// path and written to Redis in batches that Redis applies at most once (a per-process sequence number
// checked by the FLUSH script), so a resend after a lost reply never double-counts and nothing is
// read, changed and written back from Node. Kept apart from redis.ts because it is the one piece of
// the fleet with its own state machine (pending → unacked batches → acknowledged) and the one piece
// the hot path touches; the connection, kill and resync logic stay in RedisFleet, which owns this.
import { FLUSH, type Script } from './scripts.js';
import type { FleetLogger, SessionTotals } from './types.js';

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

/** The RedisFleet counters this class adds to (the same object RedisFleet reports in stats()). */
export interface WriteBehindCounters {
  dropped_deltas: number;
  flushes: number;
  flush_errors: number;
}

export interface WriteBehindOptions {
  /** sessions whose deltas are held while Redis is down; deltas of further sessions are dropped and counted */
  maxPending: number;
  /** sessions per flush script call (bounds how long one call holds Redis) */
  batchSize: number;
  /** this process run's ack key (`<prefix>ack:<run>`) */
  ackKey: string;
  /** the session hash key prefix (`<prefix>s:`) */
  sessionPrefix: string;
  counters: WriteBehindCounters;
  log: FleetLogger;
  /** whether Redis is usable now (RedisFleet's synced state) */
  synced(): boolean;
  /** this instance's index in Redis, handed out on every resync */
  holderIdx(): number;
  evalScript(s: Script, keys: string[], args: string[]): Promise<unknown>;
}

export class WriteBehind {
  private seq = 0;
  private pending = new Map<string, Delta>();
  /** batches built but not yet acknowledged by Redis, resent in order */
  private unacked: Batch[] = [];
  private totalsSource: (() => Iterable<SessionTotals>) | null = null;
  private flushing: Promise<boolean> | null = null;

  constructor(private readonly opts: WriteBehindOptions) {}

  /** Hot path: a Map lookup and field adds for a session already pending; no allocation. */
  record(id: string, requests: number, bytesIn: number, bytesOut: number, tokens: number, nowMs: number): void {
    const d = this.pending.get(id);
    const l = Math.floor(nowMs / 1000);
    if (d !== undefined) {
      d.r += requests; d.i += bytesIn; d.o += bytesOut; d.t += tokens;
      if (l > d.l) d.l = l;
      return;
    }
    if (this.pending.size >= this.opts.maxPending) {
      this.opts.counters.dropped_deltas++;
      return;
    }
    this.pending.set(id, { r: requests, i: bytesIn, o: bytesOut, t: tokens, l });
  }

  /** true while a flush is under way (the flush timer skips its tick then) */
  get inFlight(): boolean {
    return this.flushing !== null;
  }

  /** sessions with deltas not yet put into a batch */
  get pendingSessions(): number {
    return this.pending.size;
  }

  /** sessions with deltas not yet written to Redis: pending plus those in unacknowledged batches */
  get heldSessions(): number {
    return this.pending.size + this.unacked.reduce((n, b) => n + b.sessions, 0);
  }

  /** Resolves once everything recorded before the call was written (or false if Redis did not take it). */
  flush(): Promise<boolean> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (!this.opts.synced() || (this.pending.size === 0 && this.unacked.length === 0)) return Promise.resolve(this.opts.synced());
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
        await this.opts.evalScript(FLUSH, b.keys, b.args);
      } catch (err) {
        this.opts.counters.flush_errors++;
        this.opts.log.warn({ err: (err as Error).message, batches: this.unacked.length }, 'fleet: counter flush failed; will resend');
        return false;
      }
      this.unacked.shift();
      this.opts.counters.flushes++;
    }
    return true;
  }

  private buildBatches(deltas: Map<string, Delta>): void {
    let b: Batch | null = null;
    for (const [id, d] of deltas) {
      if (b === null || b.sessions === this.opts.batchSize) {
        b = { seq: ++this.seq, keys: [this.opts.ackKey], args: [String(this.seq), String(this.opts.holderIdx()), this.opts.sessionPrefix], sessions: 0 };
        this.unacked.push(b);
      }
      b.args.push(`${d.r} ${d.i} ${d.o} ${d.t} ${d.l} ${id}`);
      b.sessions++;
    }
  }

  setTotalsSource(fn: () => Iterable<SessionTotals>): void {
    this.totalsSource = fn;
  }

  /**
   * Redis came back empty: replaces what is held with this instance's totals, if it has a totals
   * source. Returns how many sessions were rebuilt, or null without a source (held deltas then stay
   * and are flushed into the new data set as they are).
   */
  rebuildFromTotals(): number | null {
    if (!this.totalsSource) return null;
    // The ack key went with the data: unacked batches were never applied to this data set.
    this.pending = new Map();
    this.unacked = [];
    let n = 0;
    for (const t of this.totalsSource()) {
      if (this.pending.size >= this.opts.maxPending) { this.opts.counters.dropped_deltas++; continue; }
      this.pending.set(t.id, { r: t.requests, i: t.bytes_in, o: t.bytes_out, t: t.tokens, l: Math.floor(t.last_seen_ms / 1000) });
      n++;
    }
    return n;
  }
}
