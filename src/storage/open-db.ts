// Opening the database file: the data directory is checked first, then the file is opened with
// the connection settings (WAL, synchronous=NORMAL) and migrated, and the statements the store
// writes with are prepared once. Every failure is a StorageError naming the path at fault.
import Database from 'better-sqlite3';
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StorageError, describeError } from './errors.js';
import { migrate } from './migrations.js';
import { SQL, writeBatch, type WireBatch } from './sql.js';

export const DB_FILE = 'cordon.db';

export interface Statements {
  event: Statement;
  session: Statement;
  killSet: Statement;
  killDel: Statement;
  killAll: Statement;
  chunk: Statement;
  maxReq: Statement;
  write: Transaction<(batch: WireBatch) => number>;
}

/** Opens and migrates FILE; throws StorageError (`not_a_database`, `open_failed`, or a migration's). */
export function openDatabase(file: string): Db {
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
  return db;
}

/**
 * `mkdir -p` one level at a time. Node's `mkdirSync(dir, { recursive: true })` never returns for a
 * path under /proc (it retries the parent forever), so `--data-dir /proc/x` hung the start silently.
 */
function mkdirParents(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export function prepareDir(dir: string): void {
  try {
    mkdirParents(dir);
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

export function prepareStatements(db: Db): Statements {
  const event = db.prepare(SQL.event);
  const session = db.prepare(SQL.session);
  const killSet = db.prepare(SQL.killSet);
  const killDel = db.prepare(SQL.killDel);
  const chunk = db.prepare(SQL.chunk);
  const killAll = db.prepare('SELECT id, state, at FROM kills');
  const maxReq = db.prepare('SELECT max(request_seq) AS m FROM captures');
  const s = { event, session, killSet, killDel, chunk };
  const write = db.transaction((b: WireBatch): number => writeBatch(s, b));
  return { event, session, killSet, killDel, killAll, chunk, maxReq, write };
}
