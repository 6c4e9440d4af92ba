// bench:keys, part 3 — kill by agent: 5 live SSE streams of one agent, POST /control/agents/NAME/kill,
// time until the last stream has ended (10 rounds), and a new session ID of the agent is refused.
// Usage: node bench/kill-agent.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const wait = (p, msg) => new Promise((res) => { let b = ''; p.stdout.on('data', (d) => { b += d; const m = b.split('\n').find((l) => l.includes(msg)); if (m) res(JSON.parse(m)); }); });
const mock = spawn(process.execPath, [CLI, 'mock-llm', '--listen', '127.0.0.1:0']);
const ml = await wait(mock, 'mock LLM listening');
const dir = mkdtempSync(join(tmpdir(), 'ka-'));
writeFileSync(join(dir, 'c.yaml'), `upstreams:\n  - url: http://${ml.listen}/v1\nauth:\n  keys:\n    - { id: a, key_sha256: ${createHash('sha256').update('ck-a').digest('hex')}, agent: bot }\n`);
const gw = spawn(process.execPath, [CLI, 'start', '--config', join(dir, 'c.yaml'), '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0', '--data-dir', dir]);
const gl = await wait(gw, 'cordon listening');
const P = `http://${gl.proxy}`, C = `http://${gl.control}`;
const times = [];
for (let r = 0; r < 10; r++) {
  const streams = [];
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${P}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ck-a', 'x-session-id': `s-${r}-${i}`, 'x-mock-deltas': '1000', 'x-mock-delay-ms': '50' }, body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }) });
    const rd = res.body.getReader(); await rd.read(); streams.push(rd);
  }
  const t0 = performance.now();
  const kill = fetch(`${C}/control/agents/bot/kill`, { method: 'POST' });
  const ends = await Promise.all(streams.map(async (rd) => { for (;;) { const { done } = await rd.read(); if (done) return performance.now() - t0; } }));
  await kill;
  times.push(Math.max(...ends));
  const refused = await fetch(`${P}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ck-a', 'x-session-id': `fresh-${r}` }, body: '{}' });
  if (refused.status !== 403) console.log('NOT REFUSED', refused.status);
  await fetch(`${C}/control/agents/bot/resume`, { method: 'POST' });
}
times.sort((a, b) => a - b);
console.log('kill-by-agent, last of 5 streams ended after (ms), 10 rounds:', times.map((t) => t.toFixed(1)).join(' '), 'median', times[5].toFixed(1), 'max', times[9].toFixed(1));
gw.kill(); mock.kill(); process.exit(0);
