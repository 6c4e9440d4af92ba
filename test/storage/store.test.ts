import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { EventBus } from '../../src/events.js';
import { DB_FILE, kDb } from '../../src/storage/index.js';
import { cleanupDirs, completed, open as openWith, policy, tempDir } from './helpers.js';
import type { StoreOptions } from '../../src/storage/index.js';

afterEach(cleanupDirs);
let mode: 'main' | 'worker' = 'main';
const open = (dir: string, over: Partial<StoreOptions> = {}) => openWith(dir, { writer: mode, ...over });

describe.each(['main', 'worker'] as const)('store (%s writer)', (writer) => {
  beforeEach(() => { mode = writer; });
  it('keeps kills across a restart, including one written just before a crash', async () => {
    const dir = tempDir();
    const a = open(dir, { flushIntervalMs: 60_000 });
    a.setKill('s1', 'killed');
    a.setKill('s2', 'terminated');
    a.setKill('s3', 'killed');
    a.setKill('s3', null);
    // A second handle sees the kills although `a` never flushed or closed: they are written at once.
    const b = open(dir);
    expect(b.loadKills().sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 's1', state: 'killed', at: expect.any(Number) }, { id: 's2', state: 'terminated', at: expect.any(Number) },
    ]);
    await b.close();
    await a.close();
    const c = open(dir);
    expect(c.loadKills()).toHaveLength(2);
    await c.close();
  });

  it('stores bus events: policy hits, session summaries, kills and resumes', async () => {
    const dir = tempDir();
    const s = open(dir);
    expect(s.writer).toBe(writer);
    const bus = new EventBus();
    const unsub = s.subscribe(bus);
    const t0 = Date.now() - 10_000;
    bus.publish(policy('sess-a', t0 + 100, 'high', 'secret'));
    bus.publish(policy('sess-a', t0 + 200, 'low', 'noise'));
    bus.publish({ kind: 'session', type: 'killed', session_id: 'sess-a', at: t0 + 300 });
    bus.publish(completed('sess-a', t0, t0 + 1000));
    bus.publish({ kind: 'session', type: 'killed', session_id: 'sess-b', at: t0 + 400 });
    bus.publish({ kind: 'session', type: 'resumed', session_id: 'sess-b', at: t0 + 500 });
    unsub();
    expect(await s.drain()).toBe(true);
    expect(s.loadKills()).toEqual([{ id: 'sess-a', state: 'killed', at: t0 + 300 }]);

    const flagged = s.flagged({ limit: 10 });
    expect(flagged.map((e) => e.rule)).toEqual(['noise', 'secret']);
    expect(Object.keys(flagged[0]).sort()).toEqual(['action', 'at', 'direction', 'excerpt', 'id', 'rule', 'session_id', 'severity']);
    expect(flagged[1].at).toBe(new Date(t0 + 100).toISOString());

    const sess = s.session('sess-a');
    expect(sess).toBeDefined();
    expect(sess!.requests).toBe(3);
    expect(sess!.ended_at).toBe(new Date(t0 + 1000).toISOString());
    expect(sess!.events.map((e) => e.rule)).toEqual(['secret', 'noise', 'session.killed']);
    expect(s.session('nobody')).toBeUndefined();
    expect(s.stats().written).toBeGreaterThanOrEqual(6);
    await s.close();
  });

  it('pages history newest first with a cursor, and filters by session and time', async () => {
    const dir = tempDir();
    const s = open(dir);
    const t0 = Date.now() - 100_000;
    for (let i = 0; i < 25; i++) s.recordSession(completed(`s${i % 5}`, t0 + i * 1000, t0 + i * 1000 + 500));
    // two sessions ending in the same millisecond must both appear exactly once across pages
    s.recordSession(completed('tie-a', t0, t0 + 24_500));
    await s.drain();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = s.history({ limit: 10, cursor });
      pages++;
      for (const x of page.sessions) seen.push(`${x.id}@${x.ended_at}`);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(26);
    expect(new Set(seen).size).toBe(26);
    const times = seen.map((x) => Date.parse(x.split('@')[1]));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const one = s.history({ session_id: 's3' });
    expect(one.sessions).toHaveLength(5);
    expect(one.sessions.every((x) => x.id === 's3')).toBe(true);
    const recent = s.history({ since: t0 + 20_000 });
    expect(recent.sessions).toHaveLength(6); // ends at 20.5..24.5s, plus tie-a
    expect(() => s.history({ cursor: 'garbage!' })).toThrow(/cursor/);
    await s.close();
  });

  it('retention deletes old rows at start in batches without holding the event loop', async () => {
    const dir = tempDir();
    const now = Date.now();
    const old = now - 10 * 86_400_000;
    const a = open(dir, { retentionMs: 365 * 86_400_000 });
    for (let i = 0; i < 1300; i++) a.recordPolicy(policy(`old${i % 7}`, old + i));
    for (let i = 0; i < 20; i++) a.recordPolicy(policy('new', now - i));
    a.recordSession(completed('old', old, old + 10));
    a.recordSession(completed('new', now - 10, now));
    a.setKill('t-old', 'terminated', old);
    a.setKill('k-old', 'killed', old);
    await a.close();

    const b = open(dir, { retentionMs: 7 * 86_400_000 });
    const db = b[kDb];
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    // open() started retention but returned after one batch, not after the whole backlog
    const left = count('SELECT count(*) AS n FROM events');
    expect(left).toBeGreaterThan(20);
    expect(left).toBeLessThan(1320);
    let turns = 0;
    let done = false;
    const tick = (): void => { turns++; if (!done) setImmediate(tick); };
    setImmediate(tick);
    const deleted = await b.runRetention();
    done = true;
    expect(deleted).toBe(1300 + 1 + 1);
    expect(count('SELECT count(*) AS n FROM events')).toBe(20);
    expect(count('SELECT count(*) AS n FROM sessions')).toBe(1);
    // an operator's kill stays until resumed; a rule's termination expires with history
    expect(b.loadKills()).toEqual([{ id: 'k-old', state: 'killed', at: expect.any(Number) }]);
    expect(turns).toBeGreaterThanOrEqual(1); // the loop ran between batches
    await b.close();
  });

  it('close() flushes the whole queue', async () => {
    const dir = tempDir();
    const a = open(dir, { flushIntervalMs: 60_000, batchRows: 500 });
    const t = Date.now();
    for (let i = 0; i < 3000; i++) a.recordPolicy(policy(`s${i}`, t));
    await a.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    expect((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(3000);
    db.close();
  });

  it('streams forensics captures in chunks and pairs request and response', async () => {
    const dir = tempDir();
    const s = open(dir, { profile: 'forensics', flushIntervalMs: 60_000 });
    const req = s.openCapture('sess', 'request')!;
    const res = s.openCapture('sess', 'response', req.requestSeq)!;
    const body = Buffer.alloc(3 * 1024 * 1024, 'x');
    body.write('START', 0);
    body.write('END', body.length - 3);
    req.write(Buffer.from('{"prompt":"hi"}'));
    req.end();
    for (let off = 0; off < body.length; off += 16384) {
      res.write(body.subarray(off, off + 16384));
      if (off % (512 * 1024) === 0) await s.drain(); // several flush windows
    }
    res.end();
    res.write(Buffer.from('ignored after end'));
    await s.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    const rows = db.prepare("SELECT chunk_seq, fin, gap, bytes FROM captures WHERE direction = 'response' ORDER BY chunk_seq").all() as { chunk_seq: number; fin: number; gap: number; bytes: Buffer }[];
    expect(rows.length).toBeGreaterThan(3);
    expect(rows.every((r) => r.bytes.length <= 1024 * 1024)).toBe(true);
    expect(rows.map((r) => r.chunk_seq)).toEqual(rows.map((_, i) => i));
    expect(Buffer.concat(rows.map((r) => r.bytes)).equals(body)).toBe(true);
    expect(rows.at(-1)!.fin).toBe(1);
    expect(rows.some((r) => r.gap)).toBe(false);
    const reqRow = db.prepare("SELECT request_seq, bytes, fin FROM captures WHERE direction = 'request'").all() as { request_seq: number; bytes: Buffer; fin: number }[];
    expect(reqRow).toEqual([{ request_seq: req.requestSeq, bytes: Buffer.from('{"prompt":"hi"}'), fin: 1 }]);
    db.close();

    const std = open(tempDir(), { profile: 'standard' });
    expect(std.openCapture('sess', 'request')).toBeNull();
    await std.close();
  });

  it('request seqs keep increasing across restarts', async () => {
    const dir = tempDir();
    const a = open(dir, { profile: 'forensics' });
    const w = a.openCapture('s', 'request')!;
    w.write(Buffer.from('a'));
    w.end();
    await a.close();
    const b = open(dir, { profile: 'forensics' });
    expect(b.openCapture('s', 'request')!.requestSeq).toBeGreaterThan(w.requestSeq);
    await b.close();
  });
});
