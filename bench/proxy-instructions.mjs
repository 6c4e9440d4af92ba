// Instructions per proxied request under callgrind: a figure the load of the shared box does not
// move (wall time and even CPU µs do). Starts `cordon start` under valgrind, warms it up (JIT),
// zeroes the counters, sends N requests on 8 keep-alive connections, dumps, and prints Ir per
// request for the whole process and for its main thread alone ("below main": the JS, the parser,
// the sockets). The other threads (V8's compiler and GC helpers, libuv's pool) depend on timing, so
// compare main-thread figures, of builds run at the same time.
// Usage: node bench/proxy-instructions.mjs [--cli path/to/dist/cli.js] [--policy standard] [--requests 2000]
import http from 'node:http';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI as OWN_CLI, ROOT, freePort, start, CHAT_BODY, waitForPort } from './lib.mjs';

const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));
const CLI = args.cli ?? OWN_CLI;
const POLICY = args.policy ?? 'standard';
const N = Number(args.requests ?? 2000);

const upPort = await freePort();
const up = await start(process.execPath, [join(ROOT, 'bench/fixtures/upstream.mjs'), String(upPort)], { ready: 'upstream ready' });
const port = await freePort();
const control = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'cordon-cg-'));
writeFileSync(join(dir, 'c.yaml'), 'debug_endpoints: true\n');
const child = spawn('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${join(dir, 'cg')}.%p`,
  process.execPath, CLI, 'start', '--config', join(dir, 'c.yaml'), '--listen', `127.0.0.1:${port}`, '--control-listen', `127.0.0.1:${control}`,
  '--upstream', `http://127.0.0.1:${upPort}`, '--data-dir', dir, '--policy', POLICY, '--log-level', 'warn'], { stdio: 'ignore' });
process.on('exit', () => { for (const c of [child, up]) try { c.kill('SIGKILL'); } catch {} });
await waitForPort(control, 600_000);

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const one = () => new Promise((resolve, reject) => {
  const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve); });
  req.on('error', reject);
  req.end(CHAT_BODY);
});
const batch = async (n) => { let i = 0; await Promise.all(Array.from({ length: 8 }, async () => { while (i++ < n) await one(); })); };
await batch(3000); // warm-up: the hot functions are optimized before counting starts
execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
await batch(N);
execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 2000));
const dump = readdirSync(dir).filter((f) => /^cg\.\d+\.\d+$/.test(f)).map((f) => join(dir, f))[0];
const total = Number(/^summary: (\d+)/m.exec(readFileSync(dump, 'utf8'))?.[1]);
const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', dump], { encoding: 'utf8', maxBuffer: 64 << 20 });
const main = Number((/^\s*([\d,]+) .*\(below main\)/m.exec(annotated)?.[1] ?? 'NaN').replace(/,/g, ''));
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`${CLI} --policy ${POLICY}: ${Math.round(main / N)} Ir/request on the main thread, ${Math.round(total / N)} in all threads (${N} requests; load average ${load}; dump ${dump})`);
process.exit(0);
