// The batch writer on a worker thread (measured in bench/results/storage.md: at 20k events/s it
// takes the main thread's event-loop load from ~21% to ~3%, and SQLite's checkpoint fsyncs off
// the loop that serves requests). The thread owns its own connection to the same WAL file; the
// main thread keeps one for reads and for kills, which must be on disk before a kill is answered.
// The thread's code is plain JS text (with writeBatch's own source) so it runs the same from
// src/ under the test runner and from dist/.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { SQL, writeBatch, type WireBatch } from './sql.js';

const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const writeBatch = ${writeBatch.toString()};
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
const SQL = workerData.sql;
const s = {};
for (const k of Object.keys(SQL)) s[k] = db.prepare(SQL[k]);
const write = db.transaction((b) => writeBatch(s, b));
parentPort.on('message', (m) => {
  try {
    if (m.t === 'batch') parentPort.postMessage({ ok: true, n: write(m.b) });
    else if (m.t === 'exec') { db.exec(m.sql); parentPort.postMessage({ ok: true, n: 0 }); }
    else if (m.t === 'close') {
      try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch {}
      db.close();
      parentPort.postMessage({ ok: true, n: 0 });
    }
  } catch (err) {
    parentPort.postMessage({ ok: false, code: typeof err.code === 'string' ? err.code : undefined, message: String(err && err.message || err) });
  }
});
`;

interface Reply { ok: boolean; n: number; code?: string; message?: string }

export class WriterThread {
  private worker: Worker | null = null;
  private pending: { resolve: (n: number) => void; reject: (e: Error) => void } | null = null;
  private readonly sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');

  constructor(private readonly file: string) {}

  /** Writes one batch in one transaction on the thread. One call at a time. */
  write(b: WireBatch): Promise<number> {
    return this.send({ t: 'batch', b });
  }

  /** Runs SQL on the thread's connection (fault-injection tests: PRAGMA query_only, max_page_count). */
  exec(sql: string): Promise<number> {
    return this.send({ t: 'exec', sql });
  }

  /** Ends the thread at once, as a crash would (tests); the next write starts a new one. */
  async terminate(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  async close(): Promise<void> {
    if (!this.worker) return;
    try {
      await this.send({ t: 'close' });
    } catch { /* closing anyway */ }
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  private send(msg: unknown): Promise<number> {
    if (this.pending) return Promise.reject(new Error('storage writer thread is busy'));
    const w = this.worker ?? this.spawn();
    // Referenced only while a reply is awaited: an idle thread must not keep the process alive,
    // a pending batch must (a script that awaits close() would otherwise exit mid-write).
    w.ref();
    return new Promise<number>((resolve, reject) => {
      this.pending = { resolve, reject };
      w.postMessage(msg);
    });
  }

  private spawn(): Worker {
    const w = new Worker(THREAD_SOURCE, { eval: true, workerData: { file: this.file, sqlite: this.sqlitePath, sql: SQL } });
    w.on('message', (r: Reply) => {
      w.unref();
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      if (r.ok) p.resolve(r.n);
      else p.reject(Object.assign(new Error(r.message ?? 'write failed'), { code: r.code }));
    });
    const dead = (why: string) => {
      if (this.worker === w) this.worker = null;
      const p = this.pending;
      this.pending = null;
      p?.reject(Object.assign(new Error(`storage writer thread ${why}`), { code: 'WRITER_THREAD_EXIT' }));
    };
    w.on('error', (err) => dead(`failed: ${err.message}`));
    w.on('exit', (code) => dead(`exited with code ${code}`));
    this.worker = w;
    return w;
  }
}
