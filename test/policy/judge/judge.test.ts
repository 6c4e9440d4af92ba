import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Judge, readVerdict } from '../../../src/policy/judge/judge.js';

const answer = (content: unknown) => JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] });

describe('reading a guard model answer', () => {
  it('reads safe, unsafe with its category, and nothing else', () => {
    expect(readVerdict(answer('safe'))).toEqual({ verdict: 'safe', label: null });
    expect(readVerdict(answer('\n\nunsafe\nS1,S10'))).toEqual({ verdict: 'unsafe', label: 'S1,S10' });
    expect(readVerdict(answer('UNSAFE'))).toEqual({ verdict: 'unsafe', label: null });
    for (const bad of [answer('maybe'), answer(42), answer(''), '{"choices":[]}', 'not json', '']) {
      expect(readVerdict(bad).verdict, bad).toBe('error');
    }
  });
});

describe('judge client', () => {
  let server: http.Server;
  let url = '';
  let calls = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        calls++;
        const text = (JSON.parse(body) as { messages: Array<{ content: string }> }).messages[0].content;
        if (req.url !== '/v1/chat/completions') { res.statusCode = 404; res.end(); return; }
        if (text.includes('hang')) return;
        res.setHeader('content-type', 'application/json');
        res.end(answer(text.includes('bad') ? 'unsafe\nS2' : 'safe'));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    // The judge loads its HTTP client (undici) on first use, as a gateway does at start when a judge
    // is configured; warm it here so the 300 ms timeouts below time the calls, not the cold load.
    await new Judge({ url: new URL(url), model: 'g', when: 'suspicious', timeout: 10_000, on_error: 'allow' }).ask(0, 'warm up');
  });
  afterAll(() => { server.closeAllConnections(); server.close(); });

  const judge = (timeout = 300) => new Judge({ url: new URL(url), model: 'g', when: 'suspicious', timeout, on_error: 'allow' });

  it('asks once per session and text, and forgets a released session', async () => {
    const j = judge();
    calls = 0;
    expect((await j.ask(1, 'this is bad')).verdict).toBe('unsafe');
    expect((await j.ask(1, 'this is bad')).label).toBe('S2');
    expect(calls).toBe(1);
    await j.ask(2, 'this is bad');
    expect(calls).toBe(2);
    j.release(1);
    await j.ask(1, 'this is bad');
    expect(calls).toBe(3);
  });

  it('keeps a few verdicts per session (bounded memory)', async () => {
    const j = judge();
    for (let i = 0; i < 50; i++) await j.ask(7, `text ${i}`);
    expect(j.bytes()).toBeLessThanOrEqual(500);
  });

  it('a hang is an error within the timeout, and errors are not cached', async () => {
    const j = judge(150);
    const t0 = Date.now();
    const a = await j.ask(3, 'please hang');
    expect(a).toMatchObject({ verdict: 'error', label: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(j.bytes()).toBe(0);
  });

  it('an unreachable judge is an error, not a throw', async () => {
    const j = new Judge({ url: new URL('http://127.0.0.1:9/v1'), model: 'g', when: 'all', timeout: 500, on_error: 'block' });
    expect((await j.ask(1, 'x')).verdict).toBe('error');
  });
});
