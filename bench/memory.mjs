#!/usr/bin/env node
// Memory benchmark through the real gateway (`node dist/cli.js start`), measured from outside:
//   1. per-session, per-SSE-stream and per-idle-connection bytes, as deltas of the gateway's VmRSS
//      (/proc/PID/status), for each memory profile;
//   2. an overload run under --memory-limit 128MB: slow readers, slow uploads and a burst of new
//      sessions. Targets: peak RSS <= 1.1x the limit, no crash, pressure back to normal within 15s.
//
//   node bench/memory.mjs [--n 20000] [--profiles high-density,standard,forensics]
//                         [--only density|overload] [--out bench/results/memory.md]
//
// Needs `npx tsc -p .` first. Targets 127.0.0.1 only. Each part is bounded in count and time.
// Helpers are exported for bench/soak.mjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
export const MiB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** extra environment for the spawned cordon processes (--env K=V), e.g. NODE_OPTIONS or MALLOC_ARENA_MAX */
export const GATEWAY_ENV = {};

// ── process plumbing ─────────────────────────────────────────────────────────────────────

/**
 * Re-runs this script under a shell that raised `ulimit -n` (to 65535, or to the hard limit when the
 * container forbids more). Returns true in the parent, which should then exit with the child's code.
 */
export async function reexecWithUlimit(script) {
  if (process.env.CORDON_BENCH_ULIMIT === '1') return false;
  const args = [script, ...process.argv.slice(2)].map(shellQuote).join(' ');
  const child = spawn('sh', ['-c', `ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${shellQuote(process.execPath)} --expose-gc ${args}`], {
    stdio: 'inherit', env: { ...process.env, CORDON_BENCH_ULIMIT: '1' },
  });
  const code = await new Promise((r) => child.on('exit', (c, sig) => r(c ?? (sig ? 1 : 0))));
  process.exit(code);
  return true;
}

function shellQuote(s) { return `'${String(s).replace(/'/g, `'\\''`)}'`; }

/** The soft RLIMIT_NOFILE of this process (inherited by what it spawns through the same shell line). */
export function fdLimit() {
  const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? Number(m[1]) : 1024;
}

/** Spawns `node dist/cli.js ...` through a shell that raises ulimit -n, and waits for a JSON log line that has `key`. */
export async function startCli(cliArgs, key, { nodeArgs = [] } = {}) {
  const line = `ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${shellQuote(process.execPath)} ${nodeArgs.map(shellQuote).join(' ')} ${shellQuote(CLI)} ${cliArgs.map(shellQuote).join(' ')}`;
  const proc = spawn('sh', ['-c', line], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...GATEWAY_ENV } });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  let buf = '';
  const found = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${key}" from cordon ${cliArgs[0]}; stderr: ${stderr}`)), 15_000);
    const onData = (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const j = JSON.parse(l);
          if (j[key] !== undefined) {
            clearTimeout(timer);
            // Keep draining stdout (access log) so that the pipe never blocks the gateway.
            proc.stdout.off('data', onData);
            proc.stdout.resume();
            proc.stdout.on('data', () => {});
            resolve(j);
            return;
          }
        } catch { /* not JSON */ }
      }
    };
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', onData);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`cordon ${cliArgs[0]} exited ${code}: ${stderr}`)); });
  });
  proc.removeAllListeners('exit');
  return { proc, log: found, stderr: () => stderr };
}

export async function startMock() {
  const { proc, log } = await startCli(['mock-llm', '--listen', '127.0.0.1:0'], 'listen');
  return { proc, url: `http://${log.listen}` };
}

/** Starts the gateway; `config` (an object) is written as YAML-compatible JSON and passed with --config. */
export async function startGateway({ upstreams, profile = 'standard', memoryLimit = '1GB', config = {}, logLevel = 'info' }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-'));
  const cfgFile = path.join(dir, 'cordon.yaml');
  // JSON is valid YAML.
  writeFileSync(cfgFile, JSON.stringify({ upstream_pool: { connections: 10_000 }, ...config }));
  const args = ['start', '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0', '--config', cfgFile,
    '--data-dir', path.join(dir, 'data'), '--profile', profile, '--memory-limit', memoryLimit, '--log-level', logLevel];
  for (const u of upstreams) args.push('--upstream', u);
  const { proc, log, stderr } = await startCli(args, 'proxy');
  return {
    proc, pid: proc.pid, dir, stderr,
    proxy: `http://${log.proxy}`, control: `http://${log.control}`,
    proxyHost: log.proxy.split(':')[0], proxyPort: Number(log.proxy.split(':').pop()),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGKILL');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function stopProc(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));
}

/** VmRSS (and VmHWM, the peak) of a process, from outside, in bytes. */
export function procMem(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Median of a few VmRSS reads over ~300ms: smooths a GC in progress. */
export async function settledRss(pid, waitMs = 1500) {
  await sleep(waitMs);
  const xs = [];
  for (let i = 0; i < 5; i++) { xs.push(procMem(pid).rss); await sleep(60); }
  xs.sort((a, b) => a - b);
  return xs[2];
}

export async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) return { status: res.status, body: null };
  return { status: res.status, body: await res.json() };
}

// ── traffic ──────────────────────────────────────────────────────────────────────────────

const CHAT = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hello there' }] });
const CHAT_STREAM = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hello there' }] });

/** n non-streamed chat requests, each under its own session ID, `conc` at a time. Returns status counts. */
export async function sessionRequests(base, ids, conc = 64, extraHeaders = {}) {
  const pool = new Pool(base, { connections: conc, pipelining: 1 });
  const counts = {};
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        const r = await pool.request({
          path: '/v1/chat/completions', method: 'POST', body: CHAT,
          headers: { 'content-type': 'application/json', 'x-session-id': id, ...extraHeaders },
        });
        await r.body.dump();
        counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1;
      } catch (err) {
        counts[err.code ?? 'error'] = (counts[err.code ?? 'error'] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
  await pool.close();
  return counts;
}

function rawRequest({ method = 'POST', path: p = '/v1/chat/completions', headers = {}, body = '' }) {
  let head = `${method} ${p} HTTP/1.1\r\nhost: 127.0.0.1\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (body) head += `content-length: ${Buffer.byteLength(body)}\r\n`;
  return `${head}\r\n${body}`;
}

/**
 * Opens `n` sockets to the gateway, sends `request(i)` on each and resolves once each has received its
 * first response bytes containing `until` (or at once if request is null). Keeps them open. `conc` caps
 * the connects in flight. Returns { sockets, opened, failed, statuses }.
 */
export async function openSockets({ host, port, n, conc = 256, request = null, until = '\r\n\r\n', pause = false, timeoutMs = 30_000 }) {
  const sockets = [];
  const statuses = {};
  let opened = 0, failed = 0, next = 0;
  const one = (i) => new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    let got = '';
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      if (ok) { opened++; sockets.push(s); } else { failed++; s.destroy(); }
      if (pause) s.pause();
      resolve();
    };
    const t = setTimeout(() => finish(false), timeoutMs);
    s.on('error', () => finish(false));
    s.on('close', () => finish(false));
    s.on('connect', () => {
      if (!request) return finish(true);
      s.write(rawRequest(request(i)));
    });
    s.on('data', (d) => {
      if (done) return;
      got += d.toString('latin1');
      if (got.length > 64 * 1024) got = got.slice(-1024);
      const st = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (st && got.includes(until)) {
        statuses[st[1]] = (statuses[st[1]] ?? 0) + 1;
        finish(st[1] === '200');
      } else if (st && st[1] !== '200' && got.includes('\r\n\r\n')) {
        statuses[st[1]] = (statuses[st[1]] ?? 0) + 1;
        finish(false);
      }
    });
  });
  const worker = async () => { while (next < n) await one(next++); };
  await Promise.all(Array.from({ length: Math.min(conc, n) }, worker));
  return { sockets, opened, failed, statuses };
}

export function closeSockets(sockets) {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
}

// ── part 1: bytes per session / stream / idle connection ─────────────────────────────────

async function warmUp(gw) {
  await sessionRequests(gw.proxy, Array.from({ length: 400 }, (_, i) => `warm-${i}`), 32);
  const { sockets } = await openSockets({
    host: gw.proxyHost, port: gw.proxyPort, n: 200, conc: 50,
    request: () => ({ headers: { 'content-type': 'application/json', 'x-session-id': 'warm-stream', 'x-mock-deltas': '2', 'x-mock-delay-ms': '10' }, body: CHAT_STREAM }),
    until: '[DONE]',
  });
  closeSockets(sockets);
}

async function heapUsed(gw) {
  const r = await getJson(`${gw.control}/control/stats`);
  return r.body?.memory?.heap_used_bytes ?? NaN;
}

async function measureOne(kind, profile, n, mockUrl) {
  const gw = await startGateway({ upstreams: [mockUrl], profile, logLevel: 'info' });
  try {
    await warmUp(gw);
    const before = await settledRss(gw.pid);
    const heapBefore = await heapUsed(gw);
    const t0 = performance.now();
    let held = [];
    let count = 0;
    let detail = '';
    if (kind === 'session') {
      const counts = await sessionRequests(gw.proxy, Array.from({ length: n }, (_, i) => `bench-session-${i}`), 64);
      count = counts[200] ?? 0;
      detail = JSON.stringify(counts);
    } else if (kind === 'sse_stream') {
      // Streams that stay open: the mock sends the first delta, then waits 10 minutes for the next.
      const r = await openSockets({
        host: gw.proxyHost, port: gw.proxyPort, n, conc: 256,
        request: (i) => ({ headers: { 'content-type': 'application/json', 'x-session-id': `stream-s-${i % 100}`, 'x-mock-deltas': '3', 'x-mock-delay-ms': '600000' }, body: CHAT_STREAM }),
        until: 'data: ',
      });
      held = r.sockets; count = r.opened; detail = JSON.stringify({ ...r.statuses, failed: r.failed });
    } else {
      // Keep-alive connections that made one request and went quiet.
      const r = await openSockets({
        host: gw.proxyHost, port: gw.proxyPort, n, conc: 256,
        request: () => ({ method: 'GET', path: '/v1/models', headers: { 'x-session-id': 'idle-conn' } }),
        until: '}',
      });
      held = r.sockets; count = r.opened; detail = JSON.stringify({ ...r.statuses, failed: r.failed });
    }
    const loadMs = performance.now() - t0;
    const after = await settledRss(gw.pid);
    const heapAfter = await heapUsed(gw);
    const mem = await getJson(`${gw.control}/control/memory`);
    closeSockets(held);
    return {
      kind, profile, n: count, before, after,
      rssPer: count ? (after - before) / count : NaN,
      heapPer: count ? (heapAfter - heapBefore) / count : NaN,
      loadS: loadMs / 1000, detail,
      components: mem.body?.components ?? null,
      alive: gw.proc.exitCode === null,
    };
  } finally {
    await gw.stop();
  }
}

// ── part 2: overload under --memory-limit 128MB ───────────────────────────────────────────

export async function overloadRun({ slowReaders = 400, slowUploads = 1500, burst = 40_000, holdS = 20, limitMb = 128 } = {}) {
  const mock = await startMock();
  const limit = limitMb * MiB;
  const gw = await startGateway({ upstreams: [mock.url], profile: 'standard', memoryLimit: `${limitMb}MB`, logLevel: 'info' });
  const samples = [];
  let peak = 0;
  let pressureSeen = new Set();
  const sampler = setInterval(() => {
    try {
      const { rss } = procMem(gw.pid);
      samples.push([performance.now(), rss]);
      if (rss > peak) peak = rss;
    } catch { /* process gone: recorded as a crash below */ }
  }, 50);
  let atPeak = null;
  const pollPressure = async () => {
    const body = (await getJson(`${gw.control}/control/memory`)).body;
    if (body && (!atPeak || body.rss_bytes > atPeak.rss_bytes)) atPeak = body;
    return body?.pressure ?? null;
  };
  const pressureTimer = setInterval(() => { pollPressure().then((p) => p && pressureSeen.add(p), () => {}); }, 250);
  const startRss = await settledRss(gw.pid, 500);
  const t0 = performance.now();
  const held = [];
  // Slow readers: SSE streams of 12000 one-character deltas (~2MB, more than the socket buffers hold)
  // whose client stops reading (socket paused): the gateway must apply backpressure to the upstream
  // instead of buffering. (The mock prepares each stream's events up front, so their number is kept modest.)
  const readers = openSockets({
    host: gw.proxyHost, port: gw.proxyPort, n: slowReaders, conc: 128, pause: true,
    request: (i) => ({ headers: { 'content-type': 'application/json', 'x-session-id': `slow-r-${i}`, 'x-mock-deltas': '12000', 'x-mock-text': 'x'.repeat(12000) }, body: CHAT_STREAM }),
    until: 'data: ',
  }).then((r) => { held.push(...r.sockets); return r; });
  // Slow uploads: headers promise 1MB, then a few bytes a second.
  const uploads = openSockets({ host: gw.proxyHost, port: gw.proxyPort, n: slowUploads, conc: 256 }).then((r) => {
    for (const [i, s] of r.sockets.entries()) {
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-session-id: slow-u-${i}\r\ncontent-length: 1048576\r\n\r\n{"model":"m","messages":[`);
    }
    held.push(...r.sockets);
    return r;
  });
  const trickle = setInterval(() => { for (const s of held) if (!s.destroyed && s.writable) s.write(' '); }, 1000);
  await Promise.all([readers, uploads]);
  // A burst of new sessions while the slow clients hold on.
  const burstCounts = await sessionRequests(gw.proxy, Array.from({ length: burst }, (_, i) => `burst-${i}`), 512);
  const elapsed = (performance.now() - t0) / 1000;
  if (elapsed < holdS) await sleep((holdS - elapsed) * 1000);
  const r = await readers, u = await uploads;
  // Load ends.
  clearInterval(trickle);
  closeSockets(held);
  const tEnd = performance.now();
  let backToNormalS = null;
  let lastPressure = null;
  const afterEnd = [];
  while ((performance.now() - tEnd) < 30_000) {
    lastPressure = await pollPressure().catch(() => null);
    const rss = procMem(gw.pid).rss;
    const at = (performance.now() - tEnd) / 1000;
    if (afterEnd.length === 0 || at - afterEnd[afterEnd.length - 1][0] >= 1) afterEnd.push([at, rss]);
    const normal = lastPressure !== null ? lastPressure === 'normal' : rss < (0.8 - 0.05) * limit;
    if (normal) { backToNormalS = (performance.now() - tEnd) / 1000; break; }
    await sleep(100);
  }
  clearInterval(sampler);
  clearInterval(pressureTimer);
  const alive = gw.proc.exitCode === null && gw.proc.signalCode === null;
  const health = alive ? (await getJson(`${gw.control}/healthz`)).status : null;
  const mem = alive ? (await getJson(`${gw.control}/control/memory`)).body : null;
  const hwm = alive ? procMem(gw.pid).hwm : NaN;
  const result = {
    limit, startRss, peak, hwm, peakRatio: Math.max(peak, hwm || 0) / limit,
    slowReaders: r.opened, slowUploads: u.opened, readerStatuses: r.statuses, burstCounts,
    backToNormalS, lastPressure, alive, health, pressureSeen: [...pressureSeen], afterEnd,
    atPeak: atPeak && { rss: atPeak.rss_bytes, heap_used: atPeak.heap_used_bytes, heap_total: atPeak.heap_total_bytes, external: atPeak.external_bytes },
    transitions: mem?.transitions ?? null, endRss: mem?.rss_bytes, endHeapUsed: mem?.heap_used_bytes, endHeapTotal: mem?.heap_total_bytes, governor: mem !== null && mem !== undefined,
    stderr: alive ? '' : gw.stderr(),
  };
  await gw.stop();
  await stopProc(mock.proc);
  return result;
}

// ── report ───────────────────────────────────────────────────────────────────────────────

const fmtB = (b) => (Number.isFinite(b) ? `${Math.round(b).toLocaleString('en-US')} B` : 'n/a');
const fmtM = (b) => `${(b / MiB).toFixed(1)} MiB`;

function report(density, overload, opts) {
  const lines = [];
  lines.push(`## ${new Date().toISOString()} — \`node bench/memory.mjs ${process.argv.slice(2).join(' ')}\``, '');
  lines.push(`Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), RLIMIT_NOFILE ${fdLimit()}${Object.keys(GATEWAY_ENV).length ? `, gateway env ${JSON.stringify(GATEWAY_ENV)}` : ''}.`, '');
  if (density.length) {
    lines.push('### Bytes per item through the real gateway (VmRSS delta from outside / n)', '');
    lines.push('| profile | item | n held | RSS before | RSS after | RSS per item | V8 heap per item | load time |');
    lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const d of density) {
      lines.push(`| ${d.profile} | ${d.kind} | ${d.n.toLocaleString('en-US')} | ${fmtM(d.before)} | ${fmtM(d.after)} | ${fmtB(d.rssPer)} | ${fmtB(d.heapPer)} | ${d.loadS.toFixed(1)}s |`);
    }
    lines.push('');
    lines.push('Sizing (items per GiB of RSS above the idle process, one kind at a time):', '');
    lines.push('| profile | sessions / GiB | SSE streams / GiB | idle connections / GiB |');
    lines.push('|---|---:|---:|---:|');
    for (const p of opts.profiles) {
      const per = (k) => { const d = density.find((x) => x.profile === p && x.kind === k); return d && d.rssPer > 0 ? Math.floor((1024 * MiB) / d.rssPer).toLocaleString('en-US') : 'n/a'; };
      lines.push(`| ${p} | ${per('session')} | ${per('sse_stream')} | ${per('idle_connection')} |`);
    }
    lines.push('');
    for (const d of density) lines.push(`- ${d.profile}/${d.kind}: statuses ${d.detail}${d.alive ? '' : ' — GATEWAY DIED'}`);
    lines.push('');
  }
  if (overload) {
    const o = overload;
    const ok = (b) => (b ? 'pass' : '**FAIL**');
    lines.push('### Overload: --memory-limit 128MB, slow readers + slow uploads + a session burst', '');
    lines.push('| measure | value | target | |');
    lines.push('|---|---|---|---|');
    lines.push(`| RSS idle at start | ${fmtM(o.startRss)} | | |`);
    lines.push(`| peak RSS (50ms samples / VmHWM) | ${fmtM(o.peak)} / ${fmtM(o.hwm)} = ${o.peakRatio.toFixed(3)}x limit | <= 1.1x | ${ok(o.peakRatio <= 1.1)} |`);
    lines.push(`| gateway alive, /healthz | ${o.alive} / ${o.health} | alive, 200 | ${ok(o.alive && o.health === 200)} |`);
    lines.push(`| back to normal after load ended | ${o.backToNormalS === null ? 'not within 30s' : `${o.backToNormalS.toFixed(1)}s`} | <= 15s | ${ok(o.backToNormalS !== null && o.backToNormalS <= 15)} |`);
    lines.push(`| slow readers / slow uploads held | ${o.slowReaders} / ${o.slowUploads} | | |`);
    lines.push(`| burst statuses | ${JSON.stringify(o.burstCounts)} | 200 or 503 | |`);
    lines.push(`| pressure levels seen | ${o.pressureSeen.join(', ') || 'n/a (no /control/memory)'} | | |`);
    lines.push(`| transitions | ${o.transitions ? JSON.stringify(o.transitions) : 'n/a'} | | |`);
    if (o.atPeak) lines.push(`| at the highest /control/memory reading | RSS ${fmtM(o.atPeak.rss)}, V8 heap used ${fmtM(o.atPeak.heap_used)} of ${fmtM(o.atPeak.heap_total)}, external ${fmtM(o.atPeak.external)} | | |`);
    if (o.endRss) lines.push(`| at the end | RSS ${fmtM(o.endRss)}, V8 heap used ${fmtM(o.endHeapUsed)} of ${fmtM(o.endHeapTotal)} | | |`);
    if (o.afterEnd?.length) lines.push(`| RSS after the load ended (s: MiB) | ${o.afterEnd.map(([t, r]) => `${t.toFixed(0)}: ${(r / MiB).toFixed(0)}`).join(', ')} | leave warning below ${fmtM((0.8 - 0.05) * o.limit)} | |`);
    lines.push('');
    if (!o.governor) lines.push('/control/memory was not served: the governor is not wired into this build, so pressure was judged from RSS alone.', '');
    if (o.stderr) lines.push('```', o.stderr.trim(), '```', '');
  }
  return lines.join('\n');
}

function parseArgs(argv) {
  const o = { n: 20_000, profiles: ['high-density', 'standard', 'forensics'], only: null, out: path.join(ROOT, 'bench/results/memory.md'), kinds: ['session', 'sse_stream', 'idle_connection'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--profiles') o.profiles = argv[++i].split(',');
    else if (a === '--only') o.only = argv[++i];
    else if (a === '--kinds') o.kinds = argv[++i].split(',');
    else if (a === '--out') o.out = argv[++i];
    else if (a === '--env') { const [k, ...v] = argv[++i].split('='); GATEWAY_ENV[k] = v.join('='); }
    else { console.error(`unknown argument ${a}`); process.exit(2); }
  }
  return o;
}

async function main() {
  if (await reexecWithUlimit(fileURLToPath(import.meta.url))) return;
  const opts = parseArgs(process.argv.slice(2));
  const limit = fdLimit();
  // Each held stream costs the gateway two descriptors (client and upstream), an idle connection one.
  const room = limit - 300;
  const nFor = (kind) => (kind === 'sse_stream' ? Math.min(opts.n, Math.floor(room / 2)) : kind === 'idle_connection' ? Math.min(opts.n, room) : opts.n);
  if (room < opts.n) console.error(`note: RLIMIT_NOFILE is ${limit} (the hard limit here); concurrent items are capped to fit it`);
  const density = [];
  let overload = null;
  if (opts.only !== 'overload') {
    const mock = await startMock();
    try {
      for (const profile of opts.profiles) {
        for (const kind of opts.kinds) {
          const r = await measureOne(kind, profile, nFor(kind), mock.url);
          console.error(`${profile} ${kind}: n=${r.n} ${fmtB(r.rssPer)}/item RSS, ${fmtB(r.heapPer)}/item heap (${r.detail})`);
          density.push(r);
        }
      }
    } finally {
      await stopProc(mock.proc);
    }
  }
  if (opts.only !== 'density') {
    overload = await overloadRun();
    console.error(`overload: ${JSON.stringify(overload)}`);
  }
  const text = report(density, overload, opts);
  process.stdout.write(`${text}\n`);
  if (opts.out) appendFileSync(opts.out, `${text}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => { console.error(err); process.exit(1); });
}
