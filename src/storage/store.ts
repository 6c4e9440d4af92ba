// The embedded store: one SQLite file (WAL, synchronous=NORMAL) behind a bounded write queue that
// is flushed in one transaction every flushIntervalMs or batchRows rows. Producers only push to
// the queue and return; nothing on the request path waits for the disk. Kills are the exception:
// they are written at once (one small row) because a kill must survive a restart.
// The transaction runs on the main thread or on a writer thread (writer-thread.ts); which one is
// the `writer` option, measured in bench/results/storage.md.
import Database from 'better-sqlite3';
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Profile } from '../config/schema.js';
import type { Direction, EventBus, GatewayEvent, PolicyEvent, SessionEvent } from '../events.js';
import type { Logger } from '../log.js';
import { CaptureWriter } from './capture.js';
import { StorageError, describeError } from './errors.js';
import { migrate } from './migrations.js';
import { StoreQueries, type EndedSession, type FlaggedEvent, type HistoryPage, type HistoryQuery } from './queries.js';
import {
  KILL_RANK, RANKS, SEVERITY_RANK, WriteQueue,
  type ChunkRecord, type KillRecord, type QueueRecord, type RankName,
} from './queue.js';
import { Retention } from './retention.js';
import { SQL, writeBatch, type CaptureRowWire, type WireBatch } from './sql.js';
import { WriterThread } from './writer-thread.js';

export interface StoreOptions {
  dataDir: string;
  /** rows older than this are deleted (at start and every retentionIntervalMs) */
  retentionMs: number;
  flushIntervalMs: number;
  /** most records the queue holds before it starts dropping the lowest-value ones */
  queueMax: number;
  profile: Profile;
  log?: Logger;
  /** byte bound of the queue (capture chunks dominate); default 32MiB */
  queueMaxBytes?: number;
  /** a flush starts early at this depth, and one transaction writes at most this many rows; default 500 (about 5ms of main-thread work per transaction, bench/results/storage.md) */
  batchRows?: number;
  /** default: a tenth of the retention, between 1s and 10min */
  retentionIntervalMs?: number;
  /**
   * Where the batch transaction runs. Default: 'worker' for the forensics profile (capture bytes
   * would otherwise cost the serving loop most of a core at tens of MiB/s), 'main' otherwise.
   */
  writer?: 'main' | 'worker';
}

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

export const DB_FILE = 'cordon.db';
const CAPTURE_ROW_MAX = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const RETRY_MAX_MS = 5_000;

/** The database handle, for tests that inject faults (e.g. PRAGMA max_page_count for a full disk). */
export const kDb = Symbol('cordon.storage.db');

/** Runs SQL on the writer thread's connection, for fault-injection tests (undefined for the main-thread writer). */
export const kWriterExec = Symbol('cordon.storage.writerExec');
export const kWriterKill = Symbol('cordon.storage.writerKill');

interface Statements {
  event: Statement;
  session: Statement;
  killSet: Statement;
  killDel: Statement;
  killAll: Statement;
  chunk: Statement;
  maxReq: Statement;
  write: Transaction<(batch: WireBatch) => number>;
}

/** A batch on its way to disk: the records taken out of the queue, and what they become. */
interface Taken {
  records: QueueRecord[][];
  wire: WireBatch;
  /** capture writers and their row seq before this batch, to rewind if it fails */
  rewind: Map<CaptureWriter, { seq: number; gap: boolean }>;
}

/**
 * Opens (creating if needed) DIR/cordon.db, applies migrations and starts the writer and the
 * retention timer. Throws StorageError (`<path>: <reason>`) for an unusable dir or a bad file.
 */
export function openStore(opts: StoreOptions): Store {
  return new Store(opts);
}

export class Store {
  readonly file: string;
  private db!: Db;
  private st!: Statements;
  private q!: StoreQueries;
  private retention!: Retention;
  private readonly queue: WriteQueue;
  private readonly batchRows: number;
  private readonly log: Logger | undefined;
  private readonly captureOn: boolean;
  private written = 0;
  private writeErrors = 0;
  private degraded: string | null = null;
  private failures = 0;
  private retryAt = 0;
  private closed = false;
  private flushQueued = false;
  private readonly thread: WriterThread | null;
  private inflightHasKills = false;
  /** the batch the writer thread is writing now */
  private inflight: Promise<boolean> | null = null;
  private inflightBytes = 0;
  private nextRequestSeq = 1;
  private retentionRunning: Promise<number> | null = null;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout;
  private readonly flushSoon = (): void => {
    this.flushQueued = false;
    this.flush();
  };
  private readonly onEvent = (ev: GatewayEvent): void => {
    if (ev.kind === 'policy') this.recordPolicy(ev);
    else this.recordSession(ev);
  };

  constructor(private readonly opts: StoreOptions) {
    this.log = opts.log;
    this.batchRows = opts.batchRows ?? 500;
    this.captureOn = opts.profile === 'forensics';
    this.queue = new WriteQueue(opts.queueMax, opts.queueMaxBytes ?? 32 * 1024 * 1024);
    const dir = resolve(opts.dataDir);
    prepareDir(dir);
    this.file = join(dir, DB_FILE);
    this.connect();
    this.thread = (opts.writer ?? (this.captureOn ? 'worker' : 'main')) === 'worker' ? new WriterThread(this.file) : null;
    this.nextRequestSeq = ((this.st.maxReq.get() as { m: number | null }).m ?? 0) + 1;
    this.flushTimer = setInterval(this.flushSoon, opts.flushIntervalMs);
    this.flushTimer.unref();
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
      action: ev.action, direction: ev.direction, excerpt: ev.excerpt, at: ev.at,
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
        });
        return;
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
      rule: `session.${ev.type}`, severity: ev.type === 'resumed' ? 'low' : 'high', action: ev.type,
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

  /** Kill states to restore at start. */
  loadKills(): { id: string; state: KillState }[] {
    return this.st.killAll.all() as { id: string; state: KillState }[];
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

  private push(rank: number, r: QueueRecord): void {
    if (this.closed) return;
    this.queue.push(rank, r);
    if (this.queue.depth >= this.batchRows) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(this.flushSoon);
  }

  /**
   * Writes up to batchRows queued rows in one transaction, highest value first. On failure the
   * rows go back to the queue and are retried after a backoff, while the queue keeps taking (and,
   * when full, dropping) records. With the main-thread writer this completes before it returns;
   * with the writer thread it starts the write. Returns true when the queue is empty and nothing
   * is being written.
   */
  flush(force = false): boolean {
    if (this.inflight || (this.closed && !force)) return false;
    if (this.queue.depth === 0) return true;
    if (!force && Date.now() < this.retryAt) return false;
    if (this.thread) {
      const taken = this.take();
      this.inflightBytes = taken.records.reduce((n, rs) => n + rs.length, 0) * 64 + taken.wire.captures.reduce((n, c) => n + c.bytes.length, 0);
      this.inflightHasKills = taken.wire.kills.length > 0;
      this.inflight = this.thread.write(taken.wire).then(
        (n) => this.written_(n),
        (err: unknown) => this.failed(taken, err),
      ).finally(() => {
        this.inflight = null;
        this.inflightBytes = 0;
        this.inflightHasKills = false;
        if (this.queue.depth > 0 && this.degraded === null) this.scheduleFlush();
      });
      return false;
    }
    if (!this.db.open && !this.reconnect(force)) return false;
    const taken = this.take();
    try {
      this.written_(this.st.write(taken.wire));
    } catch (err) {
      return this.failed(taken, err);
    }
    if (this.queue.depth > 0) this.scheduleFlush();
    return this.queue.depth === 0;
  }

  /** Flushes until the queue is empty (true) or a write fails (false). */
  async drain(): Promise<boolean> {
    for (;;) {
      if (this.inflight && !(await this.inflight)) return false;
      if (this.queue.depth === 0) return true;
      const empty = this.flush(true);
      if (!this.inflight && !empty && this.degraded !== null) return false;
    }
  }

  private written_(n: number): boolean {
    this.written += n;
    if (this.degraded !== null) {
      this.log?.info({ after_failures: this.failures }, 'storage: writes succeed again');
      this.degraded = null;
    }
    this.failures = 0;
    this.retryAt = 0;
    return true;
  }

  private failed(taken: Taken, err: unknown): false {
    for (const [w, r] of taken.rewind) {
      w.rowSeq = r.seq;
      if (r.gap) w.gap = true;
    }
    this.queue.restore(taken.records);
    this.fail(err);
    return false;
  }

  private take(): Taken {
    const counts = RANKS.map(() => 0);
    let room = this.batchRows;
    // Highest value first, so that under a backlog kills and critical events land before captures.
    for (let rank = KILL_RANK; rank >= 0 && room > 0; rank--) {
      counts[rank] = Math.min(this.queue.buckets[rank].length, room);
      room -= counts[rank];
    }
    const records = this.queue.take(counts);
    const wire: WireBatch = { kills: [], sessions: [], events: [], captures: [] };
    for (let rank = KILL_RANK; rank > 0; rank--) {
      for (const r of records[rank]) {
        if (r.t === 'kill') wire.kills.push(r);
        else if (r.t === 'session') wire.sessions.push(r);
        else if (r.t === 'event') wire.events.push(r);
      }
    }
    const rewind = new Map<CaptureWriter, { seq: number; gap: boolean }>();
    if (records[0].length > 0) this.mergeChunks(records[0] as ChunkRecord[], wire.captures, rewind);
    return { records, wire, rewind };
  }

  /** Chunks of one body that arrived within this flush window become one row (up to 1MiB). */
  private mergeChunks(chunks: ChunkRecord[], out: CaptureRowWire[], rewind: Map<CaptureWriter, { seq: number; gap: boolean }>): void {
    const open = new Map<CaptureWriter, { row: CaptureRowWire; bufs: Buffer[]; size: number }>();
    const done = (o: { row: CaptureRowWire; bufs: Buffer[]; size: number }) => {
      o.row.bytes = o.bufs.length === 1 ? o.bufs[0] : Buffer.concat(o.bufs, o.size);
    };
    for (const r of chunks) {
      const w = r.owner as CaptureWriter;
      let o = open.get(w);
      if (o && r.bytes && o.size + r.bytes.length > CAPTURE_ROW_MAX) {
        done(o);
        open.delete(w);
        o = undefined;
      }
      if (!o) {
        if (!rewind.has(w)) rewind.set(w, { seq: w.rowSeq, gap: w.gap });
        o = {
          row: { session_id: w.sessionId, request_seq: w.requestSeq, direction: w.direction, chunk_seq: w.rowSeq++, gap: w.gap ? 1 : 0, fin: 0, at: r.at, bytes: EMPTY },
          bufs: [], size: 0,
        };
        w.gap = false;
        open.set(w, o);
        out.push(o.row);
      }
      if (r.bytes) {
        o.bufs.push(r.bytes);
        o.size += r.bytes.length;
      }
      if (r.fin) o.row.fin = 1;
    }
    for (const o of open.values()) done(o);
  }

  private fail(err: unknown): void {
    this.writeErrors++;
    this.failures++;
    const reason = `storage writes failing: ${describeError(err)}`;
    if (this.degraded === null) this.log?.error({ err: describeError(err), file: this.file }, 'storage: write failed; serving on, queueing and counting drops');
    this.degraded = reason;
    const backoff = Math.min(RETRY_MAX_MS, this.opts.flushIntervalMs * 2 ** Math.min(this.failures, 10));
    this.retryAt = Date.now() + backoff;
  }

  private applyKill(k: KillRecord): void {
    if (k.state === null) this.st.killDel.run(k.id);
    else this.st.killSet.run(k.id, k.state, k.at);
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
  }

  private connect(): void {
    const file = this.file;
    let db: Db;
    try {
      db = new Database(file);
    } catch (err) {
      throw new StorageError('open_failed', file, `cannot open database (${describeError(err)})`);
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = OFF');
      migrate(db, file);
    } catch (err) {
      db.close();
      if (err instanceof StorageError) throw err;
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new StorageError('not_a_database', file, `not a usable SQLite database (${describeError(err)}); move it away or choose another --data-dir`);
      }
      throw new StorageError('open_failed', file, `cannot open database (${describeError(err)})`);
    }
    this.db = db;
    this.st = prepareStatements(db);
    this.q = new StoreQueries(db);
    this.retention = new Retention(db);
  }

  /** After the handle was lost: try once per retry window to open the file again. */
  private reconnect(force = false): boolean {
    if (!force && Date.now() < this.retryAt) return false;
    try {
      this.connect();
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
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

function prepareDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StorageError('data_dir_unusable', dir, `cannot create data directory (${describeError(err)})`);
  }
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new StorageError('data_dir_unusable', dir, `data directory is not writable (${describeError(err)})`);
  }
}

function prepareStatements(db: Db): Statements {
  const event = db.prepare(SQL.event);
  const session = db.prepare(SQL.session);
  const killSet = db.prepare(SQL.killSet);
  const killDel = db.prepare(SQL.killDel);
  const chunk = db.prepare(SQL.chunk);
  const killAll = db.prepare('SELECT id, state FROM kills');
  const maxReq = db.prepare('SELECT max(request_seq) AS m FROM captures');
  const s = { event, session, killSet, killDel, chunk };
  const write = db.transaction((b: WireBatch): number => writeBatch(s, b));
  return { event, session, killSet, killDel, killAll, chunk, maxReq, write };
}
