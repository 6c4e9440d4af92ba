// After a SIGKILL, at most the last flush window of records may be lost: everything enqueued
// more than one flush interval (plus scheduling slack on a loaded box) before the kill is on disk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupDirs, open, tempDir } from './helpers.js';
import { kDb } from '../../src/storage/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// Inside the repo so that the child resolves better-sqlite3 from node_modules (.tmp is ignored).
const build = join(root, '.tmp', `storage-child-${process.pid}`);
const FLUSH_MS = 50;
const SLACK_MS = 250;

beforeAll(() => {
  mkdirSync(build, { recursive: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--outDir', build, '--rootDir', join(root, 'src'),
    '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--skipLibCheck', '--esModuleInterop',
    join(root, 'src/storage/index.ts')], { stdio: 'pipe' });
  writeFileSync(join(build, 'child.mjs'), `
import { openStore } from './storage/index.js';
const s = openStore({ dataDir: process.argv[2], retentionMs: 86400000, flushIntervalMs: ${FLUSH_MS}, queueMax: 1000000, profile: 'standard', writer: process.argv[3] });
s.setKill('victim', 'killed');
let i = 0;
setInterval(() => {
  const at = Date.now();
  for (let k = 0; k < 20; k++) {
    i++;
    s.recordPolicy({ kind: 'policy', id: 'e' + i, session_id: 's', rule: 'r', severity: 'high', action: 'flag', direction: 'request', excerpt: 'x', at });
  }
  process.stdout.write(i + ' ' + at + '\\n');
}, 2);
`);
}, 60_000);

afterAll(() => {
  rmSync(build, { recursive: true, force: true });
  cleanupDirs();
});

describe.each(['main', 'worker'])('SIGKILL loss bound (%s writer)', (writer) => {
  it('loses at most the last flush window', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [join(build, 'child.mjs'), dir, writer], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: [number, number][] = [];
    let buf = '';
    let killedAt = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [i, at] = buf.slice(0, nl).split(' ').map(Number);
        buf = buf.slice(nl + 1);
        lines.push([i, at]);
      }
      if (!killedAt && lines.length > 0 && lines[lines.length - 1][0] >= 4000) {
        killedAt = Date.now();
        child.kill('SIGKILL');
      }
    });
    const code = await new Promise<string | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    expect(code).toBe('SIGKILL');

    const s = open(dir);
    const db = s[kDb];
    const { n, maxAt } = db.prepare("SELECT count(*) AS n, max(at) AS maxAt FROM events WHERE session_id = 's' AND rule != 'session.completed'").get() as { n: number; maxAt: number };
    const maxId = (db.prepare("SELECT max(CAST(substr(id, 2) AS INTEGER)) AS m FROM events WHERE session_id = 's' AND rule != 'session.completed'").get() as { m: number }).m;
    // the unclean stop left session 's' without a summary: reopening rebuilt one from its events (rebuild.ts)
    expect(db.prepare("SELECT count(*) AS n FROM sessions WHERE id = 's'").get()).toEqual({ n: 1 });
    // what reached the disk is a prefix: no holes
    expect(maxId).toBe(n);
    // everything enqueued well before the kill is there
    const mustHave = lines.filter(([, at]) => at <= killedAt - FLUSH_MS - SLACK_MS).at(-1)?.[0] ?? 0;
    expect(mustHave).toBeGreaterThan(1000);
    expect(n).toBeGreaterThanOrEqual(mustHave);
    expect(killedAt - maxAt).toBeLessThanOrEqual(FLUSH_MS + SLACK_MS);
    expect(s.loadKills()).toEqual([{ id: 'victim', state: 'killed', at: expect.any(Number) }]);
    await s.close();
  });
});
