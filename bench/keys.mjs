// bench:keys — what keys, accounting and budgets cost (issue 16).
// Usage: node bench/keys.mjs [--seconds 5] [--runs 3] [--connections 50] [--compare path/to/other/dist/cli.js] [--pin]
//
// 1. Key lookup on the hot path: KeyRing.lookup of a known key (a Map hit on the presented key)
//    against a bare Map.get and against hashing the key every time (sha256).
// 2. Throughput through the same build, policy off, on the bundled mock LLM (which reports usage):
//    "keys off" (no auth section: usage and cost are still metered) and "keys on" (auth.required,
//    the client's key looked up, a key budget, a team budget and a cost_usd session rule checked
//    per request and charged per answer). With --compare, a build from before keys existed runs as
//    a third target, which meters nothing. Targets interleave (ABBA) over --runs; medians reported.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, freePort, start, stop, waitForPort, wrk as wrkRun, median, pinTree, fmt, cpuMsOf } from './lib.mjs';
import { loadavg } from 'node:os';

const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));
const SECONDS = Number(args.seconds ?? 5);
const RUNS = Number(args.runs ?? 3);
const CONNS = Number(args.connections ?? 50);
const PIN = 'pin' in args;
const COMPARE = args.compare;

// ---- 1. lookup micro-benchmark ------------------------------------------------------------------
const { KeyRing, sha256Hex } = await import('../dist/auth/keys.js');
const KEY = 'ck-' + 'k'.repeat(43);
const ring = new KeyRing();
ring.add(sha256Hex(KEY), { id: 'k', agent: 'a', team: null, budget: null, tools: null, source: 'config', created_at: 0 });
const plain = new Map([[KEY, 1]]);
function time(fn, n = 2_000_000) {
  for (let i = 0; i < 100_000; i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / n;
}
// a fresh string per request, as a header parse gives
const fresh = (i) => (i & 1 ? KEY : `${KEY.slice(0, 10)}${KEY.slice(10)}`);
const nsRing = time((i) => ring.lookup(fresh(i)));
const nsMap = time((i) => plain.get(fresh(i)));
const nsHash = time((i) => createHash('sha256').update(fresh(i)).digest('hex'), 300_000);
console.log(`key lookup: KeyRing.lookup ${fmt(nsRing, 0)} ns, Map.get ${fmt(nsMap, 0)} ns, sha256 every time ${fmt(nsHash, 0)} ns`);

// ---- 2. throughput -----------------------------------------------------------------------------
const mockPort = await freePort();
const mock = await start(process.execPath, [CLI, 'mock-llm', '--listen', `127.0.0.1:${mockPort}`], { ready: 'mock LLM listening' });
const sha = createHash('sha256').update(KEY).digest('hex');
async function gateway(name, yaml, cli = CLI) {
  const port = await freePort();
  const control = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cordon-bench-keys-'));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, yaml);
  const child = await start(process.execPath, [cli, 'start', '--config', cfg, '--listen', `127.0.0.1:${port}`, '--control-listen', `127.0.0.1:${control}`,
    '--upstream', `http://127.0.0.1:${mockPort}/v1`, '--data-dir', dir, '--policy', 'off', '--log-level', 'warn']);
  await waitForPort(control);
  if (PIN) pinTree(child.pid, '1');
  return { name, port, control, child };
}
if (PIN) pinTree(mock.pid, '0');
const targets = [
  await gateway('keys off (usage metered)', ''),
  await gateway('keys on (auth + 3 budgets)', [
    'auth:', '  required: true', '  keys:', `    - { id: bench, key_sha256: ${sha}, agent: bench-bot, team: ml, budget: { usd: 1000000, window: 1d } }`,
    'teams:', '  ml: { budget: { tokens: 100000000000, window: 1d } }',
    'policy:', '  preset: "off"', '  rules:', '    - { name: spend-cap, metric: cost_usd, limit: 1000000, window: 1h }', '',
  ].join('\n')),
];
if (COMPARE) targets.push(await gateway('--compare build', '', COMPARE));
const headers = { authorization: `Bearer ${KEY}`, 'x-session-id': 'bench-session' };
const results = new Map(targets.map((t) => [t.name, []]));
// CPU per request of the gateway process (user + system, from /proc): what the features cost in
// work, less moved by the other processes on a shared box than requests per second are.
const cpuPer = new Map(targets.map((t) => [t.name, []]));
for (let r = 0; r < RUNS; r++) {
  const order = r % 2 === 0 ? targets : [...targets].reverse();
  for (const t of order) {
    const c0 = cpuMsOf(t.child.pid);
    const w = wrkRun(`http://127.0.0.1:${t.port}/v1/chat/completions`, { connections: CONNS, seconds: SECONDS, headers, cpus: PIN ? '0' : null });
    const cpu = cpuMsOf(t.child.pid) - c0;
    results.get(t.name).push(w.rps);
    cpuPer.get(t.name).push((cpu * 1000) / Math.max(1, w.rps * SECONDS));
    console.error(`run ${r + 1} ${t.name}: ${fmt(w.rps, 0)} req/s, ${fmt((cpu * 1000) / Math.max(1, w.rps * SECONDS), 1)} us CPU/req, non-2xx ${w.non2xx}, load ${loadavg()[0].toFixed(1)}`);
  }
}
const base = median(results.get(targets[0].name));
const baseCpu = median(cpuPer.get(targets[0].name));
for (const t of targets) {
  const m = median(results.get(t.name));
  const c = median(cpuPer.get(t.name));
  console.log(`${t.name}: ${fmt(m, 0)} req/s (median of ${RUNS}), ${fmt(m / base, 3)}x keys off; ${fmt(c, 1)} us CPU/req, ${fmt(baseCpu / c, 3)}x keys off by CPU`);
}
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const agents = await fetch(`http://127.0.0.1:${targets[1].control}/control/agents`).then((x) => x.json());
console.log(`keys on, metered: ${JSON.stringify(agents.agents[0])}`);
for (const t of targets) stop(t.child);
stop(mock);
process.exit(0);
