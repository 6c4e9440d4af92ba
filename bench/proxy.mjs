// bench:proxy — throughput and latency of cordon against direct, nginx proxy_pass and a naive
// Node proxy, all in one run, all on 127.0.0.1; plus heap bytes allocated per request and the RSS
// cost of 2,000 concurrent slow SSE streams.
// Usage: node bench/proxy.mjs [--seconds 10] [--connections 50] [--streams 2000] [--runs 1] [--no-tail]
//          [--compare path/to/other/dist/cli.js] [--out bench/results/proxy.md]
// --runs N repeats the timed runs, targets interleaved, and reports medians (the machine is shared).
// --compare adds another build of cordon (e.g. main's) as a target, measured in the same run.
// --pin gives the proxy under test core 1 and wrk + the upstream core 0 (2-core box): the proxy is
// then the bottleneck and its req/s is its own CPU cost, not the scheduler's split of two cores
// between three busy processes. Runs alternate the target order (ABBA) so drift favours no one.
// CPU µs/req is the server's own CPU time (user+sys, with its child processes) per request served:
// on a loaded box it moves much less than req/s, because it does not count time spent waiting for a core.
import http from 'node:http';
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, freePort, start, stop, waitForPort, wrk as wrkRun, rssOf, fmt, table, CHAT_BODY, pinTree, cpuMsOf, median, startCordon as startCordonLib } from './lib.mjs';
import { measureTail, tailMarkdown } from './tail.mjs';

const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));
const SECONDS = Number(args.seconds ?? 10);
const CONNS = Number(args.connections ?? 50);
const STREAMS = Number(args.streams ?? 2000);
const OUT = args.out ?? join(ROOT, 'bench/results/proxy.md');
const RUNS = Number(args.runs ?? 1);
const COMPARE = args.compare;
// --pin: each proxy on core 1, wrk and the upstream on core 0 (see pinTree in lib.mjs).
const PIN = 'pin' in args;
const wrk = (url, opts) => wrkRun(url, { ...opts, cpus: PIN ? '0' : null });
const children = [];
const startCordon = async (upPort, extra = [], cli = CLI) => {
  const c = await startCordonLib(upPort, extra, cli);
  children.push(c.child);
  return c;
};
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL'); } catch {} });

function nginxConf(dir, port, upstreamPort) {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
    }
  }
}
`;
}

async function post(url, path, body = '') {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, { method: 'POST' }, (res) => {
      let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => resolve(JSON.parse(t || '{}')));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function allocPerRequest(cordon, n = 20_000) {
  const base = `http://127.0.0.1:${cordon.control}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const one = () => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: cordon.port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-session-id': 'alloc-bench' } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(CHAT_BODY);
  });
  for (let i = 0; i < 2000; i++) await one(); // warm up
  await post(base, '/control/debug/alloc/start');
  let inFlight = [];
  for (let i = 0; i < n; i++) {
    inFlight.push(one());
    if (inFlight.length === 16) { await Promise.all(inFlight); inFlight = []; }
  }
  await Promise.all(inFlight);
  const r = await post(base, '/control/debug/alloc/stop');
  agent.destroy();
  return r.allocated_bytes / n;
}

async function sseStreams(cordon, mockPort, n) {
  // Each stream: 1,000 deltas 1s apart, so all n stay open while we measure.
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const before = rssOf(cordon.child.pid);
  const reqs = [];
  let opened = 0;
  await new Promise((resolve, reject) => {
    for (let i = 0; i < n; i++) {
      const req = http.request({ host: '127.0.0.1', port: cordon.port, path: '/v1/chat/completions', method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'x-session-id': `sse-${i % 100}`, 'x-mock-deltas': '1000', 'x-mock-delay-ms': '1000' } }, (res) => {
        res.on('data', () => {});
        res.on('error', () => {});
        if (++opened === n) resolve();
      });
      req.on('error', (e) => { if (opened < n) reject(e); });
      req.end(JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      reqs.push(req);
    }
  });
  await new Promise((r) => setTimeout(r, 2000));
  const during = rssOf(cordon.child.pid);
  for (const r of reqs) r.destroy();
  agent.destroy();
  return { before, during, perStream: (during - before) / n };
}

/** CPU ms (user+sys) of a process and its direct children (nginx's worker), from /proc. */
function cpuMs(pid) {
  const one = (p) => {
    try { return cpuMsOf(p); } catch { return 0; }
  };
  let ms = one(pid);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(pid)) ms += one(d);
    } catch { /* gone */ }
  }
  return ms;
}

async function main() {
  const upPort = await freePort();
  const up = await start(process.execPath, [join(ROOT, 'bench/fixtures/upstream.mjs'), String(upPort)], { ready: 'upstream ready' });
  children.push(up);

  const nginxPort = await freePort();
  const ndir = mkdtempSync(join(tmpdir(), 'cordon-nginx-'));
  for (const d of ['body', 'proxy', 'fcgi', 'uwsgi', 'scgi']) mkdirSync(join(ndir, d));
  writeFileSync(join(ndir, 'nginx.conf'), nginxConf(ndir, nginxPort, upPort));
  let nginx = null;
  try {
    nginx = await start('nginx', ['-p', ndir, '-c', join(ndir, 'nginx.conf'), '-g', 'daemon off;']);
    children.push(nginx);
    await waitForPort(nginxPort);
  } catch (err) {
    console.error(`nginx unavailable (${err.message}); skipping that baseline`);
    nginx = null;
  }

  const naivePort = await freePort();
  const naive = await start(process.execPath, [join(ROOT, 'bench/fixtures/naive-proxy.mjs'), String(naivePort), String(upPort)], { ready: 'naive ready' });
  children.push(naive);

  const cordon = await startCordon(upPort, ['--policy', 'off']);
  const cordonPolicy = await startCordon(upPort, ['--policy', 'standard']);
  const other = COMPARE ? await startCordon(upPort, ['--policy', 'off'], COMPARE) : null;

  if (PIN) {
    const ok = pinTree(process.pid, '0') && pinTree(up.pid, '0') && pinTree(naive.pid, '1') && (!nginx || pinTree(nginx.pid, '1'))
      && pinTree(cordon.child.pid, '1') && pinTree(cordonPolicy.child.pid, '1') && (!other || pinTree(other.child.pid, '1'));
    if (!ok) { console.error('--pin: taskset failed'); process.exit(2); }
  }
  const targets = [
    ['direct', upPort, up.pid],
    ...(nginx ? [['nginx proxy_pass', nginxPort, nginx.pid]] : []),
    ['naive node proxy', naivePort, naive.pid],
    ...(other ? [['cordon, --compare build (policy off)', other.port, other.child.pid]] : []),
    ['cordon (policy off)', cordon.port, cordon.child.pid],
    ['cordon (policy standard)', cordonPolicy.port, cordonPolicy.child.pid],
  ];
  const runs = {};
  for (const [name, port] of targets) {
    wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: CONNS, seconds: 2 }); // warm-up
    runs[name] = [];
  }
  for (let r = 0; r < RUNS; r++) {
    for (const [name, port, pid] of (r % 2 === 0 ? targets : [...targets].reverse())) {
      // A second of load right before the timed run: a process idle while the others were measured
      // has had its heap shrunk and runs colder for a while, which put the order of targets into
      // the ratios (measured: 4-10% between the same pair in opposite orders).
      wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: CONNS, seconds: 1 });
      const c0 = cpuMs(pid);
      const w = wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: CONNS, seconds: SECONDS });
      const cpu = cpuMs(pid) - c0;
      w.cpuUs = (cpu * 1000) / (w.rps * SECONDS);
      runs[name].push(w);
      console.error(`run ${r + 1} ${name}: ${fmt(w.rps, 0)} req/s p50 ${fmt(w.p50)}ms p99 ${fmt(w.p99)}ms cpu ${fmt(w.cpuUs, 1)}us/req`);
    }
  }
  const results = {};
  for (const [name] of targets) {
    const rs = runs[name];
    // Ratios are taken per run (same conditions), then the median of those.
    results[name] = { rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)),
      cpuUs: median(rs.map((x) => x.cpuUs)), non2xx: rs.reduce((a, x) => a + x.non2xx, 0), runs: rs };
  }
  const ratio = (name, base) => median(runs[name].map((x, i) => x.rps / runs[base][i].rps));

  console.error('1-connection latency...');
  const c1targets = [['direct', upPort], ...(other ? [['cordon, --compare build (policy off)', other.port]] : []), ['cordon (policy off)', cordon.port], ['cordon (policy standard)', cordonPolicy.port]];
  const c1runs = Object.fromEntries(c1targets.map(([n]) => [n, []]));
  for (const [, port] of c1targets) wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: 1, threads: 1, seconds: 2 });
  for (let r = 0; r < RUNS; r++) {
    for (const [name, port] of c1targets) {
      c1runs[name].push(wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: 1, threads: 1, seconds: Math.max(3, Math.round(SECONDS / 2)) }));
    }
  }
  // Added latency per run (cordon − direct of the same run), then the median.
  const added = (name, key) => median(c1runs[name].map((x, i) => x[key] - c1runs.direct[i][key]));
  const c1 = (name, key) => median(c1runs[name].map((x) => x[key]));

  console.error('measuring allocations per request...');
  const alloc = await allocPerRequest(cordon);
  const allocPolicy = await allocPerRequest(cordonPolicy);
  const allocOther = other ? await allocPerRequest(other) : NaN;
  await stop(cordonPolicy.child);
  if (other) await stop(other.child);

  // Slow SSE streams against the mock LLM.
  const mockPort = await freePort();
  const mock = await start(process.execPath, [CLI, 'mock-llm', '--listen', `127.0.0.1:${mockPort}`], { ready: 'mock LLM listening' });
  children.push(mock);
  const sseGw = await startCordon(mockPort, ['--policy', 'off', '--log-level', 'warn']);
  console.error(`opening ${STREAMS} slow SSE streams...`);
  const sse = await sseStreams(sseGw, mockPort, STREAMS);
  // Tail latency at 1/10/100 connections and SSE time to first byte (bench/tail.mjs); --no-tail skips it.
  const tail = 'no-tail' in args ? null : await measureTail({ seconds: Math.max(3, Math.round(SECONDS / 2)), runs: RUNS, pin: PIN, upPort });

  const hasNginx = Boolean(results['nginx proxy_pass']);
  const cord = results['cordon (policy off)'];
  const cordP = results['cordon (policy standard)'];
  const rows = targets.map(([name]) => {
    const r = results[name];
    return [name, fmt(r.rps, 0), fmt(r.p50), fmt(r.p99), fmt(r.cpuUs, 1), fmt(ratio(name, 'naive node proxy')), hasNginx ? fmt(ratio(name, 'nginx proxy_pass')) : 'n/a', String(r.non2xx)];
  });
  const c1line = (name) => `${name}: p50 ${fmt(added(name, 'p50'), 3)}ms, p99 ${fmt(added(name, 'p99'), 3)}ms`;
  const md = [
    `### bench:proxy — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Command: \`node bench/proxy.mjs ${process.argv.slice(2).join(' ')}\` (wrk, ${CONNS} connections, ${SECONDS}s per target per run, ${RUNS} run(s) with targets interleaved, medians; POST of a ${Buffer.byteLength(CHAT_BODY)}B chat body, fixed-reply node:http upstream in its own process; one nginx worker; Node ${process.version}; 2 shared cores — compare ratios, not absolutes${PIN ? '; --pin: each proxy alone on core 1, wrk and the upstream on core 0' : ''}).`,
    '',
    table(['target', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', '× naive', '× nginx', 'non-2xx'], rows),
    '',
    `× naive and × nginx are medians of the per-run ratios. Load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.`,
    '',
    `Added latency at 1 connection (cordon − direct, per run, median): ${c1targets.slice(1).map(([n]) => c1line(n)).join('; ')} (direct p50 ${fmt(c1('direct', 'p50'), 3)}ms, p99 ${fmt(c1('direct', 'p99'), 3)}ms).`,
    '',
    `Policy standard vs off throughput: ${fmt((1 - ratio('cordon (policy standard)', 'cordon (policy off)')) * 100, 1)}% loss (median of the per-run ratios; per run: ${runs['cordon (policy standard)'].map((x, i) => fmt((1 - x.rps / runs['cordon (policy off)'][i].rps) * 100, 1)).join(', ')}%).`,
    '',
    `Heap bytes allocated per proxied request (v8.GCProfiler over 20,000 requests): policy off ${fmt(alloc, 0)} B, policy standard ${fmt(allocPolicy, 0)} B${other ? `, --compare build (policy off) ${fmt(allocOther, 0)} B` : ''}.`,
    '',
    `${STREAMS} concurrent slow SSE streams through cordon: RSS ${fmt(sse.before / 1048576, 1)} MiB → ${fmt(sse.during / 1048576, 1)} MiB, ${fmt(sse.perStream / 1024, 1)} KiB per stream (both legs: client socket, upstream socket, exchange state).`,
    '',
    ...(tail ? ['#### Tail latency', '', tailMarkdown(tail)] : []),
    '',
  ].join('\n');
  console.log(md);
  writeFileSync(OUT, md);
  for (const c of children) await stop(c);
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
