#!/usr/bin/env node
// Concurrent large uploads through the gateway (issue 15): bodies are held whole for the policy, so they
// are admitted against a share of the memory budget (src/proxy/uploads.ts). Prints peak RSS (VmHWM) as
// a ratio of the limit, the most bodies the upstream saw at once, and the statuses.
//   node bench/uploads.mjs [count=150] [bytes=9900000] [limit=1GiB]   (POLICY=standard|off, default off)
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const N = Number(process.argv[2] || 150), SIZE = Number(process.argv[3] || 9.9e6), LIMIT = process.argv[4] || '1GiB';
let inflight = 0, max = 0;
const up = http.createServer((req, res) => { inflight++; max = Math.max(max, inflight); req.resume(); req.on('end', () => setTimeout(() => { inflight--; res.writeHead(200, {'content-type':'application/json'}).end('{"ok":true}'); }, 150)); });
await new Promise((r) => up.listen(0, '127.0.0.1', r));
const P = 32000 + Math.floor(Math.random() * 1000);
const gw = spawn(process.execPath, [fileURLToPath(new URL('../dist/cli.js', import.meta.url)), 'start', '--listen', `127.0.0.1:${P}`, '--control-listen', `127.0.0.1:${P + 1}`, '--upstream', `http://127.0.0.1:${up.address().port}`, '--memory-limit', LIMIT, '--policy', process.env.POLICY || 'off', '--data-dir', mkdtempSync(join(tmpdir(), 'cordon-bench-uploads-')), '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
await new Promise((r) => setTimeout(r, 2500));
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gw.pid}/status`, 'utf8'))[1]) / 1024;
const idle = rss(); let peak = 0;
let hp = { heap: 0, ext: 0 };
const iv = setInterval(() => { peak = Math.max(peak, rss()); http.get(`http://127.0.0.1:${P + 1}/control/memory`, (r) => { let t = ''; r.on('data', (d) => t += d); r.on('end', () => { try { const j = JSON.parse(t); hp.heap = Math.max(hp.heap, j.heap_total_bytes / 1048576); hp.ext = Math.max(hp.ext, j.external_bytes / 1048576); } catch {} }); }).on('error', () => {}); }, 20);
const body = Buffer.from(`{"model":"m","messages":[{"role":"user","content":"${'a'.repeat(SIZE - 60)}"}]}`);
const t0 = Date.now();
const st = await Promise.all(Array.from({ length: N }, (_, i) => new Promise((resolve) => {
  const req = http.request({ host: '127.0.0.1', port: P, method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-session-id': `u${i}` } }, (res) => { let t = ''; res.on('data', (d) => { if (t.length < 300) t += d; }); res.on('end', () => { if (res.statusCode !== 200) console.error(res.statusCode, t.slice(0, 200)); resolve(res.statusCode); }); });
  req.on('error', (e) => resolve(String(e.code))); req.end(body);
})));
clearInterval(iv);
const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${gw.pid}/status`, 'utf8'))[1]) / 1024;
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const counts = {}; for (const s of st) counts[s] = (counts[s] ?? 0) + 1;
console.log(JSON.stringify({ N, SIZE, LIMIT, idle: idle.toFixed(1), peakPolled: peak.toFixed(1), hwm: hwm.toFixed(1), ratio: (hwm / parseInt(LIMIT) / (LIMIT.endsWith('GiB') ? 1024 : 1)).toFixed(3), maxUpstreamConcurrent: max, heapTotalMax: hp.heap.toFixed(1), externalMax: hp.ext.toFixed(1), statuses: counts, ms: Date.now() - t0, load }));
gw.kill(); up.close(); process.exit(0);
