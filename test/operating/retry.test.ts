// Retries and model fallback (SPEC.md "Operating it"), against the built binary and scripted upstreams.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runToExit, startGateway, type Proc } from '../helpers/procs.js';
import { answerChat, answerStatus, fakeUpstream, type FakeUpstream } from './fake-upstream.js';

const procs: Proc[] = [];
const ups: FakeUpstream[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

function configFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-retry-'));
  writeFileSync(join(dir, 'c.yaml'), yaml);
  return join(dir, 'c.yaml');
}

const chat = (stream = false) => JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content: 'hi' }] });

describe('retry and fallback', () => {
  it('a 429 from A is answered by B under B\'s model, and counted by reason', async () => {
    const a = await fakeUpstream((_s, res) => answerStatus(res, 429));
    const b = await fakeUpstream((s, res) => answerChat(s, res, 'b'));
    ups.push(a, b);
    const cfg = configFile(`upstreams:\n  - url: ${a.url}/v1\n  - url: ${b.url}/v1\n    model: gpt-4o-mini\nbalance: sticky\nretry:\n  on: [429, 503]\n  attempts: 2\npolicy:\n  preset: off\n`);
    const gw = await startGateway(['--config', cfg]); procs.push(gw);
    // sticky balancing with a session hashing onto A first; try IDs until one starts on A
    let sid = '';
    for (let i = 0; i < 50 && sid === ''; i++) {
      const r = await fetch(`${gw.proxy}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': `s${i}` }, body: chat() });
      const j = await r.json() as { from: string; model: string };
      expect(r.status).toBe(200);
      expect(j.from).toBe('b');
      expect(j.model).toBe('gpt-4o-mini');
      if (a.seen.length > 0) sid = `s${i}`;
    }
    expect(sid).not.toBe('');
    expect(JSON.parse(a.seen[0].body).model).toBe('gpt-4o');
    const metrics = await (await fetch(`${gw.control}/metrics`)).text();
    expect(metrics).toMatch(/cordon_upstream_retries_total\{reason="429"\} 1\b/);
    const line = gw.logs.find((l) => l.msg === 'attempt retried');
    expect(line).toMatchObject({ reason: '429', attempt: 1, session: sid });
  });

  it('a streamed request whose upstream answers 503 before any byte is retried', async () => {
    const a = await fakeUpstream((_s, res) => answerStatus(res, 503));
    const b = await fakeUpstream((s, res) => answerChat(s, res, 'b'));
    ups.push(a, b);
    const cfg = configFile(`upstreams:\n  - url: ${a.url}\n  - url: ${b.url}\nretry:\n  on: [503]\npolicy:\n  preset: off\n`);
    const gw = await startGateway(['--config', cfg]); procs.push(gw);
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${gw.proxy}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat(true) });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/event-stream');
      expect(await r.text()).toContain('"from":"b"');
    }
    expect(a.seen.length).toBeGreaterThan(0);
  });

  it('without the status in retry.on, or with attempts used up, the answer goes to the client', async () => {
    const a = await fakeUpstream((_s, res) => answerStatus(res, 429));
    const b = await fakeUpstream((_s, res) => answerStatus(res, 429));
    ups.push(a, b);
    const gw = await startGateway(['--config', configFile(`upstreams:\n  - url: ${a.url}\n  - url: ${b.url}\nretry:\n  on: [429]\n  attempts: 2\npolicy:\n  preset: off\n`)]);
    procs.push(gw);
    const r = await fetch(`${gw.proxy}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat() });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(a.seen.length + b.seen.length).toBe(2); // one try each, no third
    const gw2 = await startGateway(['--config', configFile(`upstreams:\n  - url: ${a.url}\n  - url: ${b.url}\nretry:\n  on: [503]\npolicy:\n  preset: off\n`)]);
    procs.push(gw2);
    const r2 = await fetch(`${gw2.proxy}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat() });
    expect(r2.status).toBe(429);
    expect(a.seen.length + b.seen.length).toBe(3);
  });

  it('an unknown retry reason, or a model rewrite on a non-JSON API, exits 2 with the path', async () => {
    const bad1 = await runToExit(['check-config', configFile(`upstreams:\n  - url: http://127.0.0.1:1\nretry:\n  on: [429, 418, reset]\n`)]);
    expect(bad1.code).toBe(2);
    expect(bad1.stderr).toContain('retry.on[1]: unknown retry reason 418');
    expect(bad1.stderr).toContain('retry.on[2]: unknown retry reason "reset"');
    const bad2 = await runToExit(['start', '--config', configFile(`upstreams:\n  - url: http://127.0.0.1:1\n    api: mcp\n    model: gpt-4o\n`)]);
    expect(bad2.code).toBe(2);
    expect(bad2.stderr).toContain('upstreams[0].model: a model rewrite needs a JSON LLM API');
  });
});
