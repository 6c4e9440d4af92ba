#!/usr/bin/env node
// Soak: steady mixed load through the real gateway for a fixed time, RSS read from outside
// (/proc/PID/status) every 5s. Target: RSS growth < 5% between the end of warm-up and the end.
//
//   node bench/soak.mjs [--minutes 10] [--rate 200] [--sessions 2000] [--profile standard]
//                       [--out bench/results/memory.md]
//
// Load, per second `rate` requests at most 32 in flight, drawn from a fixed set of `sessions` IDs
// (so the session table reaches a steady size; new-session churn is the density bench's job):
//   55% OpenAI chat, not streamed      25% OpenAI chat, SSE (16 deltas, 5ms apart)
//   15% Anthropic messages, SSE         5% a 4KiB request body, not streamed
// Warm-up is the first 20% of the run (at least 30s). Targets 127.0.0.1 only.
import { appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { MiB, fdLimit, getJson, procMem, reexecWithUlimit, startGateway, startMock, stopProc } from './memory.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const o = { minutes: 10, rate: 200, sessions: 2000, profile: 'standard', out: path.join(ROOT, 'bench/results/memory.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--minutes') o.minutes = Number(argv[++i]);
    else if (a === '--rate') o.rate = Number(argv[++i]);
    else if (a === '--sessions') o.sessions = Number(argv[++i]);
    else if (a === '--profile') o.profile = argv[++i];
    else if (a === '--out') o.out = argv[++i];
    else { console.error(`unknown argument ${a}`); process.exit(2); }
  }
  if (!(o.minutes > 0) || !(o.rate > 0) || !(o.sessions > 0)) { console.error('--minutes, --rate and --sessions must be positive'); process.exit(2); }
  return o;
}

const msgs = [{ role: 'user', content: 'summarise the meeting notes' }];
const BODIES = {
  chat: JSON.stringify({ model: 'm', messages: msgs }),
  chatStream: JSON.stringify({ model: 'm', stream: true, messages: msgs }),
  anthropic: JSON.stringify({ model: 'claude', max_tokens: 256, stream: true, messages: msgs }),
  big: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'y'.repeat(4096) }] }),
};

function pick(i) {
  const r = (i * 2654435761 >>> 0) % 100; // a fixed, even spread over the mix
  if (r < 55) return { path: '/v1/chat/completions', body: BODIES.chat, headers: {} };
  if (r < 80) return { path: '/v1/chat/completions', body: BODIES.chatStream, headers: { 'x-mock-deltas': '16', 'x-mock-delay-ms': '5' } };
  if (r < 95) return { path: '/v1/messages', body: BODIES.anthropic, headers: { 'x-mock-deltas': '16', 'x-mock-delay-ms': '5', 'anthropic-version': '2023-06-01' } };
  return { path: '/v1/chat/completions', body: BODIES.big, headers: {} };
}

async function main() {
  if (await reexecWithUlimit(fileURLToPath(import.meta.url))) return;
  const o = parseArgs(process.argv.slice(2));
  const mock = await startMock();
  const gw = await startGateway({ upstreams: [mock.url], profile: o.profile, logLevel: 'info' });
  const pool = new Pool(gw.proxy, { connections: 32 });
  const durationMs = o.minutes * 60_000;
  const warmMs = Math.max(30_000, durationMs * 0.2);
  const samples = [];
  const statuses = {};
  let sent = 0, inflight = 0, skipped = 0;
  const t0 = performance.now();
  samples.push({ t: 0, rss: procMem(gw.pid).rss });
  let died = null;
  const alive = () => gw.proc.exitCode === null && gw.proc.signalCode === null;
  const onExit = (code, sig) => { died = `exit ${code ?? sig}: ${gw.stderr().trim().split('\n').slice(-5).join(' | ')}`; };
  gw.proc.once('exit', onExit);
  const sampler = setInterval(() => { if (alive()) samples.push({ t: (performance.now() - t0) / 1000, rss: procMem(gw.pid).rss }); }, 5000);

  const one = async (i) => {
    inflight++;
    const req = pick(i);
    try {
      const r = await pool.request({
        path: req.path, method: 'POST', body: req.body,
        headers: { 'content-type': 'application/json', 'x-session-id': `soak-${i % o.sessions}`, ...req.headers },
      });
      await r.body.dump();
      statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
    } catch (err) {
      statuses[err.code ?? 'error'] = (statuses[err.code ?? 'error'] ?? 0) + 1;
    } finally {
      inflight--;
    }
  };
  // Open-loop pacing in 50ms ticks; a tick that finds 32 in flight skips (and counts) its share.
  const perTick = o.rate / 20;
  let owed = 0;
  let lastReport = 0;
  while (performance.now() - t0 < durationMs && died === null) {
    owed += perTick;
    while (owed >= 1) {
      owed--;
      if (inflight >= 32) { skipped++; continue; }
      void one(sent++);
    }
    const el = performance.now() - t0;
    if (el - lastReport > 60_000) {
      lastReport = el;
      console.error(`soak ${(el / 60_000).toFixed(1)}min: sent ${sent}, RSS ${(samples[samples.length - 1].rss / MiB).toFixed(1)} MiB`);
    }
    await sleep(50);
  }
  while (inflight > 0) await sleep(20);
  clearInterval(sampler);
  if (died !== null) console.error(`gateway died: ${died}`);
  const end = died === null ? { t: (performance.now() - t0) / 1000, rss: procMem(gw.pid).rss } : samples[samples.length - 1];
  if (died === null) samples.push(end);
  const mem = died === null ? await getJson(`${gw.control}/control/memory`) : { body: null };
  const isAlive = died === null;
  await pool.close();
  gw.proc.off('exit', onExit); // our own SIGKILL below is not a death
  await gw.stop();
  await stopProc(mock.proc);

  // RSS at the end of warm-up and at the end: the median of the samples in the 60s before, so that neither
  // lands on a GC dip or a peak (a 10-minute run showed a 15 MiB dip right at the 120s mark).
  const warmS = warmMs / 1000;
  const around = samples.filter((s) => s.t <= warmS + 2.5 && s.t > warmS - 60).map((s) => s.rss).sort((a, b) => a - b);
  const warmRss = around.length ? around[Math.floor(around.length / 2)] : samples[0].rss;
  const tail = samples.filter((s) => s.t > end.t - 60).map((s) => s.rss).sort((a, b) => a - b);
  const endRss = tail.length ? tail[Math.floor(tail.length / 2)] : end.rss;
  const growth = (endRss - warmRss) / warmRss;
  // Least-squares slope of RSS after warm-up, in MiB per hour: a leak shows here before it shows in the end figure.
  const post = samples.filter((s) => s.t >= warmS);
  let slope = NaN;
  if (post.length >= 3) {
    const mt = post.reduce((a, s) => a + s.t, 0) / post.length;
    const mv = post.reduce((a, s) => a + s.rss, 0) / post.length;
    let stt = 0, stv = 0;
    for (const s of post) { stt += (s.t - mt) ** 2; stv += (s.t - mt) * (s.rss - mv); }
    slope = (stv / stt) * 3600 / MiB;
  }
  const ok = growth < 0.05;
  const lines = [
    `## ${new Date().toISOString()} — soak: \`node bench/soak.mjs ${process.argv.slice(2).join(' ')}\``, '',
    `Node ${process.version}, ${os.cpus().length} cores, RLIMIT_NOFILE ${fdLimit()}; profile ${o.profile}, ${o.minutes} min, target ${o.rate} req/s, ${o.sessions} session IDs, warm-up ${Math.round(warmS)}s.`, '',
    '| measure | value | target | |',
    '|---|---|---|---|',
    `| requests sent (skipped at 32 in flight) | ${sent.toLocaleString('en-US')} (${skipped}) | | |`,
    `| statuses | ${JSON.stringify(statuses)} | all 200 | ${Object.keys(statuses).every((k) => k === '200') ? 'pass' : '**FAIL**'} |`,
    `| RSS before load | ${(samples[0].rss / MiB).toFixed(1)} MiB | | |`,
    `| RSS at end of warm-up | ${(warmRss / MiB).toFixed(1)} MiB | | |`,
    `| RSS at end | ${(endRss / MiB).toFixed(1)} MiB | | |`,
    `| growth after warm-up | ${(growth * 100).toFixed(2)}% | < 5% | ${ok ? 'pass' : '**FAIL**'} |`,
    `| RSS trend after warm-up | ${slope.toFixed(2)} MiB/hour | | |`,
    `| gateway alive at end | ${isAlive}${died ? ` (${died})` : ''} | true | ${isAlive ? 'pass' : '**FAIL**'} |`,
    `| leak watch suspects at end | ${mem.body ? JSON.stringify(mem.body.leak_suspects.map((s) => s.series)) : 'n/a'} | | |`,
    '',
    `RSS samples (s, MiB): ${samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 24)) === 0).map((s) => `${Math.round(s.t)}:${(s.rss / MiB).toFixed(1)}`).join(' ')}`,
    '',
  ];
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);
  if (o.out) appendFileSync(o.out, `${text}\n`);
  process.exit(ok && isAlive ? 0 : 1);
}

main().catch((err) => { console.error(err); process.exit(1); });
