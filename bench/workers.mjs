// bench:workers — does node:cluster with N gateway workers on one port raise throughput here?
// One run: a fixed-reply upstream, then cordon with 1 and with N workers under the same wrk load.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { ROOT, freePort, start, stop, wrk, fmt, table } from './lib.mjs';

const N = Number(process.argv[2] ?? 2);
const SECONDS = Number(process.argv[3] ?? 8);
const upPort = await freePort();
const up = await start(process.execPath, [join(ROOT, 'bench/fixtures/upstream.mjs'), String(upPort)], { ready: 'upstream ready' });
const rows = [];
const results = {};
for (const w of [1, N, 1, N]) {
  const port = await freePort();
  const c = await start(process.execPath, [join(ROOT, 'bench/fixtures/cluster-gateway.mjs'), String(port), String(upPort), String(w)], { ready: 'cluster ready' });
  wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { seconds: 2 });
  const r = wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { seconds: SECONDS });
  (results[w] ??= []).push(r.rps);
  rows.push([`${w} worker${w > 1 ? 's' : ''}`, fmt(r.rps, 0), fmt(r.p50), fmt(r.p99)]);
  await stop(c);
}
await stop(up);
const best = (w) => Math.max(...results[w]);
const md = [
  `### bench:workers — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Command: \`node bench/workers.mjs ${N} ${SECONDS}\` (wrk 50 connections, policy off, fixed-reply upstream; runs interleaved 1, ${N}, 1, ${N}).`,
  '',
  table(['gateway', 'req/s', 'p50 ms', 'p99 ms'], rows),
  '',
  `Best of each: ${N} workers / 1 worker = ${fmt(best(N) / best(1))}×.`,
  '',
].join('\n');
console.log(md);
writeFileSync(join(ROOT, 'bench/results/workers.md'), md);
process.exit(0);
