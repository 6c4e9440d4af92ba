// WebSocket relay benchmark (npm run bench:ws). One run measures, on 127.0.0.1:
//  1. idle memory: N concurrent proxied connections (client ↔ relay ↔ ws echo upstream), ΔRSS of
//     the relay process per connection (both legs), cordon's relay versus a plain `ws` relay;
//  2. messages/s and p99 round-trip latency for 1KB text frames: direct to the echo server,
//     through cordon's relay, through the `ws` relay.
// Every role runs in its own process, spawned under `ulimit -n 65535` (or the hard limit when the
// container does not allow raising it; N is then cut to what the relay's descriptors allow).
//
//   node --expose-gc bench/ws.mjs [--conns 10000] [--seconds 3] [--rounds 3] [--out bench/results/ws.md]
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const role = args.get('role') ?? 'main';

// ---------------------------------------------------------------- roles run in child processes

function send(m) { process.send?.(m); }

function memReport(extra = {}) {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const mu = process.memoryUsage();
  send({ rss: mu.rss, heapUsed: mu.heapUsed, external: mu.external, arrayBuffers: mu.arrayBuffers, ...extra });
}

/** The upstream: a ws echo server. */
function roleEcho() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, backlog: 4096 });
  wss.on('connection', (ws) => ws.on('message', (d, binary) => ws.send(d, { binary })));
  wss.on('listening', () => send({ ready: true, port: wss.address().port }));
}

/** The baseline: a plain relay built on `ws`, server side and client side, as one would write it. */
function roleWsRelay() {
  const upstream = args.get('upstream');
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  let count = 0;
  const server = createServer((_q, r) => r.end());
  server.on('upgrade', (req, socket, head) => {
    const up = new WebSocket(upstream + req.url, { perMessageDeflate: false });
    up.on('error', () => socket.destroy());
    up.once('open', () => {
      wss.handleUpgrade(req, socket, head, (down) => {
        count++;
        down.on('message', (d, binary) => up.send(d, { binary }));
        up.on('message', (d, binary) => down.send(d, { binary }));
        down.on('close', () => { count--; up.close(); });
        up.on('close', () => down.close());
        down.on('error', () => up.terminate());
      });
    });
  });
  server.listen(0, '127.0.0.1', () => send({ ready: true, port: server.address().port }));
  process.on('message', (m) => { if (m.cmd === 'mem') memReport({ count }); });
}

/** Opens `n` idle connections to `url`, 256 handshakes at a time; closes them on request. */
function roleIdleClients() {
  const url = args.get('url');
  const n = Number(args.get('n'));
  const socks = [];
  let opened = 0, failed = 0, started = 0, inflight = 0;
  const t0 = Date.now();
  const pump = () => {
    while (inflight < 256 && started < n) {
      started++;
      inflight++;
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('open', () => { inflight--; opened++; socks.push(ws); done(); pump(); });
      ws.once('error', () => { inflight--; failed++; done(); pump(); });
    }
  };
  const done = () => { if (opened + failed === n) send({ opened, failed, ms: Date.now() - t0 }); };
  process.on('message', (m) => {
    if (m.cmd === 'close') {
      for (const s of socks) s.terminate();
      setTimeout(() => send({ closed: true }), 500);
    }
  });
  pump();
}

/** K connections, each keeping W 1KB text messages in flight for D seconds; round-trip latencies. */
async function roleLoad() {
  const url = args.get('url');
  const k = Number(args.get('k') ?? 32), w = Number(args.get('w') ?? 4), secs = Number(args.get('seconds') ?? 5);
  const payload = 'a'.repeat(1024);
  const lat = [];
  let total = 0, stop = false, measuring = false;
  const conns = await Promise.all(Array.from({ length: k }, () => new Promise((res, rej) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  })));
  for (const ws of conns) {
    const sent = [];
    ws.on('message', () => {
      const t = sent.shift();
      if (measuring) { lat.push(performance.now() - t); total++; }
      if (!stop) { sent.push(performance.now()); ws.send(payload); }
    });
    for (let i = 0; i < w; i++) { sent.push(performance.now()); ws.send(payload); }
  }
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, secs * 1000));
  measuring = false;
  const el = (performance.now() - t0) / 1000;
  stop = true;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  send({ rate: total / el, p50: q(0.5), p99: q(0.99), n: total });
  for (const ws of conns) ws.terminate();
}

// ---------------------------------------------------------------- orchestration

function spawnRole(script, roleArgs, { gc = false } = {}) {
  const cmd = `ulimit -n 65535 2>/dev/null || ulimit -n $(ulimit -Hn); exec ${JSON.stringify(process.execPath)} ${gc ? '--expose-gc ' : ''}${JSON.stringify(script)} ${roleArgs.map((a) => JSON.stringify(String(a))).join(' ')}`;
  const child = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue = [];
  const waiting = [];
  child.on('message', (m) => { const w = waiting.shift(); if (w) w(m); else queue.push(m); });
  child.next = () => new Promise((r) => { const m = queue.shift(); if (m) r(m); else waiting.push(r); });
  child.ask = (m) => { child.send(m); return child.next(); };
  return child;
}

const self = fileURLToPath(import.meta.url);
const harness = join(here, 'ws-relay-harness.mjs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function fdLimit() {
  const c = spawn('sh', ['-c', 'ulimit -n 65535 2>/dev/null || ulimit -n $(ulimit -Hn); ulimit -n'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  await new Promise((r) => c.on('close', r));
  return Number(out.trim());
}

async function idleRun(name, relay, relayUrl, n) {
  // warm up code paths and pools so that the baseline is not charged for them
  const warm = spawnRole(self, ['--role', 'idle', '--url', relayUrl, '--n', 200]);
  await warm.next();
  await warm.ask({ cmd: 'close' });
  warm.kill();
  await sleep(500);
  const before = await relay.ask({ cmd: 'mem' });
  const clients = spawnRole(self, ['--role', 'idle', '--url', relayUrl, '--n', n]);
  const opened = await clients.next();
  await sleep(2000);
  const after = await relay.ask({ cmd: 'mem' });
  const open = after.count;
  await clients.ask({ cmd: 'close' });
  clients.kill();
  return {
    name, n, opened: opened.opened, failed: opened.failed, open, setupMs: opened.ms,
    rssPer: (after.rss - before.rss) / open, heapPer: (after.heapUsed - before.heapUsed) / open,
    extPer: (after.external - before.external) / open, accountedPer: after.accounted !== undefined ? after.accounted / open : NaN,
  };
}

async function loadRun(name, url, secs) {
  const c = spawnRole(self, ['--role', 'load', '--url', url, '--k', 32, '--w', 4, '--seconds', secs]);
  const r = await c.next();
  c.kill();
  return { name, ...r };
}

async function main() {
  const load0 = (await import('node:os')).loadavg()[0];
  const limit = await fdLimit();
  const want = Number(args.get('conns') ?? 10_000);
  const n = Math.min(want, Math.floor((limit - 200) / 2));
  const secs = Number(args.get('seconds') ?? 3);
  const rounds = Number(args.get('rounds') ?? 3);
  const out = args.get('out') ?? join(here, 'results', 'ws.md');
  console.log(`fd limit ${limit}: ${n} connections (asked ${want}); load ${secs}s per target`);

  const echo = spawnRole(self, ['--role', 'echo']);
  const echoPort = (await echo.next()).port;
  const echoUrl = `ws://127.0.0.1:${echoPort}`;

  const cordon = spawnRole(harness, ['--upstream', echoUrl], { gc: true });
  const cordonUrl = `ws://127.0.0.1:${(await cordon.next()).port}`;
  const wsRelay = spawnRole(self, ['--role', 'wsrelay', '--upstream', echoUrl], { gc: true });
  const wsRelayUrl = `ws://127.0.0.1:${(await wsRelay.next()).port}`;

  const idle = [];
  idle.push(await idleRun('cordon relay', cordon, cordonUrl, n));
  console.log(idle.at(-1));
  await sleep(1000);
  idle.push(await idleRun('plain ws relay', wsRelay, wsRelayUrl, n));
  console.log(idle.at(-1));

  // The three targets take turns, `rounds` times, and each reports its median round: the box is
  // shared and noisy, and interleaving keeps a burst of outside load from landing on one target.
  const targets = [['direct (no relay)', echoUrl], ['cordon relay', cordonUrl], ['plain ws relay', wsRelayUrl]];
  const runs = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let t = 0; t < targets.length; t++) {
      const r = await loadRun(targets[t][0], targets[t][1], secs);
      runs[t].push(r);
      console.log(round, r);
    }
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const load = targets.map(([name], t) => ({
    name, rate: median(runs[t].map((r) => r.rate)), p50: median(runs[t].map((r) => r.p50)), p99: median(runs[t].map((r) => r.p99)),
    rates: runs[t].map((r) => Math.round(r.rate)),
  }));
  for (const c of [echo, cordon, wsRelay]) c.kill();

  const kb = (b) => (b / 1024).toFixed(2);
  const direct = load[0];
  let md = `# WebSocket relay benchmark\n\n`;
  md += `- date: ${new Date().toISOString()}\n- command: \`npm run bench:ws\` (= \`npm run build && node --expose-gc bench/ws.mjs\`)\n`;
  const os = await import('node:os');
  md += `- node ${process.version}, ${os.cpus().length} shared cores, loopback; fd limit ${limit} (hard), so ${n} connections\n`;
  md += `- load average at start / end: ${load0.toFixed(1)} / ${os.loadavg()[0].toFixed(1)} (other work on the box; ratios are from the same run)\n\n`;
  md += `## Idle memory: ${n} concurrent proxied connections (client ↔ relay ↔ ws echo), relay process\n\n`;
  md += `| relay | open | ΔRSS / conn (KB) | Δheap / conn (KB) | Δexternal / conn (KB) | self-accounted / conn (KB) | setup (ms) |\n|---|---|---|---|---|---|---|\n`;
  for (const r of idle) md += `| ${r.name} | ${r.open} | **${kb(r.rssPer)}** | ${kb(r.heapPer)} | ${kb(r.extPer)} | ${Number.isNaN(r.accountedPer) ? '–' : kb(r.accountedPer)} | ${r.setupMs} |\n`;
  md += `\nRatio cordon / ws relay (ΔRSS per connection): ${(idle[0].rssPer / idle[1].rssPer).toFixed(2)}\n\n`;
  md += `## 1KB text frames: 32 connections × 4 in flight, round trip through the echo; ${rounds} interleaved rounds of ${secs}s, medians\n\n`;
  md += `| target | messages/s | vs direct | p50 (ms) | p99 (ms) | each round (msg/s) |\n|---|---|---|---|---|---|\n`;
  for (const r of load) md += `| ${r.name} | ${Math.round(r.rate)} | ${(r.rate / direct.rate).toFixed(2)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.rates.join(', ')} |\n`;
  md += `\ncordon's relay parses every frame, validates UTF-8 and runs a stub literal inspector on each text message in both directions; the plain ws relay decodes and re-encodes messages without inspection.\n`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  console.log(md);
  process.exit(0);
}

const roles = { main, echo: roleEcho, wsrelay: roleWsRelay, idle: roleIdleClients, load: roleLoad };
roles[role]();
