// The store's write side: the database connection and the flush loop. Records wait in a bounded
// queue and are written in one transaction every flushIntervalMs or batchRows rows, on the main
// thread or on the writer thread (writer-thread.ts). A failed write puts its rows back and retries
// after a backoff; a lost handle is reopened. The connection's readers (queries, retention) are
// made here too, because a reopened handle replaces them. Store (store.ts) is the public API on top.
import type { Database as Db } from 'better-sqlite3';
import { join, resolve } from 'node:path';
import type { Logger } from '../log.js';
import { describeError } from './errors.js';
import { DB_FILE, openDatabase, prepareDir, prepareStatements, type Statements } from './open-db.js';
import { StoreQueries } from './queries.js';
import { WriteQueue, type KillRecord, type QueueRecord } from './queue.js';
import { Retention } from './retention.js';
import type { StoreOptions } from './store-options.js';
import { takeBatch, type Taken } from './take-batch.js';
import { WriterThread } from './writer-thread.js';

const RETRY_MAX_MS = 5_000;

export abstract class FlushLoop {
  readonly file: string;
  protected db!: Db;
  protected st!: Statements;
  protected q!: StoreQueries;
  protected retention!: Retention;
  protected readonly queue: WriteQueue;
  private readonly batchRows: number;
  protected readonly log: Logger | undefined;
  protected written = 0;
  protected writeErrors = 0;
  protected degraded: string | null = null;
  private failures = 0;
  private retryAt = 0;
  protected closed = false;
  private flushQueued = false;
  protected readonly thread: WriterThread | null;
  protected inflightHasKills = false;
  /** the batch the writer thread is writing now */
  private inflight: Promise<boolean> | null = null;
  protected inflightBytes = 0;
  protected readonly flushTimer: NodeJS.Timeout;
  private readonly flushSoon = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(protected readonly opts: StoreOptions) {
    this.log = opts.log;
    this.batchRows = opts.batchRows ?? 500;
    this.queue = new WriteQueue(opts.queueMax, opts.queueMaxBytes ?? 32 * 1024 * 1024);
    const dir = resolve(opts.dataDir);
    prepareDir(dir);
    this.file = join(dir, DB_FILE);
    this.connect();
    this.thread = (opts.writer ?? (opts.profile === 'forensics' ? 'worker' : 'main')) === 'worker' ? new WriterThread(this.file) : null;
    this.flushTimer = setInterval(this.flushSoon, opts.flushIntervalMs);
    this.flushTimer.unref();
  }

  protected push(rank: number, r: QueueRecord): void {
    if (this.closed) return;
    this.queue.push(rank, r);
    if (this.queue.depth >= this.batchRows) this.scheduleFlush();
  }

  protected scheduleFlush(): void {
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
      const taken = takeBatch(this.queue, this.batchRows);
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
    const taken = takeBatch(this.queue, this.batchRows);
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

  protected fail(err: unknown): void {
    this.writeErrors++;
    this.failures++;
    const reason = `storage writes failing: ${describeError(err)}`;
    if (this.degraded === null) this.log?.error({ err: describeError(err), file: this.file }, 'storage: write failed; serving on, queueing and counting drops');
    this.degraded = reason;
    const backoff = Math.min(RETRY_MAX_MS, this.opts.flushIntervalMs * 2 ** Math.min(this.failures, 10));
    this.retryAt = Date.now() + backoff;
  }

  protected applyKill(k: KillRecord): void {
    if (k.state === null) this.st.killDel.run(k.id);
    else this.st.killSet.run(k.id, k.state, k.at);
  }

  private connect(): void {
    const db = openDatabase(this.file);
    this.db = db;
    this.st = prepareStatements(db);
    this.q = new StoreQueries(db);
    this.retention = new Retention(db);
  }

  /** After the handle was lost: try once per retry window to open the file again. */
  protected reconnect(force = false): boolean {
    if (!force && Date.now() < this.retryAt) return false;
    try {
      this.connect();
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }
}
