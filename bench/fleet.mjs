// Fleet benchmark: kill propagation latency between two processes, Redis memory per session,
// counter write-behind throughput, and the hot-path cost of record()/killState() against the
// in-process LocalFleet measured in the same run. Spawns its own redis-server on a free port.
//   npm run build && node bench/fleet.mjs [--out bench/results/fleet.md]
// Proxy throughput with fleet on vs off needs the gateway (see the marked section in the output).
import { spawn, fork } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createClient } from 'redis';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { start, stop, waitForPort, wrk, pinTree, cpuMsOf } from './lib.mjs';
import { RedisFleet } from '../dist/fleet/redis.js';
import { LocalFleet } from '../dist/fleet/local.js';


/** Instance B in its own process: reports the moment each kill arrives. */
async function childB(url, prefix) {
  const b = new RedisFleet({ url, instanceId: 'B', prefix });
  b.onKill((id, state) => {
    if (state === 'killed') process.send({ id, t: performance.timeOrigin + performance.now() });
  });
  await b.start();
  process.send({ ready: true });
  process.on('message', async (m) => {
    if (m === 'exit') { await b.close(); process.exit(0); }
  });
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise((r) => { const s = connect(port, '127.0.0.1'); s.once('connect', () => { s.destroy(); r(true); }); s.once('error', () => r(false)); });
    if (ok) return { proc, url: `redis://127.0.0.1:${port}` };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('redis-server did not start');
}

/**
 * Fleet off vs on through the real gateway: the fixed-reply upstream (bench/fixtures/upstream.mjs),
 * two gateways started once (`--policy off`, one of them with `--redis`), wrk rotating 1,000 session
 * IDs. With PIN (default; `--no-pin` to turn off) both gateways run on core 1 and wrk, the upstream and
 * redis-server on core 0: the gateway is the bottleneck and its req/s is its own cost (Redis runs on
 * another box in production, so its CPU is not the gateway's). Pairs alternate off/on and on/off,
 * each timed run follows a 1s warm-up, and the loss is the median of the per-pair ratios.
 */
async function proxyThroughput(redisUrl, rows, log, { pairs = 8, seconds = 4, pin = true } = {}) {
  const cli = new URL('../dist/cli.js', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'cordon-bench-fleet-'));
  const procs = [];
  try {
    const upPort = await freePort();
    const up = await start(process.execPath, [new URL('./fixtures/upstream.mjs', import.meta.url).pathname, String(upPort)], { ready: 'upstream ready' });
    procs.push(up);
    const gateway = async (name, extra) => {
      const [p, c] = [await freePort(), await freePort()];
      const child = await start(process.execPath, [cli, 'start', '--listen', `127.0.0.1:${p}`, '--control-listen', `127.0.0.1:${c}`,
        '--upstream', `http://127.0.0.1:${upPort}`, '--data-dir', join(dir, name), '--policy', 'off', '--log-level', 'warn', ...extra]);
      procs.push(child);
      await waitForPort(c);
      return { name, port: p, pid: child.pid };
    };
    const off = await gateway('off', []);
    const on = await gateway('on', ['--redis', redisUrl]);
    if (pin) {
      const redisPid = Number(/process_id:(\d+)/.exec(execFileSync('redis-cli', ['-u', redisUrl, 'INFO', 'server'], { encoding: 'utf8' }))?.[1]);
      const ok = pinTree(process.pid, '0') && pinTree(up.pid, '0') && (!redisPid || pinTree(redisPid, '0')) && pinTree(off.pid, '1') && pinTree(on.pid, '1');
      if (!ok) { log('--pin: taskset failed; running unpinned'); pin = false; }
    }
    const lua = 'local n = 0\nrequest = function()\n  n = n + 1\n  wrk.headers["x-session-id"] = "bench-" .. (n % 1000)\n  return wrk.format()\nend';
    const load = (g, secs) => wrk(`http://127.0.0.1:${g.port}/v1/chat/completions`, { connections: 32, seconds: secs, lua, cpus: pin ? '0' : null });
    load(off, 2); load(on, 2);
    const res = { off: [], on: [] };
    for (let i = 0; i < pairs; i++) {
      for (const g of (i % 2 === 0 ? [off, on] : [on, off])) {
        load(g, 1);
        const c0 = cpuMsOf(g.pid);
        const r = load(g, seconds);
        const cpuUs = ((cpuMsOf(g.pid) - c0) * 1000) / (r.rps * seconds);
        res[g.name].push({ rps: r.rps, p99: r.p99, cpuUs, errors: r.non2xx + (r.socketErrors ? 1 : 0) });
      }
    }
    const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
    const change = res.on.map((x, i) => x.rps / res.off[i].rps - 1);
    rows.push([`proxy req/s, fleet off (baseline), median of ${pairs}×${seconds}s`, `${fmt(med(res.off.map((x) => x.rps)), 0)} (p99 ${fmt(med(res.off.map((x) => x.p99)), 1)} ms)`, '']);
    rows.push([`proxy req/s, fleet on (--redis), median of ${pairs}×${seconds}s`, `${fmt(med(res.on.map((x) => x.rps)), 0)} (p99 ${fmt(med(res.on.map((x) => x.p99)), 1)} ms)`, '']);
    rows.push([`proxy throughput change with fleet on (median of per-pair ratios${pin ? ', gateway pinned to its own core' : ', unpinned'})`, `${fmt(med(change) * 100, 1)}%`, '≥ -10%']);
    const cpuChange = res.on.map((x, i) => x.cpuUs / res.off[i].cpuUs - 1);
    rows.push(['gateway CPU per request, fleet off → on (median)', `${fmt(med(res.off.map((x) => x.cpuUs)), 1)} → ${fmt(med(res.on.map((x) => x.cpuUs)), 1)} µs (${fmt(med(cpuChange) * 100, 1)}%)`, '']);
    log(`proxy pairs (req/s): off ${res.off.map((x) => fmt(x.rps, 0)).join(', ')}; on ${res.on.map((x) => fmt(x.rps, 0)).join(', ')}; change per pair ${change.map((x) => fmt(x * 100, 1)).join(', ')}%; errors+non-2xx: ${[...res.off, ...res.on].map((x) => x.errors).join(', ')}`);
  } finally {
    for (const p of procs) await stop(p);
  }
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };
const fmt = (n, d = 2) => Number(n).toFixed(d);
const uuid = (i) => `sess-${i.toString(16).padStart(8, '0')}-7b4d-4e5f-9a0b-1c2d3e4f5a6b`;

async function main() {
  const loadStart = loadavg().map((x) => x.toFixed(1)).join(' ');
  const outIdx = process.argv.indexOf('--out');
  const out = outIdx > 0 ? process.argv[outIdx + 1] : null;
  const { proc, url } = await startRedis();
  const rows = [];
  const lines = [];
  const log = (s) => { console.log(s); lines.push(s); };
  try {
    const raw = createClient({ url, RESP: 2 });
    await raw.connect();

    // 1. kill propagation latency, A (this process) -> B (child process), 100 kills one at a time
    {
      const prefix = 'kp:';
      const a = new RedisFleet({ url, instanceId: 'A', prefix });
      await a.start();
      const child = fork(new URL(import.meta.url).pathname, ['--child-b', url, prefix], { stdio: 'inherit' });
      const arrivals = new Map();
      let waiter = null;
      child.on('message', (m) => { if (m.id) { arrivals.set(m.id, m.t); if (waiter && waiter.id === m.id) waiter.done(); } if (m.ready && waiter) waiter.done(); });
      await new Promise((r) => { waiter = { id: null, done: r }; });
      const lat = [];
      for (let i = 0; i < 100; i++) {
        const id = `kill-${i}`;
        const seen = new Promise((r) => { waiter = { id, done: r }; });
        const t0 = performance.timeOrigin + performance.now();
        await a.kill(id);
        await Promise.race([seen, new Promise((r) => setTimeout(r, 1000))]);
        const t = arrivals.get(id);
        lat.push(t === undefined ? 1000 : t - t0);
        await new Promise((r) => setTimeout(r, 5));
      }
      child.send('exit');
      await a.close();
      rows.push(['kill propagation A→B (2 processes), p50', `${fmt(pct(lat, 50))} ms`, '≤ 250 ms']);
      rows.push(['kill propagation A→B, p99', `${fmt(pct(lat, 99))} ms`, '≤ 250 ms']);
      rows.push(['kill propagation A→B, max', `${fmt(Math.max(...lat))} ms`, '']);
    }

    // 2. Redis memory per session, 10K sessions with 45-character IDs, default prefix and TTL
    {
      await raw.sendCommand(['FLUSHALL']);
      const info = async () => Number(/used_memory:(\d+)/.exec(await raw.sendCommand(['INFO', 'memory']))[1]);
      const f = new RedisFleet({ url, instanceId: 'host-01:12345' });
      await f.start();
      await f.flush();
      const before = await info();
      const N = 10_000;
      for (let i = 0; i < N; i++) f.record(uuid(i), 3, 4_096, 120_000, 1_500, Date.now());
      await f.flush();
      const after = await info();
      let usage = 0;
      for (let i = 0; i < 200; i++) usage += Number(await raw.sendCommand(['MEMORY', 'USAGE', `cordon:s:${uuid(i * 50)}`, 'SAMPLES', '0']));
      const fields = await raw.sendCommand(['HGETALL', `cordon:s:${uuid(0)}`]);
      await f.close();
      rows.push(['Redis memory per session, INFO used_memory delta / 10K', `${fmt((after - before) / N, 1)} B`, '≤ 200 B']);
      rows.push(['Redis memory per session, MEMORY USAGE (mean of 200)', `${fmt(usage / 200, 1)} B`, '≤ 200 B']);
      log(`session hash (${uuid(0).length}-char ID): ${JSON.stringify(fields)}`);
    }

    // 3. counter write-behind: 1M record() calls over 10K sessions, flushed every 100ms
    {
      await raw.sendCommand(['FLUSHALL']);
      const f = new RedisFleet({ url, instanceId: 'flush', prefix: 'fl:' });
      await f.start();
      const N = 1_000_000;
      const S = 10_000;
      const ids = Array.from({ length: S }, (_, i) => uuid(i));
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        f.record(ids[i % S], 1, 100, 1000, 10, Date.now());
        if ((i & 0x3fff) === 0) await new Promise((r) => setImmediate(r));
      }
      const tRec = performance.now();
      await f.flush();
      const t1 = performance.now();
      const st = f.stats();
      let total = 0;
      for (let i = 0; i < S; i += 500) total += Number(await raw.sendCommand(['HGET', `fl:s:${ids[i]}`, 'r']));
      rows.push(['write-behind: 1M increments over 10K sessions, end to end', `${fmt(N / ((t1 - t0) / 1000) / 1e6, 2)} M increments/s`, '']);
      rows.push(['write-behind: final flush of 10K pending sessions', `${fmt(t1 - tRec, 1)} ms (${fmt(S / ((t1 - tRec) / 1000) / 1000, 0)}K sessions/s)`, '']);
      rows.push(['write-behind: flush batches sent / errors', `${st.flushes} / ${st.flush_errors}`, '']);
      log(`check: sampled sessions hold ${total} requests, expected ${(S / 500) * (N / S)}`);
      await f.close();
    }

    // 4. hot path: record() + killState() per request, LocalFleet (baseline) vs RedisFleet, same run
    {
      const local = new LocalFleet({ instanceId: 'L' });
      await local.start();
      const red = new RedisFleet({ url, instanceId: 'R', prefix: 'hp:', flushIntervalMs: 100 });
      await red.start();
      const ids = Array.from({ length: 10_000 }, (_, i) => uuid(i));
      const run = async (f) => {
        const N = 2_000_000;
        let k = 0;
        const t0 = performance.now();
        for (let i = 0; i < N; i++) {
          const id = ids[i % 10_000];
          if (f.killState(id) === null) f.record(id, 1, 200, 2000, 50, 1_700_000_000_000);
          else k++;
          if ((i & 0xffff) === 0) await new Promise((r) => setImmediate(r));
        }
        return ((performance.now() - t0) * 1e6) / N + k * 0;
      };
      await run(local); await run(red); // warm up
      const nsLocal = await run(local);
      const nsRedis = await run(red);
      await red.flush();
      await red.close();
      await local.close();
      rows.push(['hot path killState()+record(), LocalFleet (baseline)', `${fmt(nsLocal, 0)} ns/request`, '']);
      rows.push(['hot path killState()+record(), RedisFleet', `${fmt(nsRedis, 0)} ns/request (×${fmt(nsRedis / nsLocal, 2)} of local)`, 'no Redis round trip']);
    }

    // 5. distributed rate limit: one Redis round trip per decision (only for metric rules)
    {
      const a = new RedisFleet({ url, instanceId: 'RL', prefix: 'rl:' });
      await a.start();
      const N = 20_000;
      let t0 = performance.now();
      for (let i = 0; i < N; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => a.rateLimit(`k${(i + j) % 1000}`, 1e9, 60_000)));
      const rps = N / ((performance.now() - t0) / 1000);
      const lat = [];
      for (let i = 0; i < 2000; i++) { t0 = performance.now(); await a.rateLimit('lat', 1e9, 60_000); lat.push(performance.now() - t0); }
      await a.close();
      rows.push(['rateLimit() decisions, 100 concurrent', `${fmt(rps / 1000, 1)}K/s`, '']);
      rows.push(['rateLimit() latency, sequential p50 / p99', `${fmt(pct(lat, 50), 3)} / ${fmt(pct(lat, 99), 3)} ms`, '']);
    }
    // 6. proxy throughput, fleet off vs on (needs the gateway to wire src/fleet)
    await proxyThroughput(url, rows, log, { pin: !process.argv.includes('--no-pin') });
    raw.destroy();
  } finally {
    proc.kill('SIGKILL');
  }

  const table = ['| measure | result | target |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  console.log(table);
  if (out) {
    const md = [
      '# Fleet benchmark',
      '',
      `Date: ${new Date().toISOString()}  `,
      `Command: \`npm run build && node bench/fleet.mjs --out ${out}\`  `,
      `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, redis-server spawned locally (no persistence). Load average at the start / end of the run: ${loadStart} / ${loadavg().map((x) => x.toFixed(1)).join(' ')} (other work shares this box; compare rows within one run only).`,
      '',
      table,
      '',
      ...lines.map((l) => `- ${l}`),
      '',
      '## How to read it',
      '',
      '- Kill propagation is measured between two processes on this box: A runs `kill()` (Lua: store + PUBLISH), B\'s subscriber applies it and calls its `onKill` listener; the figure is listener time minus call time. Within one process (the test suite) it is the same path.',
      '- Memory per session: the INFO delta is the honest figure (key, dict entries, hash-table buckets); MEMORY USAGE counts only the key and its value. Session hashes carry no per-key TTL (an expire costs ~50B per key, measured with redis-cli on the same 10K 6-field hashes: 224B with TTL vs 179B without); a sweeper holding a lock deletes stale ones in bounded SCAN steps instead. The figure grows with the session ID length (41 characters here; an ID may have up to 128).',
      '- Write-behind: `record()` only adds to a local Map; one Lua call per 500 sessions applies the deltas, at most once (a per-process sequence number), every 100ms in rows 3-4 (the class default; the gateway uses `fleet.flush_interval`, 1s by default).',
      '- The hot-path rows are `killState()` + `record()` per simulated request, LocalFleet measured in the same run as the baseline; neither touches the network.',
      '',
      '## Proxy throughput with fleet on vs off (target ≤ 10% loss)',
      '',
      'The fixed-reply upstream of bench:proxy and two gateways (`--policy off --log-level warn`, one with `--redis` and the default `fleet.flush_interval` of 1s), both started once; wrk, 32 connections, rotating 1,000 session IDs (`x-session-id`), non-streaming chat completions. By default the gateways run on core 1 and wrk, the upstream and redis-server on core 0 (`taskset`), so that each gateway is the bottleneck and its req/s measures its own cost; unpinned (`--no-pin`), four busy processes share two cores and the ratio mostly measures the scheduler. Pairs alternate the order (off/on, on/off), a 1s warm-up precedes each timed run, and the loss is the median of the per-pair ratios. The per-request fleet cost is the hot-path row above (no network round trip); a Redis round trip per request is added only for sessions under a metric rule (not enabled here).',
'',
      '## `--workers N` (node:cluster) on this 2-core box',
      '',
      'Measured by `npm run bench:workers` (bench/results/workers.md): with one worker per core the gateway served 0.85× the req/s of a single process (wrk, the upstream and the workers share the 2 cores, and each worker adds its own session table, heap and Redis connections), so `--workers` was not kept. The fleet layer would make it possible: each worker would be one instance agreeing with the others through Redis.',
'',
    ].join('\n');
    writeFileSync(out, md);
  }
}

const role = process.argv[2];
if (role === '--child-b') await childB(process.argv[3], process.argv[4]);
else await main();
