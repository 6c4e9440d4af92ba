// bench:alloc — heap bytes allocated and server CPU per proxied request, for one or more builds of
// cordon side by side (e.g. main's dist and this branch's), with timed runs interleaved so that a
// shared, noisy machine hurts every build alike. Reports medians.
// Usage: node bench/alloc.mjs [label=path/to/cli.js[,extra,args]] ... (default: this dist, --policy off)
// Env: ROUNDS (5), SECS (4), CONNS (50), ALLOC=0 to skip the allocation count.
// Allocation: the gateway's debug endpoints (config `debug_endpoints: true`, v8.GCProfiler) over
// 10,000 POSTs of the chat body without X-Session-ID, so the session ID comes from the body.
// CPU: utime+stime of the gateway process from /proc over a wrk run, divided by the requests served.
import http from 'node:http';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, freePort, start, stop, waitForPort, wrk, fmt, CHAT_BODY, cpuMsOf } from './lib.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECS = Number(process.env.SECS ?? 4);
const CONNS = Number(process.env.CONNS ?? 50);
const specs = process.argv.slice(2);
const variants = (specs.length ? specs : [`this=${CLI},--policy,off`]).map((a) => {
  const eq = a.indexOf('=');
  const [cli, ...extra] = a.slice(eq + 1).split(',');
  return { label: a.slice(0, eq), cli, extra };
});
const children = [];
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL'); } catch {} });

const cpuMs = cpuMsOf;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

function post(port, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST' }, (res) => {
      let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => resolve(JSON.parse(t || '{}')));
    });
    req.on('error', reject);
    req.end();
  });
}

async function allocPerRequest(g, n = 10_000) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const one = () => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: g.port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(CHAT_BODY);
  });
  const batch = async (count) => {
    let inFlight = [];
    for (let i = 0; i < count; i++) {
      inFlight.push(one());
      if (inFlight.length === 16) { await Promise.all(inFlight); inFlight = []; }
    }
    await Promise.all(inFlight);
  };
  await batch(1000); // warm up
  await post(g.control, '/control/debug/alloc/start');
  await batch(n);
  const r = await post(g.control, '/control/debug/alloc/stop');
  agent.destroy();
  return r.allocated_bytes / n;
}

async function main() {
  const upPort = await freePort();
  children.push(await start(process.execPath, [join(ROOT, 'bench/fixtures/upstream.mjs'), String(upPort)], { ready: 'upstream ready' }));
  const gws = [];
  for (const v of variants) {
    const port = await freePort();
    const control = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'cordon-alloc-'));
    writeFileSync(join(dir, 'bench.yaml'), 'debug_endpoints: true\n');
    const child = await start(process.execPath, [v.cli, 'start', '--config', join(dir, 'bench.yaml'), '--listen', `127.0.0.1:${port}`,
      '--control-listen', `127.0.0.1:${control}`, '--upstream', `http://127.0.0.1:${upPort}`, '--data-dir', dir, ...v.extra]);
    children.push(child);
    await waitForPort(control);
    gws.push({ ...v, child, port, control, runs: [] });
  }
  const url = (g) => `http://127.0.0.1:${g.port}/v1/chat/completions`;
  for (const g of gws) wrk(url(g), { connections: CONNS, seconds: 2 }); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const g of gws) {
      const c0 = cpuMs(g.child.pid);
      const w = wrk(url(g), { connections: CONNS, seconds: SECS });
      const us = ((cpuMs(g.child.pid) - c0) * 1000) / (w.rps * SECS);
      g.runs.push({ rps: w.rps, us });
      console.error(`round ${r + 1} ${g.label}: ${fmt(w.rps, 0)} req/s, ${fmt(us, 1)} CPU µs/req, p50 ${fmt(w.p50)}ms p99 ${fmt(w.p99)}ms`);
    }
  }
  const first = gws[0];
  console.log(`| build | req/s | CPU µs/req | req/s × ${first.label} | CPU × ${first.label} | heap B/req |`);
  console.log('|---|---|---|---|---|---|');
  for (const g of gws) {
    const bytes = process.env.ALLOC === '0' ? NaN : await allocPerRequest(g);
    // Ratios per round (same conditions), then the median.
    const rpsRatio = median(g.runs.map((x, i) => x.rps / first.runs[i].rps));
    const cpuRatio = median(g.runs.map((x, i) => x.us / first.runs[i].us));
    console.log(`| ${g.label} | ${fmt(median(g.runs.map((x) => x.rps)), 0)} | ${fmt(median(g.runs.map((x) => x.us)), 1)} | ${fmt(rpsRatio)} | ${fmt(cpuRatio)} | ${fmt(bytes, 0)} |`);
  }
  console.log(`\n${ROUNDS} rounds × ${SECS}s, wrk ${CONNS} connections; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  for (const c of children) await stop(c);
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
