// bench:profile — where cordon's time per proxied request goes (issue 21), by phase of the
// exchange, plus syscalls and garbage collections per request. Runs one cordon against the fixed-reply
// upstream of bench:proxy, loads it with wrk (50 connections, the bench:proxy body), and reports:
//   --cpu      a CPU profile (node --cpu-prof), each sample given to the innermost phase on its stack;
//              µs/request are the phase's share of the CPU time per request measured from /proc
//   --strace   syscalls per request (strace -c -f, attached during the run)
//   --gc       scavenges and mark-compacts per 1,000 requests and their pauses (--trace-gc), at 1 connection
//   --alloc    heap bytes allocated per request by allocation site (V8's sampling heap profiler over the
//              inspector, collected objects included: what the scavenges have to clear)
// Usage: node bench/profile.mjs [--cpu] [--strace] [--gc] [--policy standard] [--seconds 6]
//          [--connections 50] [--cli dist/cli.js] [--node-flags "--max-semi-space-size=2"] [--session-header]
// With none of --cpu/--strace/--gc/--alloc, all four. PHASE_DETAIL=1 also prints the functions with the
// most self time and their phase; ALLOC_STACKS=1 shows allocation sites with three callers. The proxy is pinned to core 1 and wrk + upstream to
// core 0, as in bench:proxy --pin. A shared box moves the absolute figures; the shares move less.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CLI, ROOT, freePort, start, stop, waitForPort, wrk, pinTree, cpuMsOf, fmt, table } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 && i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[i + 1] : dflt; };
const has = (name) => argv.includes(`--${name}`);
const POLICY = opt('policy', 'standard');
const SECONDS = Number(opt('seconds', '6'));
const CONNS = Number(opt('connections', '50'));
const CLI_PATH = resolve(opt('cli', CLI));
const NODE_FLAGS = opt('node-flags', '').split(' ').filter(Boolean);
// bench:proxy sends no session header (the ID comes from the body's `user`); this sends X-Session-ID.
const HEADERS = has('session-header') ? { 'x-session-id': 'profile-bench' } : {};
const all = !has('cpu') && !has('strace') && !has('gc') && !has('alloc');
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * Phases: [phase, function name, file fragment]; a sample goes to the first one in this list found
 * anywhere on its stack (the parts first, then the exchange's phase methods from the innermost out).
 * A sample whose stack holds none of them is node's or undici's own work between our calls.
 */
const MARKERS = [
  ['access log', 'write', 'dist/log.js'], ['access log', 'flushAccess', 'dist/log.js'],
  ['metrics', 'requestDone', ''], ['metrics', 'observe', ''],
  ['spend (usage, budgets)', '', 'dist/spend/'],
  ['session resolve + admit', '', 'dist/sessions/'],
  ['policy: request rules', 'inspectRequest', ''], ['policy: request rules', 'hasDuplicateKeys', ''], ['policy: request rules', 'judgeRequest', ''],
  ['policy: response rules', 'openResponse', ''], ['policy: response rules', 'settleResponse', ''],
  ['policy: response rules', '', 'dist/policy/'],
  ['tools', '', 'dist/tools/'],
  ['storage flush (timer)', '', 'dist/storage/'],
  ['logging phase', 'logging', 'phases/logging'],
  ['exchange end (release, settle)', 'finish', 'dist/proxy/exchange.js'],
  ['response end', 'onComplete', 'dist/proxy/exchange.js'],
  ['response relay (body chunks)', 'onData', 'dist/proxy/exchange.js'],
  ['response head (headers, writeHead)', 'onHeaders', 'dist/proxy/exchange.js'],
  ['upstream dispatch (headers, undici request)', 'upstreamRequestFilter', ''],
  ['request filter (JSON.parse, identity)', 'requestFilter', ''],
  ['body read', 'onBodyChunk', ''], ['body read', 'onBodyEnd', ''],
  ['request head (key, session header, limits)', 'start', 'exchange-request.js'],
  ['listener (request event)', '', 'dist/proxy/listener.js'],
];
const LEAF = { writev: 'syscalls: writev', read: 'syscalls: read', '(garbage collector)': 'GC', '(program)': 'V8/native, no JS frame' };

function phaseOf(stack) {
  const leaf = stack[0];
  if (LEAF[leaf.functionName] && leaf.url === '') return LEAF[leaf.functionName];
  for (const [phase, fn, file] of MARKERS) {
    for (const f of stack) {
      if ((fn === '' || f.functionName === fn) && (file === '' || f.url.includes(file))) return phase;
    }
  }
  const urls = stack.map((f) => f.url);
  if (urls.some((u) => u.includes('/undici/'))) return 'upstream leg: undici (socket, parser) outside our calls';
  if (urls.some((u) => /node:_http_(server|common|incoming|outgoing)/.test(u))) return 'client leg: node:http (parser, response) outside our calls';
  return 'other node core (streams, events, timers)';
}

/** Self time by phase over the measured window: samples from `fromUs` (profile clock) on. */
function breakdown(profile, skipMs) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map();
  const phase = (id) => {
    let p = memo.get(id);
    if (p === undefined) {
      const stack = [];
      for (let x = id; x !== undefined; x = parent.get(x)) stack.push(byId.get(x).callFrame);
      p = phaseOf(stack);
      memo.set(id, p);
    }
    return p;
  };
  // The window starts `skipMs` after the first sample inside an exchange (the warm-up's first request).
  let t = 0, first = -1;
  const at = [];
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    at.push(t);
    if (first < 0 && byId.get(profile.samples[i]).callFrame.url.includes('/dist/proxy/')) first = t;
  }
  const out = new Map();
  const fns = new Map();
  let busy = 0;
  for (let i = 0; i < profile.samples.length - 1; i++) {
    if (at[i] < first + skipMs * 1000) continue;
    const id = profile.samples[i];
    if (byId.get(id).callFrame.functionName === '(idle)') continue;
    const dt = at[i + 1] - at[i];
    const p = phase(id);
    out.set(p, (out.get(p) ?? 0) + dt);
    const f = byId.get(id).callFrame;
    const fk = `${p} | ${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    fns.set(fk, (fns.get(fk) ?? 0) + dt);
    busy += dt;
  }
  return { byPhase: out, busyUs: busy, byFunction: fns };
}

async function startGateway(upPort, nodeFlags, extra = []) {
  const port = await freePort();
  const control = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'cordon-profile-'));
  writeFileSync(join(dataDir, 'bench.yaml'), 'debug_endpoints: true\n');
  const child = await start(process.execPath, [...nodeFlags, CLI_PATH, 'start', '--config', join(dataDir, 'bench.yaml'),
    '--listen', `127.0.0.1:${port}`, '--control-listen', `127.0.0.1:${control}`, '--upstream', `http://127.0.0.1:${upPort}`,
    '--data-dir', dataDir, '--policy', POLICY, ...extra]);
  await waitForPort(control);
  pinTree(child.pid, '1');
  return { child, port, dataDir };
}

/** CPU ms a process spent in the kernel (stime), from /proc. */
function sysMsOf(pid) {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[12]) * 10;
}

const url = (port) => `http://127.0.0.1:${port}/v1/chat/completions`;
const load = (port, seconds, connections = CONNS) => wrk(url(port), { connections, seconds, cpus: '0', headers: HEADERS });

async function cpuSection(upPort) {
  const profDir = mkdtempSync(join(tmpdir(), 'cordon-cpuprof-'));
  const gw = await startGateway(upPort, ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '200', ...NODE_FLAGS]);
  const WARM = 2;
  load(gw.port, WARM);
  const c0 = cpuMsOf(gw.child.pid);
  const s0 = sysMsOf(gw.child.pid);
  const w = load(gw.port, SECONDS);
  const cpuUs = ((cpuMsOf(gw.child.pid) - c0) * 1000) / (w.rps * SECONDS);
  const sysUs = ((sysMsOf(gw.child.pid) - s0) * 1000) / (w.rps * SECONDS);
  await stop(gw.child);
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  const { byPhase, busyUs, byFunction } = breakdown(JSON.parse(readFileSync(join(profDir, file), 'utf8')), WARM * 1000);
  // PHASE_DETAIL=1: the functions with the most self time, with their phase (to stderr)
  if (process.env.PHASE_DETAIL) {
    for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.error(`${fmt((cpuUs * us) / busyUs, 2).padStart(6)} µs  ${k}`);
  }
  rmSync(profDir, { recursive: true, force: true });
  rmSync(gw.dataDir, { recursive: true, force: true });
  const rows = [...byPhase].sort((a, b) => b[1] - a[1])
    .map(([p, us]) => [p, fmt((100 * us) / busyUs, 1), fmt((cpuUs * us) / busyUs, 1)]);
  return [
    `CPU profile (node --cpu-prof, 200 µs sampling), policy ${POLICY}, ${CONNS} connections, ${SECONDS}s after a ${WARM}s warm-up: ${fmt(w.rps, 0)} req/s, **${fmt(cpuUs, 1)} µs CPU/request** (from /proc, profiler on; ${fmt(sysUs, 1)} µs of it in the kernel). Load average ${loadavg()}.`,
    '',
    table(['phase (innermost on the stack)', '% of busy samples', 'µs/request'], rows),
  ].join('\n');
}

async function straceSection(upPort) {
  const gw = await startGateway(upPort, NODE_FLAGS);
  load(gw.port, 2);
  const out = join(gw.dataDir, 'strace.txt');
  const st = spawn('strace', ['-c', '-f', '-p', String(gw.child.pid), '-o', out], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const w = load(gw.port, SECONDS);
  st.kill('SIGINT');
  await new Promise((r) => st.once('exit', r));
  const requests = w.rps * SECONDS;
  const rows = [];
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)$/.exec(line);
    if (m && m[3] !== 'total') rows.push([m[3], fmt(Number(m[1]) / requests, 3), m[2] ?? '0']);
  }
  await stop(gw.child);
  rmSync(gw.dataDir, { recursive: true, force: true });
  rows.sort((a, b) => Number(b[1]) - Number(a[1]));
  return [`Syscalls per request (strace -c -f attached for ${SECONDS}s, ${CONNS} connections, ${fmt(requests, 0)} requests under strace). Load average ${loadavg()}.`,
    '', table(['syscall', 'per request', 'errors'], rows.filter((r) => Number(r[1]) >= 0.001))].join('\n');
}

async function gcSection(upPort) {
  const gw = await startGateway(upPort, ['--trace-gc', ...NODE_FLAGS], ['--log-level', 'warn']);
  let text = '';
  gw.child.stdout.on('data', (d) => { text += d; });
  // wrk runs synchronously: the child's trace lines are read in the pauses after each run.
  const settle = () => new Promise((r) => setTimeout(r, 300));
  load(gw.port, 2, 1);
  await settle();
  const from = text.length;
  const w = load(gw.port, SECONDS, 1);
  await settle();
  const window = text.slice(from);
  await stop(gw.child);
  rmSync(gw.dataDir, { recursive: true, force: true });
  const requests = w.rps * SECONDS;
  const kinds = { Scavenge: [], 'Mark-Compact': [], 'Mark-Compact (reduce)': [] };
  for (const m of window.matchAll(/: (Scavenge|Mark-Compact(?: \(reduce\))?) [^,]*MB, ([\d.]+) \/ ([\d.]+) ms/g)) kinds[m[1]].push(Number(m[2]));
  const sizes = [...window.matchAll(/Scavenge ([\d.]+) \(([\d.]+)\) -> ([\d.]+)/g)].map((m) => Number(m[1]) - Number(m[3]));
  const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
  const rows = Object.entries(kinds).filter(([, xs]) => xs.length > 0)
    .map(([k, xs]) => [k, fmt((1000 * xs.length) / requests, 2), fmt(q(xs, 0.5), 2), fmt(q(xs, 0.9), 2), fmt(Math.max(...xs), 2)]);
  return [`Garbage collections at 1 connection (--trace-gc, ${SECONDS}s, ${fmt(requests, 0)} requests, ${fmt(w.rps, 0)} req/s; p99 ${fmt(w.p99, 3)} ms). Freed per scavenge: median ${fmt(q(sizes, 0.5), 1)} MB. Load average ${loadavg()}.`,
    '', table(['collection', 'per 1,000 requests', 'pause p50 ms', 'p90 ms', 'max ms'], rows)].join('\n');
}

/** One inspector session over the child's --inspect WebSocket (ws is a dependency). */
async function inspector(port) {
  const { default: WebSocket } = await import('ws');
  const [{ webSocketDebuggerUrl }] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(webSocketDebuggerUrl);
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  let id = 0;
  const waiting = new Map();
  ws.on('message', (m) => { const msg = JSON.parse(m); waiting.get(msg.id)?.(msg); waiting.delete(msg.id); });
  const call = (method, params = {}) => new Promise((r) => { const n = ++id; waiting.set(n, r); ws.send(JSON.stringify({ id: n, method, params })); });
  return { call, close: () => ws.close() };
}

async function allocSection(upPort) {
  const inspectPort = await freePort();
  const gw = await startGateway(upPort, [`--inspect=127.0.0.1:${inspectPort}`, ...NODE_FLAGS]);
  load(gw.port, 2);
  const ins = await inspector(inspectPort);
  await ins.call('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const w = load(gw.port, SECONDS);
  const { result } = await ins.call('HeapProfiler.stopSampling');
  ins.close();
  await stop(gw.child);
  rmSync(gw.dataDir, { recursive: true, force: true });
  const requests = w.rps * SECONDS;
  // self bytes by function, then by the exchange phase (same markers as the CPU profile)
  const byFn = new Map();
  const byPhase = new Map();
  let total = 0;
  const walk = (node, stack) => {
    const s = [node.callFrame, ...stack];
    const self = node.selfSize;
    if (self > 0) {
      total += self;
      const f = node.callFrame;
      const nm = (c) => `${c.functionName || '(anonymous)'} ${c.url.replace(/.*\/(dist|node_modules)\//, '$1/').replace('node:', '')}:${c.lineNumber + 1}`;
      const key = process.env.ALLOC_STACKS ? s.slice(0, 4).map(nm).join(' < ') : nm(f);
      byFn.set(key, (byFn.get(key) ?? 0) + self);
      const p = phaseOf(s);
      byPhase.set(p, (byPhase.get(p) ?? 0) + self);
    }
    for (const c of node.children ?? []) walk(c, s);
  };
  walk(result.profile.head, []);
  const rows = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, fmt(v / requests, 0), fmt((100 * v) / total, 1)]);
  return [`Heap allocated per request by site (sampling heap profiler, 1 KiB interval, collected objects included; ${CONNS} connections, ${SECONDS}s, ${fmt(requests, 0)} requests): **${fmt(total / requests, 0)} B/request** sampled. Load average ${loadavg()}.`,
    '', table(['phase', 'B/request', '%'], rows(byPhase, 30)), '', table(['function (self)', 'B/request', '%'], rows(byFn, 25))].join('\n');
}

const upPort = await freePort();
const up = await start(process.execPath, [join(ROOT, 'bench/fixtures/upstream.mjs'), String(upPort)], { ready: 'upstream ready' });
pinTree(up.pid, '0');
pinTree(process.pid, '0');
const parts = [`### bench:profile — ${new Date().toISOString().slice(0, 16)}Z, policy ${POLICY}${NODE_FLAGS.length ? `, node ${NODE_FLAGS.join(' ')}` : ''}${has('session-header') ? ', X-Session-ID sent' : ''}`, '',
  `Command: \`node bench/profile.mjs ${argv.join(' ')}\``];
try {
  if (all || has('cpu')) parts.push('', await cpuSection(upPort));
  if (all || has('strace')) parts.push('', await straceSection(upPort));
  if (all || has('gc')) parts.push('', await gcSection(upPort));
  if (all || has('alloc')) parts.push('', await allocSection(upPort));
} finally {
  await stop(up);
}
console.log(parts.join('\n'));
