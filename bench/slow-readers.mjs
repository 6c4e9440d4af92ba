#!/usr/bin/env node
// Slow-reader slope (issue 15): N clients open an endless SSE answer through the gateway and then read
// one byte per step; RSS, heap, external and the streams' accounts are read at each N, and the slope
// per reader printed. Each client has its own source address (127.1.x.y), so per-IP limits do not apply.
//   node bench/slow-readers.mjs [limit=1GiB] [steps=0,250,500,1000] [gateway flags...]   (POLICY=standard|off)
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const LIMIT = process.argv[2] || '1GiB';
const STEPS = (process.argv[3] || '0,250,500,1000').split(',').map(Number);
const EXTRA = process.argv.slice(4);
const chunk = Buffer.from(`data: ${'y'.repeat(16 * 1024 - 8)}\n\n`);
const up = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const pump = () => { while (res.write(chunk)); res.once('drain', pump); };
  pump(); res.on('error', () => {});
});
up.maxConnections = 100000;
await new Promise((r) => up.listen(0, '127.0.0.1', r));
const P = 33000 + Math.floor(Math.random() * 1000);
const gw = spawn(process.execPath, [fileURLToPath(new URL('../dist/cli.js', import.meta.url)), 'start', '--listen', `127.0.0.1:${P}`, '--control-listen', `127.0.0.1:${P + 1}`, '--upstream', `http://127.0.0.1:${up.address().port}`, '--memory-limit', LIMIT, '--policy', process.env.POLICY || 'standard', '--data-dir', mkdtempSync(join(tmpdir(), 'cordon-bench-slow-')), '--log-level', 'error', ...EXTRA], { stdio: ['ignore', 'inherit', 'inherit'], cwd: tmpdir(), env: { ...process.env, NODE_OPTIONS: process.env.SNAP ? '--heapsnapshot-signal=SIGUSR2' : '' } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await sleep(3000);
const st = () => { const s = readFileSync(`/proc/${gw.pid}/status`, 'utf8'); const k = (n) => Number(new RegExp(`${n}:\\s+(\\d+)`).exec(s)[1]) / 1024; return { rss: k('VmRSS'), anon: k('RssAnon') }; };
const mem = () => new Promise((r) => http.get(`http://127.0.0.1:${P + 1}/control/memory`, (res) => { let t = ''; res.on('data', (d) => t += d); res.on('end', () => r(JSON.parse(t))); }));
const socks = []; const statuses = {};
const rows = [];
for (const n of STEPS) {
  while (socks.length < n) {
    const i = socks.length;
    const s = net.connect({ port: P, host: '127.0.0.1', localAddress: `127.1.${(i >> 8) & 255}.${(i & 255) || 1}` });
    s.on('error', () => {});
    s.write(`GET /v1/sse HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\nx-session-id: slow-${socks.length}\r\n\r\n`);
    s.once('data', (d) => { const st = d.toString('latin1', 9, 12); statuses[st] = (statuses[st] ?? 0) + 1; s.pause(); });
    socks.push(s);
    if (socks.length % 50 === 0) await sleep(100);
  }
  for (let w = 0; w < 60 && Object.values(statuses).reduce((a, b) => a + b, 0) < n; w++) await sleep(500);
  await sleep(3000);
  for (const s of socks) s.read(1);
  await sleep(1000);
  const m = await mem();
  const r = { n, ...st(), heapTotal: m.heap_total_bytes / 1048576, heapUsed: m.heap_used_bytes / 1048576, external: m.external_bytes / 1048576, buffers: m.components.buffers.bytes / 1048576, streams: m.components.buffers.count, unattributed: m.components.unattributed.bytes / 1048576, pressure: m.pressure, statuses: JSON.stringify(statuses) };
  rows.push(r);
  console.log(JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 10) / 10 : v]))));
}
const a = rows[0], b = rows[rows.length - 1];
const per = (k) => ((b[k] - a[k]) * 1024 / (b.n - a.n)).toFixed(1);
console.log(`slope per reader (KiB): rss ${per('rss')}, anon ${per('anon')}, heapTotal ${per('heapTotal')}, external ${per('external')}, buffers ${per('buffers')}`);
if (process.env.SNAP) { gw.kill('SIGUSR2'); await sleep(8000); }
if (process.env.SMAPS) { const sm = readFileSync(`/proc/${gw.pid}/smaps`, 'utf8'); const out = {}; let name = ''; for (const line of sm.split('\n')) { const h = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line); if (h) { name = h[1] || 'anon'; continue; } const m = /^Rss:\s+(\d+)/.exec(line); if (m) out[name] = (out[name] ?? 0) + Number(m[1]); } console.log(Object.entries(out).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${(v / 1024).toFixed(1)}`).join('; ')); }
gw.kill(); for (const s of socks) s.destroy(); up.close(); process.exit(0);
