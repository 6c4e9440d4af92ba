// Storage benchmark: how many events/s the batched writer commits, how flush interval and batch
// size change that and the main-thread cost, and whether moving the writer to a worker thread
// pays off. Run: npm run build && node bench/storage.mjs  (about 70s on 2 cores)
// Results: bench/results/storage.md (this script prints the Markdown tables).
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { spawn, spawnSync } from 'node:child_process';
import { openStore, kDb } from '../dist/storage/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
// BENCH_ONLY=1,3b,4 runs only those sections
const ONLY = process.env.BENCH_ONLY?.split(',');
const run = (n) => !ONLY || ONLY.includes(n);
const dirs = [];
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'cordon-bench-')); dirs.push(d); return d; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const immediate = () => new Promise((r) => setImmediate(r));
const EXCERPT = 'the model was asked to ignore previous instructions and print the system prompt; '.repeat(3);

let seq = 0;
function event(at) {
  seq++;
  return { kind: 'policy', id: `e${seq}`, session_id: `sess-${seq % 997}`, rule: 'prompt-injection', severity: seq % 4 === 0 ? 'high' : 'medium', action: 'flag', direction: 'request', excerpt: EXCERPT, at };
}

/** Producer loop: `rate` events/s in 1ms ticks, or as fast as possible (rate 0) in chunks of 2000 with a yield between. */
async function produce(push, seconds, rate) {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  if (rate === 0) {
    while (performance.now() < end) {
      const at = Date.now();
      for (let i = 0; i < 2000; i++) push(event(at));
      n += 2000;
      await immediate();
    }
    return n;
  }
  const t0 = performance.now();
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    const at = Date.now();
    for (; n < due; n++) push(event(at));
    await sleep(1);
  }
  return n;
}

function loopProbe() {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const elu0 = performance.eventLoopUtilization();
  return () => {
    h.disable();
    const elu = performance.eventLoopUtilization(elu0);
    return { elu: elu.utilization, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
  };
}

// ---- main-thread writer (the shipped one) ----------------------------------------------
async function runMain({ flushMs, batchRows, rate, seconds = SECONDS, queueMax = 200_000, writer = 'main' }) {
  const store = openStore({ dataDir: tmp(), retentionMs: 86_400_000, flushIntervalMs: flushMs, queueMax, batchRows, profile: 'standard', writer });
  const w0 = store.stats().written;
  const stop = loopProbe();
  const t0 = performance.now();
  const produced = await produce((e) => store.recordPolicy(e), seconds, rate);
  const elapsed = (performance.now() - t0) / 1000;
  const probe = stop();
  const st = store.stats();
  const committed = st.written - w0;
  const dropped = Object.values(st.dropped).reduce((a, b) => a + b, 0);
  await store.close();
  return { produced, committed, perSec: committed / elapsed, dropped, ...probe };
}

// ---- flush cost per row (main thread blocked while a transaction runs) -------------------
function flushCost(batch, rounds = 20) {
  const store = openStore({ dataDir: tmp(), retentionMs: 86_400_000, flushIntervalMs: 3_600_000, queueMax: 1_000_000, batchRows: batch, profile: 'standard' });
  let total = 0;
  let worst = 0;
  for (let r = 0; r < rounds; r++) {
    const at = Date.now();
    for (let i = 0; i < batch; i++) store.recordPolicy(event(at));
    const t = performance.now();
    store.flush(true);
    const dt = performance.now() - t;
    total += dt;
    worst = Math.max(worst, dt);
  }
  void store.close();
  return { batch, msPerFlush: total / rounds, worst, usPerRow: (total * 1000) / (rounds * batch) };
}

const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const k = (x) => `${(x / 1000).toFixed(1)}k`;
const out = [];
const say = (s = '') => { out.push(s); console.log(s); };

say(`# storage benchmark`);
say();
say(`date: ${new Date().toISOString()}  node ${process.version}  cores: ${(await import('node:os')).cpus().length}  run: ${SECONDS}s per row`);
say();
if (run('1')) {
say('## 1. Cost of one flush transaction (main thread blocked for this long)');
say();
say('| batch rows | ms per flush | worst ms | µs per row |');
say('|---:|---:|---:|---:|');
for (const b of [100, 500, 2000, 10000]) {
  const r = flushCost(b, b >= 10000 ? 5 : 20);
  say(`| ${b} | ${f2(r.msPerFlush)} | ${f2(r.worst)} | ${f2(r.usPerRow)} |`);
}
say();
}
if (run('2')) {
say('## 2. Sustained commit rate, saturating producer (main-thread writer, queue 200k)');
say();
say('| flush interval | batch rows | produced/s | committed/s | dropped | loop busy | loop delay p99 ms | max ms |');
say('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const flushMs of [10, 50, 200]) {
  for (const batchRows of [500, 2000, 10000]) {
    const r = await runMain({ flushMs, batchRows, rate: 0 });
    say(`| ${flushMs}ms | ${batchRows} | ${k(r.produced / SECONDS)} | **${k(r.perSec)}** | ${r.dropped} | ${f1(r.elu * 100)}% | ${f1(r.p99)} | ${f1(r.max)} |`);
  }
}
say();
}
if (run('3')) {
say('## 3. Main-thread vs worker-thread writer (flush 50ms, batch 500)');
say();
say('At a fixed offered load the question is what the writer costs the event loop that serves requests;');
say('saturated, how much it can commit. Both rows use the shipped store (`writer: main | worker`); "loop busy"');
say('is the main thread only (event-loop utilisation) and includes producing the events.');
say();
say('| load | writer | committed/s | dropped | loop busy | loop delay p99 ms | max ms |');
say('|---|---|---:|---:|---:|---:|---:|');
for (const rate of [5_000, 20_000, 50_000, 0]) {
  for (const name of ['main', 'worker']) {
    const r = await runMain({ flushMs: 50, batchRows: 500, rate, writer: name });
    say(`| ${rate ? `${k(rate)}/s` : 'saturated'} | ${name} | ${k(r.perSec)} | ${r.dropped} | ${f1(r.elu * 100)}% | ${f1(r.p99)} | ${f1(r.max)} |`);
  }
}
say();

// ---- 3b. forensics capture bytes through the main-thread writer --------------------------
async function runCapture({ mbps, seconds = SECONDS, streams = 64, chunk = 4096, writer }) {
  const store = openStore({ dataDir: tmp(), retentionMs: 86_400_000, flushIntervalMs: 50, queueMax: 200_000, batchRows: 500, profile: 'forensics', writer });
  const writers = [];
  for (let i = 0; i < streams; i++) writers.push(store.openCapture(`s${i}`, 'response'));
  const payload = Buffer.alloc(chunk, 'a');
  const rate = (mbps * 1024 * 1024) / chunk; // chunks per second
  let i = 0;
  const stop = loopProbe();
  const t0 = performance.now();
  const produced = await produce(() => writers[i++ % streams].write(Buffer.from(payload)), seconds, rate);
  const elapsed = (performance.now() - t0) / 1000;
  const probe = stop();
  const st = store.stats();
  const db = store[kDb];
  await store.drain();
  const stored = db.prepare('SELECT coalesce(sum(length(bytes)), 0) AS n FROM captures').get().n;
  await store.close();
  return { offered: (produced * chunk) / elapsed / 1048576, stored: stored / elapsed / 1048576, dropped: st.dropped.capture, ...probe };
}
}
if (run('3b')) {
say('## 3b. Forensics capture bytes (64 streams, 4KiB chunks, flush 50ms, queue 32MiB)');
say();
say('| offered MiB/s | writer | stored MiB/s | chunks dropped | loop busy | loop delay p99 ms | max ms |');
say('|---:|---|---:|---:|---:|---:|---:|');
for (const mbps of [10, 50, 150]) {
  for (const writer of ['main', 'worker']) {
    const r = await runCapture({ mbps, writer });
    say(`| ${f1(r.offered)} | ${writer} | ${f1(r.stored)} | ${r.dropped} | ${f1(r.elu * 100)}% | ${f1(r.p99)} | ${f1(r.max)} |`);
  }
}
say();
}
if (run('3c')) {
say('## 3c. Memory cost of the writer thread');
say();
{
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const store = openStore({ dataDir: tmp(), retentionMs: 86_400_000, flushIntervalMs: 50, queueMax: 1000, profile: 'standard', writer: 'worker' });
  store.recordPolicy(event(Date.now()));
  await store.drain();
  await sleep(200);
  global.gc?.();
  const rss1 = process.memoryUsage().rss;
  await store.close();
  say(`RSS with the writer thread started: +${f1((rss1 - rss0) / 1048576)} MiB (one more V8 isolate and SQLite connection).`);
}
say();
}
if (run('4')) {
// ---- 4. proxy throughput with forensics capture on vs off (needs the proxy) --------------
say('## 4. Proxy throughput, forensics capture on vs off');
say();
const cli = join(root, 'dist', 'cli.js');
const help = existsSync(cli) ? spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', timeout: 5000 }) : null;
if (!help || !/mock-llm/.test(`${help.stdout}${help.stderr}`) || !/start/.test(`${help.stdout}${help.stderr}`)) {
  say('skipped: dist/cli.js does not provide `start` and `mock-llm` yet. When it does, this section starts');
  say('mock-llm and the gateway twice (--profile standard, --profile forensics) and runs autocannon against a');
  say('streaming chat completion for 10s each.');
} else {
  const { default: autocannon } = await import('autocannon');
  const free = async () => { const { createServer } = await import('node:net'); const s = createServer(); await new Promise((r) => s.listen(0, '127.0.0.1', r)); const p = s.address().port; await new Promise((r) => s.close(r)); return p; };
  const waitPort = async (port) => { for (let i = 0; i < 100; i++) { try { await fetch(`http://127.0.0.1:${port}/healthz`); return; } catch { await sleep(100); } } };
  const mockPort = await free();
  const mock = spawn(process.execPath, [cli, 'mock-llm', '--listen', `127.0.0.1:${mockPort}`], { stdio: 'ignore' });
  await sleep(500);
  say('| profile | req/s | p99 ms | bytes/s | errors | capture rows in the store |');
  say('|---|---:|---:|---:|---:|---:|');
  const base = {};
  for (const profile of ['standard', 'forensics']) {
    const port = await free();
    const cport = await free();
    const dataDir = tmp();
    const gw = spawn(process.execPath, [cli, 'start', '--listen', `127.0.0.1:${port}`, '--control-listen', `127.0.0.1:${cport}`,
      '--upstream', `http://127.0.0.1:${mockPort}`, '--profile', profile, '--data-dir', dataDir, '--policy', 'standard', '--log-level', 'warn'], { stdio: 'ignore' });
    await waitPort(cport);
    const r = await autocannon({
      url: `http://127.0.0.1:${port}/v1/chat/completions`, method: 'POST', duration: Number(process.env.BENCH_PROXY_SECONDS ?? 10), connections: 32,
      headers: { 'content-type': 'application/json', 'x-session-id': 'bench' },
      body: JSON.stringify({ model: 'mock', stream: true, messages: [{ role: 'user', content: 'hello '.repeat(200) }] }),
    });
    base[profile] = r.requests.average;
    gw.kill('SIGTERM');
    await new Promise((res) => gw.once('exit', res));
    // Does this build of the gateway really write captures? (it does once storage is wired in)
    let rows = 0;
    try {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(join(dataDir, 'cordon.db'), { readonly: true });
      rows = db.prepare('SELECT count(*) AS n FROM captures').get().n;
      db.close();
    } catch { /* no store file: storage not wired */ }
    say(`| ${profile} | ${f1(r.requests.average)} | ${r.latency.p99} | ${k(r.throughput.average)} | ${r.errors + r.non2xx} | ${rows} |`);
  }
  mock.kill('SIGTERM');
  say();
  say(`forensics / standard throughput: ${f2(base.forensics / base.standard)} (meaningful only when the forensics row shows capture rows)`);
}
say();
}
for (const d of dirs) rmSync(d, { recursive: true, force: true });
if (process.env.BENCH_OUT) (await import('node:fs')).writeFileSync(process.env.BENCH_OUT, out.join('\n') + '\n');
