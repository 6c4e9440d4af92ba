// Tail latency that cordon adds: p50, p99 and p99.9 over direct at 1, 10 and 100 connections, with
// the policy off and on, and the time to first byte added on SSE streams. Part of bench:proxy (it
// runs at the end of bench/proxy.mjs unless --no-tail), also runnable alone:
//   node bench/tail.mjs [--seconds 5] [--runs 3] [--pin] [--out bench/results/tail.md]
// Added latency is per run (target − direct of the same run and connection count), then the median
// over runs: the box is shared, and only same-run differences mean anything.
import http from 'node:http';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT, freePort, start, stop, wrk, fmt, table, pinTree, startCordon, median } from './lib.mjs';

// wrk prints only 50/75/90/99 with --latency; this prints the percentiles we report, in µs.
const PERCENTILES_LUA = `
done = function(summary, latency, requests)
  for _, p in pairs({50, 99, 99.9}) do
    io.write(string.format("TAIL p%g %d\\n", p, latency:percentile(p)))
  end
end`;

function tailOf(out) {
  const get = (p) => Number(new RegExp(`TAIL p${p} (\\d+)`).exec(out)?.[1]) / 1000;
  return { p50: get('50'), p99: get('99'), p999: get('99.9') };
}

/** Time to first body byte of `n` sequential streamed chat requests, in ms. */
async function ttfbSamples(port, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(await new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'x-session-id': 'tail-sse', 'x-mock-deltas': '4' } }, (res) => {
        let first = 0;
        res.on('data', () => { if (first === 0) first = Number(process.hrtime.bigint() - t0) / 1e6; });
        res.on('end', () => resolve(first));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    }));
  }
  agent.destroy();
  return out.sort((a, b) => a - b);
}
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export async function measureTail({ seconds = 5, runs = 3, pin = false, sseSamples = 500, upPort = null } = {}) {
  const children = [];
  try {
    let up = null;
    if (upPort === null) {
      upPort = await freePort();
      up = await start(process.execPath, [join(ROOT, 'bench/fixtures/upstream.mjs'), String(upPort)], { ready: 'upstream ready' });
      children.push(up);
    }
    const off = await startCordon(upPort, ['--policy', 'off', '--log-level', 'warn']);
    const on = await startCordon(upPort, ['--policy', 'standard', '--log-level', 'warn']);
    children.push(off.child, on.child);
    if (pin) {
      if (up) pinTree(up.pid, '0');
      pinTree(process.pid, '0'); pinTree(off.child.pid, '1'); pinTree(on.child.pid, '1');
    }
    const cpus = pin ? '0' : null;
    const targets = [['direct', upPort], ['policy off', off.port], ['policy standard', on.port]];
    const rows = [];
    for (const conns of [1, 10, 100]) {
      const per = Object.fromEntries(targets.map(([n]) => [n, []]));
      for (const [, port] of targets) wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: conns, threads: Math.min(2, conns), seconds: 1, cpus });
      for (let r = 0; r < runs; r++) {
        for (const [name, port] of (r % 2 === 0 ? targets : [...targets].reverse())) {
          const w = wrk(`http://127.0.0.1:${port}/v1/chat/completions`, { connections: conns, threads: Math.min(2, conns), seconds, cpus, lua: PERCENTILES_LUA });
          per[name].push(tailOf(w.raw));
        }
      }
      const added = (name, k) => median(per[name].map((x, i) => x[k] - per.direct[i][k]));
      for (const name of ['policy off', 'policy standard']) {
        rows.push([String(conns), name, fmt(added(name, 'p50'), 3), fmt(added(name, 'p99'), 3), fmt(added(name, 'p999'), 3),
          `${fmt(median(per.direct.map((x) => x.p50)), 3)} / ${fmt(median(per.direct.map((x) => x.p99)), 3)} / ${fmt(median(per.direct.map((x) => x.p999)), 3)}`]);
      }
    }
    // SSE time to first byte: the mock LLM streams 4 deltas; direct vs through cordon (policy standard).
    const mockPort = await freePort();
    const mock = await start(process.execPath, [CLI, 'mock-llm', '--listen', `127.0.0.1:${mockPort}`], { ready: 'mock LLM listening' });
    children.push(mock);
    const sseGw = await startCordon(mockPort, ['--policy', 'standard', '--log-level', 'warn']);
    children.push(sseGw.child);
    if (pin) { pinTree(mock.pid, '0'); pinTree(sseGw.child.pid, '1'); }
    await ttfbSamples(sseGw.port, 100); await ttfbSamples(mockPort, 100); // warm-up
    const d = await ttfbSamples(mockPort, sseSamples);
    const c = await ttfbSamples(sseGw.port, sseSamples);
    const sse = { p50: pct(c, 50) - pct(d, 50), p99: pct(c, 99) - pct(d, 99), directP50: pct(d, 50), directP99: pct(d, 99) };
    return { rows, sse, seconds, runs, pin };
  } finally {
    for (const ch of children) await stop(ch);
  }
}

export function tailMarkdown({ rows, sse, seconds, runs, pin }) {
  return [
    `Added latency over direct (ms; per-run difference, median of ${runs} runs of ${seconds}s; wrk, closed loop${pin ? '; --pin' : ''}):`,
    '',
    table(['connections', 'cordon', 'p50 added', 'p99 added', 'p99.9 added', 'direct p50 / p99 / p99.9'], rows),
    '',
    `SSE time to first byte added (policy standard, mock LLM, sequential streams): p50 ${fmt(sse.p50, 3)} ms, p99 ${fmt(sse.p99, 3)} ms (direct p50 ${fmt(sse.directP50, 3)} ms, p99 ${fmt(sse.directP99, 3)} ms).`,
    '',
    `Load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)));
  const r = await measureTail({ seconds: Number(args.seconds ?? 5), runs: Number(args.runs ?? 3), pin: 'pin' in args });
  const md = `### bench:proxy tail latency — ${new Date().toISOString().slice(0, 16)}Z\n\nCommand: \`node bench/tail.mjs ${process.argv.slice(2).join(' ')}\`\n\n${tailMarkdown(r)}\n`;
  console.log(md);
  writeFileSync(args.out ?? join(ROOT, 'bench/results/tail.md'), md);
  process.exit(0);
}
