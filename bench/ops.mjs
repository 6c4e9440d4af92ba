// bench:ops — what operating features cost (issue #19), all against the built binary on loopback:
//  1. tracing: req/s with telemetry off, on at sample 1.0 and on at sample 0 (OTLP receiver here,
//     discarding); with --pin the gateway has core 1, wrk and the upstream core 0; ABBA order.
//  2. retry: a 429 from upstream A answered by upstream B, against B answering directly; sequential
//     requests on one connection, each classed by whether A saw it; added = median difference.
//  3. reload under load: ~1,000 req/s (autocannon overallRate) with 200 SSE streams open, while the
//     config is reloaded every 400ms; failed requests, broken streams, swap/prepare times and the
//     gateway's longest event-loop block per reload (monitorEventLoopDelay, in the reload's answer).
//     Then RSS and heap before/after 100 reloads.
//  4. compile stall, in this process: the longest event-loop block while the standard preset plus a
//     rule is compiled in one go (the old reload) and in slices (the reload now), alternated.
// Usage: node bench/ops.mjs [--seconds 5] [--runs 2] [--pin] [--only tracing|retry|reload|stall] [--deltas 40]
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { CLI, CHAT_BODY, freePort, median, pinTree, start, waitForPort, wrk as wrkRun, fmt } from './lib.mjs';

const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));
const SECONDS = Number(args.seconds ?? 5);
const RUNS = Number(args.runs ?? 2);
const PIN = 'pin' in args;
const ONLY = args.only;
// reload under load: deltas per stream, 150 ms apart (40: the streams last ~6 s)
const DELTAS = Number(args.deltas ?? 40);
const children = [];
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL'); } catch {} });

async function gateway(yaml, extra = []) {
  const port = await freePort();
  const control = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cordon-bench-ops-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, yaml);
  const child = await start(process.execPath, [CLI, 'start', '--config', file, '--listen', `127.0.0.1:${port}`,
    '--control-listen', `127.0.0.1:${control}`, '--data-dir', dir, '--log-level', 'warn', ...extra]);
  children.push(child);
  await waitForPort(control);
  if (PIN) pinTree(child.pid, '1');
  return { child, port, control, file, url: `http://127.0.0.1:${port}`, ctl: `http://127.0.0.1:${control}` };
}

async function mock() {
  const port = await freePort();
  const child = await start(process.execPath, [CLI, 'mock-llm', '--listen', `127.0.0.1:${port}`], { ready: 'mock LLM listening' });
  children.push(child);
  if (PIN) pinTree(child.pid, '0');
  return { child, port, url: `http://127.0.0.1:${port}` };
}

/** A server in this process answering every request with `status` (and counting them). */
async function fixed(status, body) {
  let count = 0;
  const srv = http.createServer((req, res) => {
    count++;
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  srv.keepAliveTimeout = 60_000;
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { srv, url: `http://127.0.0.1:${srv.address().port}`, get count() { return count; } };
}

const stopAll = async () => { for (const c of children.splice(0)) { c.kill('SIGKILL'); } await new Promise((r) => setTimeout(r, 200)); };
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

// ---- 1. tracing ----
async function tracing() {
  const up = await mock();
  // The collector runs in its own process (this one blocks in wrk), counting the spans it is sent.
  const cport = await freePort();
  const collectorChild = await start(process.execPath, ['-e', `let spans=0;require('http').createServer((q,s)=>{let n=0;q.on('data',(d)=>{n+=d.length});q.on('end',()=>{if(q.method==='GET'){s.end(String(spans));return}spans+=(n>0?1:0);s.writeHead(200,{'content-type':'application/json'});s.end('{}')})}).listen(${cport},'127.0.0.1',()=>console.log('ready'))`], { ready: 'ready' });
  children.push(collectorChild);
  if (PIN) pinTree(collectorChild.pid, '0');
  const collector = { url: `http://127.0.0.1:${cport}` };
  const base = `upstreams:\n  - url: ${up.url}\npolicy:\n  preset: standard\n`;
  const targets = [
    { name: 'off', yaml: base },
    { name: 'sample 1.0', yaml: `${base}telemetry:\n  otlp_endpoint: ${collector.url}\n  sample: 1.0\n` },
    { name: 'sample 0', yaml: `${base}telemetry:\n  otlp_endpoint: ${collector.url}\n  sample: 0\n` },
  ];
  for (const t of targets) t.gw = await gateway(t.yaml);
  const wrk = (url) => wrkRun(url, { connections: 50, seconds: SECONDS, cpus: PIN ? '0' : null });
  const rps = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      wrkRun(`${t.gw.url}/v1/chat/completions`, { connections: 50, seconds: 1, cpus: PIN ? '0' : null }); // warm-up
      rps[t.name].push(wrk(`${t.gw.url}/v1/chat/completions`).rps);
    }
  }
  const off = median(rps.off);
  console.log(`\n## tracing (wrk -c50 -d${SECONDS}s, ${RUNS} runs ABBA, policy standard${PIN ? ', pinned' : ''}; load ${load()})`);
  console.log('| target | req/s (median) | vs off | spans (the gateway counts) |');
  console.log('|---|---|---|---|');
  const exports = await (await fetch(collector.url)).text();
  const spans = async (t) => [...(await (await fetch(`${t.gw.ctl}/metrics`)).text()).matchAll(/cordon_telemetry_spans\{state="(\w+)"\} (\d+)/g)];
  for (const t of targets) {
    const m = (await spans(t)).map((x) => `${x[1]} ${x[2]}`).join(', ');
    console.log(`| ${t.name} | ${fmt(median(rps[t.name]), 0)} | ${fmt(median(rps[t.name]) / off, 3)}× | ${m} |`);
  }
  console.log(`(collector: ${exports} export requests)`);
  await stopAll();
}

// ---- 2. retry ----
async function retry() {
  const a = await fixed(429, JSON.stringify({ error: { message: 'rate limited', type: 'rate_limit' } }));
  const b = await fixed(200, JSON.stringify({ id: 'x', model: 'm', choices: [{ message: { role: 'assistant', content: 'ok' } }] }));
  // sticky balancing: a session that starts on A (retried to B) and one that starts on B, alternated
  const gw = await gateway(`upstreams:\n  - url: ${a.url}\n  - url: ${b.url}\n    model: fallback-model\nbalance: sticky\nretry:\n  on: [429]\n  attempts: 2\npolicy:\n  preset: off\n`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const once = (sid) => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(`${gw.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-session-id': sid } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode }));
    });
    req.on('error', reject);
    req.end(CHAT_BODY);
  });
  let viaA = null;
  let viaB = null;
  for (let i = 0; i < 40 && (viaA === null || viaB === null); i++) {
    const before = a.count;
    await once(`s${i}`);
    if (a.count > before) viaA ??= `s${i}`; else viaB ??= `s${i}`;
  }
  for (let i = 0; i < 300; i++) { await once(viaA); await once(viaB); } // warm-up
  const retried = [];
  const direct = [];
  for (let i = 0; i < 2000; i++) {
    for (const sid of [viaA, viaB]) {
      const before = a.count;
      const r = await once(sid);
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      (a.count > before ? retried : direct).push(r.ms);
    }
  }
  const q = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(p * (s.length - 1))]; };
  console.log(`\n## retry: 429 from A answered by B (sequential, one connection; load ${load()})`);
  console.log('| path | n | p50 ms | p90 ms |');
  console.log('|---|---|---|---|');
  console.log(`| B directly | ${direct.length} | ${fmt(q(direct, 0.5), 3)} | ${fmt(q(direct, 0.9), 3)} |`);
  console.log(`| A 429 → B | ${retried.length} | ${fmt(q(retried, 0.5), 3)} | ${fmt(q(retried, 0.9), 3)} |`);
  console.log(`added by the retry (p50 difference): ${fmt(q(retried, 0.5) - q(direct, 0.5), 3)} ms`);
  a.srv.close(); b.srv.close(); agent.destroy();
  await stopAll();
}

// ---- 3. reload under load ----
async function reloadUnderLoad() {
  const up = await mock();
  const rule = (w) => `upstreams:\n  - url: ${up.url}\npolicy:\n  preset: standard\n  rules:\n    - name: word\n      target: request\n      literals: [${w}]\n      action: block\n`;
  const gw = await gateway(rule('never-said-0'));
  // 200 SSE streams, each 40 deltas 150ms apart (~6s), opened before the load starts
  const streamAgent = new http.Agent({ keepAlive: false, maxSockets: 500 });
  let broken = 0;
  let finished = 0;
  const streams = Array.from({ length: 200 }, (_, i) => new Promise((resolve) => {
    const req = http.request(`${gw.url}/v1/chat/completions`, {
      method: 'POST', agent: streamAgent,
      headers: { 'content-type': 'application/json', 'x-session-id': `stream-${i}`, 'x-mock-deltas': String(DELTAS), 'x-mock-delay-ms': '150' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => { if (res.statusCode === 200 && text.includes('[DONE]') && !text.includes('event: error')) finished++; else broken++; resolve(); });
      res.on('error', () => { broken++; resolve(); });
    });
    req.on('error', () => { broken++; resolve(); });
    req.end(JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
  }));
  await new Promise((r) => setTimeout(r, 500));
  const swaps = [];
  const prepares = [];
  const stalls = [];
  let reloadsOk = 0;
  let n = 0;
  const timer = setInterval(() => {
    n++;
    writeFileSync(gw.file, rule(`never-said-${n}`));
    fetch(`${gw.ctl}/control/reload`, { method: 'POST' }).then((r) => r.json()).then((j) => {
      if (j.reloaded) { reloadsOk++; swaps.push(j.swap_ms); prepares.push(j.prepare_ms); stalls.push(j.loop_delay_max_ms); }
    }, () => undefined);
  }, 400);
  const result = await autocannon({
    url: `${gw.url}/v1/chat/completions`, method: 'POST', body: CHAT_BODY, headers: { 'content-type': 'application/json' },
    connections: 50, overallRate: 1000, duration: SECONDS,
  });
  clearInterval(timer);
  await Promise.all(streams);
  streamAgent.destroy();
  const mem = async () => (await (await fetch(`${gw.ctl}/control/memory`)).json());
  console.log(`\n## reload under load (autocannon -c50 -R1000 -d${SECONDS}s + 200 SSE streams, a reload every 400ms; load ${load()})`);
  console.log(`requests: ${result.requests.total} at ${fmt(result.requests.average, 0)} req/s; non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}`);
  console.log(`streams: ${finished} finished whole, ${broken} broken; reloads applied ${reloadsOk}/${n}`);
  console.log(`swap ms: median ${fmt(median(swaps), 3)}, max ${fmt(Math.max(...swaps), 3)}; prepare (rule compile, sliced) ms: median ${fmt(median(prepares), 2)}, max ${fmt(Math.max(...prepares), 2)}`);
  console.log(`event loop held at most, per reload (gateway's monitorEventLoopDelay) ms: median ${fmt(median(stalls), 1)}, max ${fmt(Math.max(...stalls), 1)}`);
  console.log(`request latency under reloads ms: p50 ${result.latency.p50}, p99 ${result.latency.p99}, max ${result.latency.max}`);
  // 100 reloads at a time, new rules each: RSS and heap after each hundred (after a settle). A
  // leak grows every round; allocator retention grows once and stays.
  const m0 = await mem();
  const line = [`rss ${fmt(m0.rss_bytes / 2 ** 20, 1)} MiB / heap ${fmt(m0.heap_used_bytes / 2 ** 20, 1)} MiB`];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100; i++) {
      writeFileSync(gw.file, rule(`again-${round}-${i}`));
      await (await fetch(`${gw.ctl}/control/reload`, { method: 'POST' })).json();
    }
    await new Promise((r) => setTimeout(r, 2000));
    const m = await mem();
    line.push(`${fmt(m.rss_bytes / 2 ** 20, 1)} / ${fmt(m.heap_used_bytes / 2 ** 20, 1)}`);
  }
  console.log(`reloads 0, 100, 200, 300: ${line.join(' → ')}`);
  await stopAll();
}

// ---- 4. compile stall (in this process) ----
// Two views of how long the event loop is held: monitorEventLoopDelay's max (wall time, so on a
// loaded box it includes the OS running other processes: `nothing` shows that floor), and the
// largest CPU time spent between two turns of the loop (a setImmediate chain reading
// process.cpuUsage), which preemption does not inflate.
async function compileStall() {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const { createPolicyEngine, createPolicyEngineSliced } = await import('../dist/policy/index.js');
  const { PROFILE_BOUNDS } = await import('../dist/config/profiles.js');
  const opts = (i) => ({ preset: 'standard', rules: [{ name: 'w', target: 'request', literals: [`never-said-${i}`], action: 'block' }], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
  const rounds = 10 * RUNS;
  const res = { 'one go': [], sliced: [], nothing: [] };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  for (let i = 0; i < rounds; i++) {
    for (const kind of i % 2 === 0 ? ['one go', 'sliced', 'nothing'] : ['nothing', 'sliced', 'one go']) {
      const h = monitorEventLoopDelay({ resolution: 1 });
      await sleep(20);
      let last = cpuMs();
      let held = 0;
      let on = true;
      const turn = () => { const c = cpuMs(); held = Math.max(held, c - last); last = c; if (on) setImmediate(turn); };
      h.enable();
      setImmediate(turn);
      await sleep(5);
      const t0 = performance.now();
      if (kind === 'one go') createPolicyEngine(opts(i));
      else if (kind === 'sliced') await createPolicyEngineSliced(opts(i));
      else await sleep(median(res.sliced.map((x) => x.wall)) || 50);
      const wall = performance.now() - t0;
      await sleep(5);
      on = false;
      h.disable();
      res[kind].push({ stall: h.max / 1e6, held, wall });
    }
  }
  console.log(`\n## compile stall: standard preset + 1 rule, ${rounds} rounds alternated (load ${load()})`);
  console.log('| compile | CPU between two loop turns, median ms | max ms | loop delay (wall), median ms | max ms | wall median ms |');
  console.log('|---|---|---|---|---|---|');
  for (const [k, xs] of Object.entries(res)) {
    const col = (f) => `${fmt(median(xs.map(f)), 1)} | ${fmt(Math.max(...xs.map(f)), 1)}`;
    console.log(`| ${k} | ${col((x) => x.held)} | ${col((x) => x.stall)} | ${fmt(median(xs.map((x) => x.wall)), 1)} |`);
  }
}

if (!ONLY || ONLY === 'stall') await compileStall();
if (!ONLY || ONLY === 'tracing') await tracing();
if (!ONLY || ONLY === 'retry') await retry();
if (!ONLY || ONLY === 'reload') await reloadUnderLoad();
process.exit(0);
