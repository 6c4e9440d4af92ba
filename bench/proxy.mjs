// bench:proxy — throughput and latency of cordon against direct, nginx proxy_pass and a naive
// Node proxy, all in one run, all on 127.0.0.1; plus heap bytes allocated per request and the RSS
// cost of 2,000 concurrent slow SSE streams.
// Usage: node bench/proxy.mjs [--seconds 10] [--connections 50] [--streams 2000] [--out bench/results/proxy.md]
import http from 'node:http';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, freePort, start, stop, waitForPort, wrk, rssOf, fmt, table, CHAT_BODY } from './lib.mjs';

const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));
const SECONDS = Number(args.seconds ?? 10);
const CONNS = Number(args.connections ?? 50);
const STREAMS = Number(args.streams ?? 2000);
const OUT = args.out ?? join(ROOT, 'bench/results/proxy.md');
const children = [];
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

async function startCordon(upstreamPort, extra = []) {
  const port = await freePort();
  const control = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'cordon-bench-data-'));
  const cfgPath = join(dataDir, 'bench.yaml');
  writeFileSync(cfgPath, 'debug_endpoints: true\n');
  // Ready when the control port answers: with --log-level warn the 'cordon listening' line is not printed.
  const child = await start(process.execPath, [CLI, 'start', '--config', cfgPath, '--listen', `127.0.0.1:${port}`, '--control-listen', `127.0.0.1:${control}`,
    '--upstream', `http://127.0.0.1:${upstreamPort}`, '--data-dir', dataDir, ...extra]);
  children.push(child);
  await waitForPort(control);
  return { child, port, control };
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

  const targets = [
    ['direct', upPort],
    ...(nginx ? [['nginx proxy_pass', nginxPort]] : []),
    ['naive node proxy', naivePort],
    ['cordon (policy off)', cordon.port],
    ['cordon (policy standard)', cordonPolicy.port],
  ];
  const results = {};
  for (const [name, port] of targets) {
    wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: CONNS, seconds: 2 }); // warm-up
    results[name] = wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: CONNS, seconds: SECONDS });
    console.error(`${name}: ${fmt(results[name].rps, 0)} req/s p50 ${fmt(results[name].p50)}ms p99 ${fmt(results[name].p99)}ms`);
  }
  console.error('1-connection latency...');
  const c1 = {};
  for (const [name, port] of [['direct', upPort], ['cordon (policy off)', cordon.port], ['cordon (policy standard)', cordonPolicy.port]]) {
    wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: 1, threads: 1, seconds: 2 });
    c1[name] = wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: 1, threads: 1, seconds: Math.max(5, SECONDS / 2) });
  }
  console.error('measuring allocations per request...');
  const alloc = await allocPerRequest(cordon);
  const allocPolicy = await allocPerRequest(cordonPolicy);
  await stop(cordonPolicy.child);

  // Slow SSE streams against the mock LLM.
  const mockPort = await freePort();
  const mock = await start(process.execPath, [CLI, 'mock-llm', '--listen', `127.0.0.1:${mockPort}`], { ready: 'mock LLM listening' });
  children.push(mock);
  const sseGw = await startCordon(mockPort, ['--policy', 'off', '--log-level', 'warn']);
  console.error(`opening ${STREAMS} slow SSE streams...`);
  const sse = await sseStreams(sseGw, mockPort, STREAMS);

  const naiveR = results['naive node proxy'];
  const nginxR = results['nginx proxy_pass'];
  const cord = results['cordon (policy off)'];
  const cordP = results['cordon (policy standard)'];
  const rows = targets.map(([name]) => {
    const r = results[name];
    return [name, fmt(r.rps, 0), fmt(r.p50), fmt(r.p99), naiveR ? fmt(r.rps / naiveR.rps) : 'n/a', nginxR ? fmt(r.rps / nginxR.rps) : 'n/a', String(r.non2xx)];
  });
  const md = [
    `### bench:proxy — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Command: \`npm run bench:proxy\` (wrk, ${CONNS} connections, ${SECONDS}s per target, POST of a ${Buffer.byteLength(CHAT_BODY)}B chat body, fixed-reply node:http upstream in its own process; one nginx worker; Node ${process.version}; 2 shared cores — compare ratios, not absolutes).`,
    '',
    table(['target', 'req/s', 'p50 ms', 'p99 ms', '× naive', '× nginx', 'non-2xx'], rows),
    '',
    `Added latency at 1 connection (cordon − direct): policy off p50 ${fmt(c1['cordon (policy off)'].p50 - c1.direct.p50, 3)}ms, p99 ${fmt(c1['cordon (policy off)'].p99 - c1.direct.p99, 3)}ms; policy standard p50 ${fmt(c1['cordon (policy standard)'].p50 - c1.direct.p50, 3)}ms, p99 ${fmt(c1['cordon (policy standard)'].p99 - c1.direct.p99, 3)}ms (direct p50 ${fmt(c1.direct.p50, 3)}ms, p99 ${fmt(c1.direct.p99, 3)}ms).`,
    '',
    `Policy standard vs off throughput: ${fmt((1 - cordP.rps / cord.rps) * 100, 1)}% loss.`,
    '',
    `Heap bytes allocated per proxied request (v8.GCProfiler over 20,000 requests): policy off ${fmt(alloc, 0)} B, policy standard ${fmt(allocPolicy, 0)} B.`,
    '',
    `${STREAMS} concurrent slow SSE streams through cordon: RSS ${fmt(sse.before / 1048576, 1)} MiB → ${fmt(sse.during / 1048576, 1)} MiB, ${fmt(sse.perStream / 1024, 1)} KiB per stream (both legs: client socket, upstream socket, exchange state).`,
    '',
  ].join('\n');
  console.log(md);
  writeFileSync(OUT, md);
  for (const c of children) await stop(c);
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
