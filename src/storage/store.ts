// The embedded store: one SQLite file (WAL, synchronous=NORMAL) behind a bounded write queue that
// is flushed in one transaction every flushIntervalMs or batchRows rows. Producers only push to
// the queue and return; nothing on the request path waits for the disk. Kills are the exception:
// they are written at once (one small row) because a kill must survive a restart.
// The transaction runs on the main thread or on a writer thread (writer-thread.ts); which one is
// the `writer` option, measured in bench/results/storage.md.
//
// Files: open-db.ts (directory checks, open, migrate, statements), flush-loop.ts (the connection
// and the batched writes), take-batch.ts (a batch out of the queue); this file the public API.
import type { Database as Db } from 'better-sqlite3';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { markRunning, markStopped, rebuildFromEvents, RUNNING_FILE } from './rebuild.js';
import type { Direction, EventBus, GatewayEvent, PolicyEvent, SessionEvent } from '../events.js';
import { CaptureWriter } from './capture.js';
import { describeError } from './errors.js';
import { FlushLoop } from './flush-loop.js';
import type { EndedSession, FlaggedEvent, HistoryPage, HistoryQuery } from './queries.js';
import { KILL_RANK, SEVERITY_RANK, type ChunkRecord, type KillRecord, type RankName } from './queue.js';
import type { StoreOptions } from './store-options.js';
import { KeyTables } from './keys.js';

export type { StoreOptions } from './store-options.js';
export { DB_FILE } from './open-db.js';

export type KillState = 'killed' | 'terminated';
export type StoreHealth = { ok: true } | { ok: false; reason: string };

export interface StoreStats {
  queue_depth: number;
  queue_bytes: number;
  dropped: Record<RankName, number>;
  /** rows committed since open */
  written: number;
  /** failed flush attempts since open */
  write_errors: number;
  db_bytes: number;
}

/** The database handle, for tests that inject faults (e.g. PRAGMA max_page_count for a full disk). */
export const kDb = Symbol('cordon.storage.db');

/** Runs SQL on the writer thread's connection, for fault-injection tests (undefined for the main-thread writer). */
export const kWriterExec = Symbol('cordon.storage.writerExec');
export const kWriterKill = Symbol('cordon.storage.writerKill');

/**
 * Opens (creating if needed) DIR/cordon.db, applies migrations and starts the writer and the
 * retention timer. Throws StorageError (`<path>: <reason>`) for an unusable dir or a bad file.
 */
export function openStore(opts: StoreOptions): Store {
  return new Store(opts);
}

export class Store extends FlushLoop {
  /** API keys and agent kills, written at once (src/auth) */
  readonly keyTables = new KeyTables(() => this.db);
  private readonly captureOn: boolean;
  private nextRequestSeq = 1;
  private retentionRunning: Promise<number> | null = null;
  private readonly retentionTimer: NodeJS.Timeout;
  private readonly onEvent = (ev: GatewayEvent): void => {
    if (ev.kind === 'policy') this.recordPolicy(ev);
    else if (ev.kind === 'session') this.recordSession(ev);
  };

  private readonly runningFile: string;

  constructor(opts: StoreOptions) {
    super(opts);
    this.captureOn = opts.profile === 'forensics';
    // The last run stopped uncleanly: its live sessions get summaries rebuilt from their events.
    this.runningFile = join(dirname(this.file), RUNNING_FILE);
    if (markRunning(this.runningFile)) {
      try {
        const n = rebuildFromEvents(this.db);
        if (n > 0) this.log?.warn({ sessions: n }, 'storage: the last run did not stop cleanly; session summaries rebuilt from their events');
      } catch (err) {
        this.log?.error({ err: describeError(err) }, 'storage: could not rebuild session summaries');
      }
    }
    this.nextRequestSeq = ((this.st.maxReq.get() as { m: number | null }).m ?? 0) + 1;
    const every = opts.retentionIntervalMs ?? Math.min(600_000, Math.max(1_000, Math.floor(opts.retentionMs / 10)));
    this.retentionTimer = setInterval(() => void this.runRetention(), every);
    this.retentionTimer.unref();
    void this.runRetention();
  }

  /** For fault-injection tests only. */
  get [kDb](): Db {
    return this.db;
  }

  /** For fault-injection tests only. */
  get [kWriterExec](): ((sql: string) => Promise<number>) | undefined {
    const t = this.thread;
    return t ? (sql) => t.exec(sql) : undefined;
  }

  /** For fault-injection tests only: ends the writer thread as a crash would. */
  get [kWriterKill](): (() => Promise<void>) | undefined {
    const t = this.thread;
    return t ? () => t.terminate() : undefined;
  }

  /** 'main' or 'worker': where batches are written. */
  get writer(): 'main' | 'worker' {
    return this.thread ? 'worker' : 'main';
  }

  // ---- writing ---------------------------------------------------------------------------

  /** Stores bus events: policy hits, completed-session summaries, kills and resumes. */
  subscribe(bus: EventBus): () => void {
    return bus.subscribe(this.onEvent);
  }

  recordPolicy(ev: PolicyEvent): void {
    this.push(SEVERITY_RANK[ev.severity] ?? 1, {
      t: 'event', id: ev.id, kind: 'policy', session_id: ev.session_id, rule: ev.rule, severity: ev.severity,
      action: ev.action, direction: ev.direction, excerpt: ev.excerpt, at: ev.at, detail: eventDetail(ev),
    });
  }

  recordSession(ev: SessionEvent): void {
    switch (ev.type) {
      case 'completed': {
        const s = ev.summary;
        if (!s) return;
        this.push(3, {
          t: 'session', id: s.id, state: s.state, upstream: s.upstream, client_ip: s.client_ip,
          started_at: s.started_at, last_seen_at: s.last_seen_at, ended_at: ev.at, requests: s.requests,
          bytes_in: s.bytes_in, bytes_out: s.bytes_out, flags: s.flags,
          agent: s.agent, team: s.team, models: s.models, tokens_in: s.tokens_in, tokens_out: s.tokens_out,
          cost_usd: s.cost_usd, tokens_estimated: s.tokens_estimated, tool_calls: s.tool_calls,
        });
        // An end other than the sweep's (shutdown, eviction) is kept as an event that says so.
        if (ev.reason === undefined) return;
        break;
      }
      case 'killed':
      case 'terminated':
        this.setKill(ev.session_id, ev.type, ev.at);
        break;
      case 'resumed':
        this.setKill(ev.session_id, null, ev.at);
        break;
      default:
        return; // started / idle are live state, not history
    }
    this.push(4, {
      t: 'event', id: `${ev.type}-${ev.session_id}-${ev.at}`, kind: 'session', session_id: ev.session_id,
      rule: `session.${ev.type}`, severity: ev.type === 'resumed' || ev.type === 'completed' ? 'low' : 'high', action: ev.type,
      direction: null, excerpt: ev.reason ?? '', at: ev.at,
    });
  }

  /**
   * Persists a session's kill state (null = resumed) now, so it survives a crash right after.
   * If the disk fails it is queued at a rank that is never dropped and retried with the next flush.
   */
  setKill(id: string, state: KillState | null, at = Date.now()): void {
    if (this.closed) return;
    const rec: KillRecord = { t: 'kill', id, state, at };
    // An older kill still waiting must be written first, or it would overwrite this one.
    if (this.queue.buckets[KILL_RANK].length === 0 && this.degraded === null && !this.inflightHasKills) {
      try {
        this.applyKill(rec);
        this.written++;
        return;
      } catch (err) {
        this.fail(err);
      }
    }
    this.queue.push(KILL_RANK, rec);
    this.scheduleFlush();
  }

  /** Kill states to restore at start, with when each was made (epoch ms). */
  loadKills(): { id: string; state: KillState; at: number }[] {
    return this.st.killAll.all() as { id: string; state: KillState; at: number }[];
  }

  /**
   * A writer that streams one body to the captures table in chunks (forensics profile only;
   * null otherwise, so the caller skips capture at no cost). Pass the request's `requestSeq`
   * when opening the response capture to pair them.
   */
  openCapture(sessionId: string, direction: Direction, requestSeq?: number): CaptureWriter | null {
    if (!this.captureOn || this.closed) return null;
    return new CaptureWriter(this, sessionId, direction, requestSeq ?? this.nextRequestSeq++);
  }

  /** @internal called by CaptureWriter */
  enqueueChunk(r: ChunkRecord): void {
    this.push(0, r);
  }

  /** Drops every queued capture chunk (memory pressure); returns how many. */
  shedCaptures(): number {
    return this.queue.shedRank(0);
  }

  // ---- reading ---------------------------------------------------------------------------

  history(q: HistoryQuery): HistoryPage {
    return this.q.history(q);
  }

  flagged(opts: { limit?: number } = {}): FlaggedEvent[] {
    return this.q.flagged(opts.limit);
  }

  /** An ended session from storage (for /control/sessions/{id} once it left the live table). */
  session(id: string): EndedSession | undefined {
    return this.q.session(id);
  }

  /** The queue depth, without stats()'s stat of the database file: read at every memory sample and scrape. */
  get queueDepth(): number {
    return this.queue.depth;
  }

  /** Records dropped because the queue was full, all ranks together. */
  get droppedTotal(): number {
    let n = 0;
    for (const v of Object.values(this.queue.dropped)) n += v;
    return n;
  }

  /** Rows committed since open. */
  get writtenTotal(): number {
    return this.written;
  }

  stats(): StoreStats {
    return {
      queue_depth: this.queue.depth,
      queue_bytes: this.queue.bytes,
      dropped: { ...this.queue.dropped },
      written: this.written,
      write_errors: this.writeErrors,
      db_bytes: this.dbBytes(),
    };
  }

  health(): StoreHealth {
    if (this.closed) return { ok: false, reason: 'storage is closed' };
    return this.degraded === null ? { ok: true } : { ok: false, reason: this.degraded };
  }

  /** Bytes held by the write queue (the `storage_queue` memory component). */
  bytes(): number {
    return this.queue.bytes + this.inflightBytes;
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** Deletes rows older than the retention, in batches; resolves with the number deleted. */
  runRetention(): Promise<number> {
    if (this.retentionRunning) return this.retentionRunning;
    const cutoff = Date.now() - this.opts.retentionMs;
    const run = this.retention.run(cutoff, () => this.closed || !this.db.open)
      .catch((err: unknown) => {
        this.log?.warn({ err: describeError(err) }, 'storage: retention step failed; will retry');
        return 0;
      })
      .finally(() => { this.retentionRunning = null; });
    this.retentionRunning = run;
    return run;
  }

  /** Stops the timers, writes everything still queued, closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true; // no new records; a running retention stops at its next batch
    clearInterval(this.flushTimer);
    clearInterval(this.retentionTimer);
    if (this.retentionRunning) await this.retentionRunning;
    // One attempt per batch: shutdown must not hang on a dead disk.
    if (!this.thread && !this.db.open) this.reconnect(true);
    const ok = await this.drain();
    if (!ok) this.log?.error({ lost: this.queue.depth }, 'storage: could not flush the queue at shutdown');
    await this.thread?.close();
    if (this.db.open) {
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch { /* a checkpoint is an optimisation */ }
      this.db.close();
    }
    markStopped(this.runningFile);
  }

  private dbBytes(): number {
    let n = 0;
    for (const f of [this.file, `${this.file}-wal`]) {
      try {
        n += statSync(f).size;
      } catch { /* no WAL yet */ }
    }
    return n;
  }
}

/** What a policy event carries beyond the SPEC's fields (detection score, judge verdict), as JSON. */
function eventDetail(ev: PolicyEvent): string | null {
  if (ev.score === undefined && ev.judge === undefined) return null;
  return JSON.stringify({ score: ev.score, labels: ev.labels, judge: ev.judge, judge_ms: ev.judge_ms });
}
