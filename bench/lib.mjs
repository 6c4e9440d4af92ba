// Shared pieces of the benchmarks: free ports, child processes, wrk runs, RSS from outside.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'dist/cli.js');

export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Spawns a process; resolves once `ready` (a substring of stdout or stderr) is seen. */
export function start(cmd, args, { ready, env = {}, quiet = true } = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  const p = new Promise((resolve, reject) => {
    const onData = (d) => {
      if (!ready) return;
      seen += d.toString();
      if (seen.includes(ready)) { ready = null; resolve(child); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { if (!quiet) process.stderr.write(d); onData(d); });
    child.once('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${seen.slice(-500)}`)));
    if (!ready) resolve(child);
  });
  return p.then((c) => { c.removeAllListeners('exit'); return c; });
}

export async function waitForPort(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function stop(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/**
 * Pins a process, every thread of it and of its direct children (nginx's workers), to `cpus`
 * ("0", "1", "0-1") with taskset. Used by --pin: the proxy under test gets a core of its own and
 * the load generator and upstream share the other, so that its throughput is its own CPU cost and
 * not how the scheduler split two cores between three busy processes. False when taskset fails.
 */
export function pinTree(pid, cpus) {
  const pids = [pid];
  try {
    for (const c of execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n')) if (c.trim()) pids.push(Number(c));
  } catch { /* no children */ }
  try {
    for (const p of pids) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** CPU ms (user + system, all threads) a process has used so far, from /proc. */
export function cpuMsOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // utime + stime in 100 Hz ticks
}

/** RSS of another process in bytes, from /proc (the ground truth the gateway cannot flatter). */
export function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export const CHAT_BODY = JSON.stringify({
  model: 'mock-gpt',
  messages: [
    { role: 'system', content: 'You are a helpful assistant for a benchmark.' },
    { role: 'user', content: 'Summarise the plot of a short story about a lighthouse keeper and a storm, in two sentences.' },
  ],
  max_tokens: 64,
  user: 'bench-user-1',
});

/** Runs wrk with a POST of CHAT_BODY; returns req/s and latency percentiles in ms. */
export function wrk(url, { connections = 50, threads = 2, seconds = 10, headers = {}, cpus = null, lua = '' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-wrk-'));
  const script = join(dir, 'post.lua');
  const hdr = Object.entries({ 'content-type': 'application/json', ...headers })
    .map(([k, v]) => `wrk.headers["${k}"] = "${v}"`).join('\n');
  writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(CHAT_BODY)}\n${hdr}\n${lua}\n`);
  const wrkArgs = ['-t', String(Math.min(threads, connections)), '-c', String(connections), '-d', `${seconds}s`, '--latency', '-s', script, url];
  const out = cpus === null
    ? execFileSync('wrk', wrkArgs, { encoding: 'utf8' })
    : execFileSync('taskset', ['-c', cpus, 'wrk', ...wrkArgs], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const pct = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  const sockErr = /Socket errors: (.*)/.exec(out)?.[1] ?? '';
  return { rps, p50: pct(50), p99: pct(99), non2xx: Number(errors), socketErrors: sockErr, raw: out };
}

/** Starts `cordon start` on free ports against an upstream; resolves once the control port answers. */
export async function startCordon(upstreamPort, extra = [], cli = CLI) {
  const port = await freePort();
  const control = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'cordon-bench-data-'));
  const cfgPath = join(dataDir, 'bench.yaml');
  writeFileSync(cfgPath, 'debug_endpoints: true\n');
  // Ready when the control port answers: with --log-level warn the 'cordon listening' line is not printed.
  const child = await start(process.execPath, [cli, 'start', '--config', cfgPath, '--listen', `127.0.0.1:${port}`, '--control-listen', `127.0.0.1:${control}`,
    '--upstream', `http://127.0.0.1:${upstreamPort}`, '--data-dir', dataDir, ...extra]);
  await waitForPort(control);
  return { child, port, control };
}

/** Median of the finite values (NaN when none). */
export const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function fmt(n, digits = 2) {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

export function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

export function machine() {
  let cpu = '';
  try { cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? ''; } catch {}
  return `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpu}, ${(await_nproc())} cores`;
}
function await_nproc() {
  try { return execFileSync('nproc', { encoding: 'utf8' }).trim(); } catch { return '?'; }
}
