// bench:tools — the tools part's targets (issue #17):
//   filter   allow/deny filtering per request with 100 globs (target ≤ 2µs), in process
//   memory   bytes per pending hold, 1,000 holds (target ≤ 4KB + the held chunk), in process
//   approve  operator approves → call forwarded: p50/p99 over 100 approvals, one instance
//            (target ≤ 50ms) and two instances on one Redis, held on A and approved on B (≤ 250ms)
// Usage: node bench/tools.mjs [filter|memory|approve ...]   (default: all)
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { CLI, freePort, start, stop } from './lib.mjs';

const { ToolGate } = await import('../dist/tools/gate.js');
const { ToolLists } = await import('../dist/tools/lists.js');
const { Approvals } = await import('../dist/tools/approvals.js');

const which = process.argv.slice(2);
const want = (k) => which.length === 0 || which.includes(k);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const out = [];

function globs100() {
  const g = [];
  for (let i = 0; i < 40; i++) g.push(`tool_exact_${i}`);
  for (let i = 0; i < 40; i++) g.push(`ns${i}.*`);
  for (let i = 0; i < 20; i++) g.push(`svc${i}_[a-m]?_*_v[0-9]`);
  return g;
}

if (want('filter')) {
  const rules = { hold: [], descriptions: [], loops: [] };
  const approvals = new Approvals({ timeoutMs: 1000, maxPerSession: 1 });
  const lists = ToolLists.compile({ allow: globs100(), deny: ['ns3.delete_*', 'tool_exact_7'] }, 'policy.tools');
  const gate = new ToolGate({ lists, rules, approvals, mode: 'enforce', excerptBytes: 200, holdBytes: 1 << 20 });
  const names = ['tool_exact_3', 'ns12.read', 'ns5.search_docs', 'svc4_ab_x_v2', 'tool_exact_31', 'ns30.list', 'svc9_mz_q_v7', 'ns1.write'];
  const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: names.map((n) => ({ type: 'function', function: { name: n, description: 'x', parameters: {} } })) };
  const caller = { sessionId: 's', agent: null, keyLists: null };
  const run = (n) => { const t0 = process.hrtime.bigint(); for (let i = 0; i < n; i++) gate.request(body, caller); return Number(process.hrtime.bigint() - t0) / n; };
  run(200_000);
  const warm = pct([run(200_000), run(200_000), run(200_000), run(200_000), run(200_000)], 50);
  // cold: every name new, so the per-name cache never answers (the compiled matcher does)
  let k = 0;
  const cold = (n) => { const t0 = process.hrtime.bigint(); for (let i = 0; i < n; i++) lists.permits(`ns${k % 40}.x${k++}`); return Number(process.hrtime.bigint() - t0) / n; };
  cold(100_000);
  const coldNs = pct([cold(100_000), cold(100_000), cold(100_000)], 50);
  out.push(`filter: ${names.length} tools per request, 100 globs (40 exact, 40 prefix, 20 with classes): ${(warm / 1000).toFixed(3)} µs/request (median of 5 × 200k); uncached name: ${coldNs.toFixed(0)} ns/name`);
}

if (want('memory')) {
  global.gc?.();
  const approvals = new Approvals({ timeoutMs: 600_000, maxPerSession: 1000, maxTotal: 10_000 });
  const before = process.memoryUsage().heapUsed;
  const N = 1000;
  const held = [];
  for (let i = 0; i < N; i++) {
    held.push(approvals.hold({ sessionId: `session-${i % 50}`, agent: 'agent-x', tool: 'shell', args: JSON.stringify({ command: `rm -rf /srv/app/build-${i} && echo done` }), rule: 'hold-destructive', heldBytes: 0 }));
  }
  global.gc?.();
  const after = process.memoryUsage().heapUsed;
  const perHold = (after - before) / N;
  out.push(`memory: ${N} pending holds: ${(perHold / 1024).toFixed(2)} KiB each measured on the heap (accounted: ${(approvals.bytes() / N / 1024).toFixed(2)} KiB each), ${approvals.size} pending`);
  approvals.close();
}

async function upstreamRecorder() {
  const arrivals = new Map();
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => { b += d; });
    req.on('end', () => {
      try { const j = JSON.parse(b); arrivals.set(j.params?.arguments?.n, performance.now() + performance.timeOrigin); } catch { /* ignore */ }
      const text = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [] } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  const port = await freePort();
  await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, arrivals, close: () => srv.close() };
}

async function gateway(upstream, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-bench-tools-'));
  writeFileSync(join(dir, 'c.yaml'), "log_level: warn\npolicy:\n  preset: off\n  max_pending_approvals: 1000\n  rules:\n    - name: hold-shell\n      target: tool_call\n      patterns: ['rm\\s+-rf']\n      action: hold\n");
  const [p, c] = [await freePort(), await freePort()];
  const child = await start(process.execPath, [CLI, 'start', '--config', join(dir, 'c.yaml'), '--upstream', upstream, '--listen', `127.0.0.1:${p}`, '--control-listen', `127.0.0.1:${c}`, '--data-dir', dir, ...extra], { ready: 'cordon listening', env: { CORDON_LOG_LEVEL: 'info' }, quiet: false });
  return { child, proxy: `http://127.0.0.1:${p}`, control: `http://127.0.0.1:${c}` };
}

/** Waits for approval ids announced on the control event stream. */
function approvalStream(control) {
  const waiting = new Map();
  const ctrl = new AbortController();
  fetch(`${control}/control/events`, { signal: ctrl.signal }).then(async (r) => {
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of r.body) {
      buf += dec.decode(chunk);
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i); buf = buf.slice(i + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (!frame.startsWith('event: approval') || !data) continue;
        const ev = JSON.parse(data.slice(6));
        if (ev.type !== 'pending') continue;
        const n = JSON.parse(ev.approval.arguments_excerpt).n;
        waiting.get(n)?.(ev.id);
      }
    }
  }).catch(() => undefined);
  return { next: (n) => new Promise((r) => waiting.set(n, r)), close: () => ctrl.abort() };
}

async function roundTrips(holder, decider, up, count) {
  const events = approvalStream(holder.control);
  await new Promise((r) => setTimeout(r, 300));
  const times = [];
  for (let n = 0; n < count; n++) {
    const got = events.next(n);
    const call = fetch(`${holder.proxy}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': `bench-${n % 20}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'shell', arguments: { n, command: 'rm -rf ./x' } } }) });
    const id = await got;
    const t0 = performance.now() + performance.timeOrigin;
    const r = await fetch(`${decider.control}/control/approvals/${id}/approve`, { method: 'POST' });
    if (r.status !== 200) { console.error(`approve ${id} (n=${n}) answered ${r.status}: ${await r.text()}`); await new Promise((res) => setTimeout(res, 500)); continue; }
    await (await call).arrayBuffer();
    times.push(up.arrivals.get(n) - t0);
  }
  events.close();
  return times;
}

if (want('approve')) {
  const up = await upstreamRecorder();
  const a = await gateway(up.url);
  const one = await roundTrips(a, a, up, 100);
  out.push(`approve, one instance: p50 ${pct(one, 50).toFixed(1)} ms, p99 ${pct(one, 99).toFixed(1)} ms, max ${Math.max(...one).toFixed(1)} ms (100 approvals)`);
  stop(a.child);
  if (spawnSync('redis-server', ['--version']).status === 0) {
    const rport = await freePort();
    const redis = await start('redis-server', ['--port', String(rport), '--save', '', '--appendonly', 'no'], { ready: 'Ready to accept' });
    const url = `redis://127.0.0.1:${rport}`;
    const [ga, gb] = [await gateway(up.url, ['--redis', url]), await gateway(up.url, ['--redis', url])];
    const two = await roundTrips(ga, gb, up, 100);
    out.push(`approve, held on A, approved on B (Redis): p50 ${pct(two, 50).toFixed(1)} ms, p99 ${pct(two, 99).toFixed(1)} ms, max ${Math.max(...two).toFixed(1)} ms (100 approvals)`);
    stop(ga.child); stop(gb.child); stop(redis);
  } else {
    out.push('approve across instances: skipped (no redis-server)');
  }
  up.close();
}

console.log(`bench:tools  node ${process.version}  load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const l of out) console.log(`  ${l}`);
process.exit(0);
