// bench:keys, load-free: instructions per request (valgrind callgrind) through the gateway with keys,
// accounting and budgets on against the same build with them off, and optionally against a build
// from before keys existed (--compare path/to/dist/cli.js: nothing metered). On a box shared by
// other work, requests per second swing by 2x between runs; counted instructions do not.
// Usage: node bench/keys-instr.mjs [--warm 1500] [--requests 3000] [--concurrency 8] [--compare path/to/cli.js]
// Collection is switched on after the warm-up (JIT settled) and off before shutdown.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, CHAT_BODY, freePort, start, stop, waitForPort, fmt } from './lib.mjs';


const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));
const WARM = Number(args.warm ?? 1500);
const N = Number(args.requests ?? 3000);
const CONC = Number(args.concurrency ?? 8);
const COMPARE = args.compare;

const KEY = 'ck-' + 'k'.repeat(43);
const sha = createHash('sha256').update(KEY).digest('hex');
const mockPort = await freePort();
const mock = await start(process.execPath, [CLI, 'mock-llm', '--listen', `127.0.0.1:${mockPort}`], { ready: 'mock LLM listening' });

async function send(port, n) {
  let next = 0;
  let bad = 0;
  const one = async () => {
    while (next < n) {
      next++;
      const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-session-id': 'bench-session' }, body: CHAT_BODY,
      });
      await r.arrayBuffer();
      if (r.status !== 200) bad++;
    }
  };
  await Promise.all(Array.from({ length: CONC }, one));
  return bad;
}

async function measure(name, yaml, cli = CLI) {
  const port = await freePort();
  const control = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cordon-bench-keys-instr-'));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, yaml);
  const out = join(dir, 'callgrind.out');
  // (worker threads, e.g. storage's writer, count too: --trace-children is not needed for threads)
  const child = await start('valgrind', ['--tool=callgrind', '--instr-atstart=no',  '--smc-check=all-non-file', '--separate-threads=yes', `--callgrind-out-file=${out}`,
    process.execPath, cli, 'start', '--config', cfg, '--listen', `127.0.0.1:${port}`, '--control-listen', `127.0.0.1:${control}`,
    '--upstream', `http://127.0.0.1:${mockPort}/v1`, '--data-dir', dir, '--policy', 'off', '--log-level', 'warn']);
  await waitForPort(control, 120_000);
  await send(port, WARM);
  execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' });
  const bad = await send(port, N);
  execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' });
  execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
  child.kill('SIGKILL');
  // one dump per thread: <out>.<n>-<thread>; thread 01 is the main (event loop) thread, the others
  // are V8's compiler and GC helpers and libuv's pool, whose work moves with when the JIT settles
  let ir = 0;
  let all = 0;
  for (const f of readdirSync(dir).filter((x) => x.startsWith('callgrind.out.'))) {
    const m = /^totals:\s+(\d+)/m.exec(readFileSync(join(dir, f), 'utf8'));
    if (!m) continue;
    all += Number(m[1]);
    if (f.endsWith('-01')) ir = Number(m[1]);
  }
  console.error(`${name}: main thread ${fmt(ir / N, 0)} instructions/request, all threads ${fmt(all / N, 0)} (${N} requests, ${bad} not 200), load ${loadavg()[0].toFixed(1)}`);
  return { name, perReq: ir / N, allPerReq: all / N, bad };
}

const results = [];
results.push(await measure('keys off (usage metered)', ''));
results.push(await measure('keys on (auth + 3 budgets)', [
  'auth:', '  required: true', '  keys:', `    - { id: bench, key_sha256: ${sha}, agent: bench-bot, team: ml, budget: { usd: 1000000, window: 1d } }`,
  'teams:', '  ml: { budget: { tokens: 100000000000, window: 1d } }',
  'policy:', '  preset: "off"', '  rules:', '    - { name: spend-cap, metric: cost_usd, limit: 1000000, window: 1h }', '',
].join('\n')));
if (COMPARE) results.push(await measure('--compare build (nothing metered)', '', COMPARE));
const base = results[0].perReq;
for (const r of results) {
  console.log(`${r.name}: ${fmt(r.perReq, 0)} main-thread instructions/request, ${fmt(base / r.perReq, 3)}x keys off (throughput-equivalent); all threads ${fmt(r.allPerReq, 0)}, ${fmt(results[0].allPerReq / r.allPerReq, 3)}x`);
}
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
stop(mock);
process.exit(0);
