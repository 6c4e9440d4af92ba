import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DB_FILE, StorageError, kDb, kWriterExec, kWriterKill, type Store } from '../../src/storage/index.js';
import { MIGRATIONS } from '../../src/storage/migrations.js';
import { cleanupDirs, open, policy, tempDir } from './helpers.js';

afterEach(cleanupDirs);

function openError(fn: () => Store): StorageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StorageError);
    return err as StorageError;
  }
  throw new Error('expected a StorageError');
}

const count = (s: Store, table = 'events') => (s[kDb].prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('bad data dir and bad files', () => {
  it('refuses a data dir that cannot be created, naming the path', () => {
    const base = tempDir();
    writeFileSync(join(base, 'afile'), 'x');
    const dir = join(base, 'afile', 'data');
    const e = openError(() => open(dir));
    expect(e.code).toBe('data_dir_unusable');
    expect(e.message.startsWith(`${dir}: `)).toBe(true);
    expect(e.message).toMatch(/ENOTDIR|EEXIST/);
  });

  it('refuses a data dir that is a file', () => {
    const base = tempDir();
    const file = join(base, 'afile');
    writeFileSync(file, 'x');
    const e = openError(() => open(file));
    expect(e.code).toBe('data_dir_unusable');
    expect(e.message.startsWith(`${file}: `)).toBe(true);
  });

  it('refuses a corrupt database file with a clear message', () => {
    const dir = tempDir();
    writeFileSync(join(dir, DB_FILE), Buffer.alloc(8192, 0xab));
    const e = openError(() => open(dir));
    expect(e.code).toBe('not_a_database');
    expect(e.message).toBe(`${join(dir, DB_FILE)}: not a usable SQLite database (SQLITE_NOTADB: file is not a database); move it away or choose another --data-dir`);
  });

  it("refuses another program's SQLite file and a newer schema", () => {
    const dir = tempDir();
    const db = new Database(join(dir, DB_FILE));
    db.exec('CREATE TABLE users (id INTEGER)');
    db.close();
    expect(openError(() => open(dir)).code).toBe('foreign_database');

    const dir2 = tempDir();
    open(dir2).close();
    const db2 = new Database(join(dir2, DB_FILE));
    db2.pragma('user_version = 99');
    db2.close();
    const e = openError(() => open(dir2));
    expect(e.code).toBe('schema_too_new');
    expect(e.message).toMatch(/schema version 99/);
  });

  it('reopens its own file without migrating twice', async () => {
    const dir = tempDir();
    await open(dir).close();
    const s = open(dir);
    expect(s[kDb].pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    await s.close();
  });
});

/** Runs SQL on the connection that writes batches: the writer thread's, or the main one. */
async function inject(s: Store, sql: string): Promise<void> {
  const exec = s[kWriterExec];
  if (exec) await exec(sql);
  else s[kDb].exec(sql);
}

const waitFor = async (cond: () => boolean, ms = 3000) => {
  for (let t = 0; t < ms && !cond(); t += 10) await new Promise((r) => setTimeout(r, 10));
};

describe.each(['main', 'worker'] as const)('degraded storage while running (%s writer)', (writer) => {
  it('a full disk degrades health, keeps accepting, counts drops, and recovers', async () => {
    const s = open(tempDir(), { queueMax: 100, flushIntervalMs: 60_000, writer });
    // Cap the file at its current size: the next transaction gets a real SQLITE_FULL.
    const pages = s[kDb].pragma('page_count', { simple: true }) as number;
    await inject(s, `PRAGMA max_page_count = ${pages}`);
    const t = Date.now();
    for (let i = 0; i < 50; i++) s.recordPolicy(policy('s', t + i, 'high', `big${i}`.padEnd(4000, 'x')));
    expect(await s.drain()).toBe(false);
    const h = s.health();
    expect(h.ok).toBe(false);
    expect(h.ok === false && h.reason).toMatch(/SQLITE_FULL/);
    // Still taking records; past the bound the lowest ones go first and are counted.
    for (let i = 0; i < 100; i++) s.recordPolicy(policy('s', t + i, 'low'));
    s.setKill('k', 'killed'); // the direct write is skipped while degraded: queued, never dropped
    const st = s.stats();
    expect(st.queue_depth).toBe(101);
    expect(st.dropped.event_low).toBe(50);
    expect(st.dropped.event_high).toBe(0);
    expect(st.write_errors).toBeGreaterThan(0);
    // the cheap figures the governor and /metrics read agree with stats()
    expect(s.queueDepth).toBe(101);
    expect(s.droppedTotal).toBe(Object.values(st.dropped).reduce((a, b) => a + b, 0));
    expect(s.writtenTotal).toBe(st.written);

    await inject(s, 'PRAGMA max_page_count = 1073741823');
    expect(await s.drain()).toBe(true);
    expect(s.health()).toEqual({ ok: true });
    expect(count(s)).toBe(100);
    expect(s.loadKills()).toEqual([{ id: 'k', state: 'killed', at: expect.any(Number) }]);
    await s.close();
  });

  it('a read-only database degrades and recovers by itself', async () => {
    const s = open(tempDir(), { flushIntervalMs: 10, writer });
    await inject(s, 'PRAGMA query_only = ON');
    s.recordPolicy(policy('s', Date.now()));
    await waitFor(() => !s.health().ok);
    const h = s.health();
    expect(h.ok === false && h.reason).toMatch(/SQLITE_READONLY/);
    await inject(s, 'PRAGMA query_only = OFF');
    // the timer retries by itself after its backoff
    await waitFor(() => s.health().ok);
    expect(s.health()).toEqual({ ok: true });
    await waitFor(() => count(s) === 1);
    expect(count(s)).toBe(1);
    await s.close();
  });

  it('close() gives up on a dead disk instead of hanging', async () => {
    const s = open(tempDir(), { flushIntervalMs: 60_000, writer });
    await inject(s, 'PRAGMA query_only = ON');
    s.recordPolicy(policy('s', Date.now()));
    await s.close();
    expect(s.health().ok).toBe(false);
  });
});

describe('main connection faults', () => {
  it('a handle closed under it is reopened, and a kill written meanwhile is not lost', async () => {
    const s = open(tempDir(), { flushIntervalMs: 60_000, writer: 'main' });
    s[kDb].close();
    s.setKill('k1', 'killed'); // direct write fails → degraded, queued
    expect(s.health().ok).toBe(false);
    s.recordPolicy(policy('s', Date.now()));
    expect(await s.drain()).toBe(true);
    expect(s.health()).toEqual({ ok: true });
    expect(s.loadKills()).toEqual([{ id: 'k1', state: 'killed', at: expect.any(Number) }]);
    expect(count(s)).toBe(1);
    await s.close();
  });

  it('a writer thread that dies is replaced and the batch retried', async () => {
    const s = open(tempDir(), { flushIntervalMs: 60_000, writer: 'worker' });
    s.recordPolicy(policy('s', Date.now()));
    expect(await s.drain()).toBe(true);
    await s[kWriterKill]!();
    s.recordPolicy(policy('s', Date.now()));
    expect(await s.drain()).toBe(true);
    expect(count(s)).toBe(2);
    // dying in the middle of a batch: the batch goes back to the queue and is retried
    s.recordPolicy(policy('s', Date.now()));
    s.flush(true);
    await s[kWriterKill]!();
    // (drain forces the retry that the timer would make after its backoff)
    for (let i = 0; i < 20 && !(await s.drain()); i++) await new Promise((r) => setTimeout(r, 20));
    expect(s.health()).toEqual({ ok: true });
    expect(count(s)).toBeGreaterThanOrEqual(3); // at least once: the thread may have committed before it died
    await s.close();
  });
});

describe('schema migrations', () => {
  it('a version-1 file gains the event detail column and keeps its rows', () => {
    const dir = tempDir();
    const db = new Database(join(dir, DB_FILE));
    db.exec(MIGRATIONS[0]);
    db.pragma('user_version = 1');
    db.pragma('application_id = 1668248164');
    db.prepare("INSERT INTO events (id, kind, session_id, rule, severity, action, direction, excerpt, at) VALUES ('e1', 'policy', 's', 'r', 'low', 'flag', 'request', 'x', ?)").run(Date.now());
    db.close();
    const s = open(dir);
    const cols = s[kDb].prepare('PRAGMA table_info(events)').all() as Array<{ name: string }>;
    expect(cols.map((c) => c.name)).toContain('detail');
    expect((s[kDb].prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(1);
    void s.close();
  });

  it('a version-3 file gains the spend columns; its old summaries read with none spent, new ones keep theirs', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, DB_FILE));
    for (let v = 0; v < 3; v++) db.exec(MIGRATIONS[v]);
    db.pragma('user_version = 3');
    db.pragma('application_id = 1668248164');
    const t = Date.now();
    db.prepare("INSERT INTO sessions (id, state, upstream, client_ip, started_at, last_seen_at, ended_at, requests, bytes_in, bytes_out, flags) VALUES ('old-1', 'completed', NULL, NULL, ?, ?, ?, 2, 10, 20, 0)").run(t - 1000, t - 500, t - 500);
    db.close();
    const s = open(dir);
    expect(s[kDb].pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const [old] = s.history({ session_id: 'old-1' }).sessions;
    expect(old).toMatchObject({ requests: 2, agent: null, team: null, models: [], tokens_in: 0, tokens_out: 0, cost_usd: 0, tokens_estimated: false, tool_calls: 0 });
    s.recordSession({ kind: 'session', type: 'completed', session_id: 'new-1', at: t, summary: {
      id: 'new-1', state: 'completed', upstream: null, client_ip: null, started_at: t - 10, last_seen_at: t, requests: 1, bytes_in: 1, bytes_out: 1, flags: 0,
      agent: 'bot', team: 'ml', models: ['gpt-4o', 'gpt-4o-mini'], tokens_in: 12, tokens_out: 34, cost_usd: 0.000123, tokens_estimated: true, tool_calls: 2,
    } });
    await s.close();
    const again = open(dir);
    expect(again.history({ session_id: 'new-1' }).sessions[0]).toMatchObject({
      agent: 'bot', team: 'ml', models: ['gpt-4o', 'gpt-4o-mini'], tokens_in: 12, tokens_out: 34, cost_usd: 0.000123, tokens_estimated: true, tool_calls: 2,
    });
    await again.close();
  });
});
