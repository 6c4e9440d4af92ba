// End to end: the real binary in front of the bundled mock, driven by the real SDKs.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEXT } from '../../src/mock/replies.js';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

let mock: MockProc;
let gw: GatewayProc;

beforeAll(async () => {
  mock = await startMockLlm();
  gw = await startGateway(['--upstream', `${mock.url}/v1`, '--policy', 'off']);
});

afterAll(async () => {
  await gw?.stop();
  await mock?.stop();
});

describe('SDKs through the gateway', () => {
  it('openai chat completion, non-stream, with the /v1 base URL', async () => {
    const client = new OpenAI({ baseURL: `${gw.proxy}/v1`, apiKey: 'test', maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'mock-gpt', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0].message.content).toBe(DEFAULT_TEXT);
  });

  it('openai chat completion, streamed, with a bare base URL (prefix not doubled)', async () => {
    const client = new OpenAI({ baseURL: gw.proxy, apiKey: 'test', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'mock-gpt', stream: true, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-mock-deltas': '13' } });
    let text = '';
    let chunks = 0;
    for await (const c of stream) { text += c.choices[0]?.delta?.content ?? ''; chunks++; }
    expect(text).toBe(DEFAULT_TEXT);
    expect(chunks).toBeGreaterThanOrEqual(13);
  });

  it('openai responses API, stream and non-stream', async () => {
    const client = new OpenAI({ baseURL: `${gw.proxy}/v1`, apiKey: 'test', maxRetries: 0 });
    const r = await client.responses.create({ model: 'mock-gpt', input: 'hi' });
    expect(r.output_text).toBe(DEFAULT_TEXT);
    const s = await client.responses.create({ model: 'mock-gpt', input: 'hi', stream: true });
    let text = '';
    for await (const ev of s) if (ev.type === 'response.output_text.delta') text += ev.delta;
    expect(text).toBe(DEFAULT_TEXT);
  });

  it('anthropic messages, stream and non-stream, session from metadata.user_id', async () => {
    const client = new Anthropic({ baseURL: gw.proxy, apiKey: 'test', maxRetries: 0 });
    const m = await client.messages.create({ model: 'mock-claude', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: 'agent-7' } });
    expect(m.content[0].type === 'text' && m.content[0].text).toBe(DEFAULT_TEXT);
    const stream = client.messages.stream({ model: 'mock-claude', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const ev of stream) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    expect(text).toBe(DEFAULT_TEXT);
    const s = await fetch(`${gw.control}/control/sessions/agent-7`).then((r) => r.json()) as { requests: number };
    expect(s.requests).toBe(1);
  });
});

describe('headers and identity', () => {
  it('drops hop-by-hop headers, sets Host to the upstream and appends X-Forwarded-For', async () => {
    const { request } = await import('node:http');
    const u = new URL(`${gw.proxy}/v1/echo?x=1`);
    const { status, sid, text } = await new Promise<{ status: number; sid: string | undefined; text: string }>((resolve, reject) => {
      const req = request({
        host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST',
        headers: { 'x-forwarded-for': '10.0.0.9', 'keep-alive': 'timeout=5', 'x-custom': 'kept', 'x-session-id': 'hdr-1', connection: 'keep-alive, x-drop-me', 'x-drop-me': 'gone', 'content-type': 'text/plain' },
      }, (res) => {
        let t = '';
        res.setEncoding('utf8').on('data', (d: string) => { t += d; }).on('end', () => resolve({ status: res.statusCode!, sid: res.headers['x-session-id'] as string | undefined, text: t }));
      });
      req.on('error', reject);
      req.end('plain body');
    });
    expect(status).toBe(200);
    expect(sid).toBe('hdr-1');
    const echo = JSON.parse(text) as { url: string; headers: Record<string, string>; body: string };
    expect(echo.url).toBe('/v1/echo?x=1');
    expect(echo.headers.host).toBe(mock.address);
    expect(echo.headers['x-forwarded-for']).toBe('10.0.0.9, 127.0.0.1');
    expect(echo.headers['x-custom']).toBe('kept');
    expect(echo.headers['keep-alive']).toBeUndefined();
    expect(echo.headers['x-drop-me']).toBeUndefined();
    expect(echo.body).toBe('plain body');
  });

  it('derives a client- ID when there is no header and no user field, even for non-JSON bodies', async () => {
    const r = await fetch(`${gw.proxy}/v1/echo`, { method: 'POST', body: 'not json {', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-session-id')).toMatch(/^client-[0-9a-f]{16}$/);
  });

  it('takes the OpenAI user field as the session ID', async () => {
    const r = await fetch(`${gw.proxy}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', user: 'u-42', messages: [] }), headers: { 'content-type': 'application/json' } });
    expect(r.headers.get('x-session-id')).toBe('u-42');
    await r.arrayBuffer();
  });

  it.each([['has space'], ['x'.repeat(129)], ['semi;colon']])('rejects a malformed session ID %#', async (id) => {
    const r = await fetch(`${gw.proxy}/v1/models`, { headers: { 'x-session-id': id } });
    expect(r.status).toBe(400);
    expect(r.headers.get('x-session-id')).toBeNull();
    expect(await r.json()).toMatchObject({ error: { type: 'invalid_request' } });
  });
});

describe('errors', () => {
  it('413 for a body over the limit, counted as it streams (chunked)', async () => {
    const big = new ReadableStream({
      start(c) { for (let i = 0; i < 12; i++) c.enqueue(new Uint8Array(1024 * 1024)); c.close(); },
    });
    const r = await fetch(`${gw.proxy}/v1/chat/completions`, { method: 'POST', body: big, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit);
    expect(r.status).toBe(413);
    expect(await r.json()).toMatchObject({ error: { type: 'request_too_large' } });
  });

  it('passes upstream errors through with their status', async () => {
    const r = await fetch(`${gw.proxy}/v1/models`, { headers: { 'x-mock-status': '418' } });
    expect(r.status).toBe(418);
    await r.arrayBuffer();
  });

  it('kill ends a live SSE stream with an error event, then later requests get 403 until resume', async () => {
    const started = fetch(`${gw.proxy}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'kill-me', 'x-mock-deltas': '100', 'x-mock-delay-ms': '50' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'go' }] }),
    });
    const res = await started;
    const reader = res.body!.getReader();
    await reader.read(); // the stream is live
    const t0 = Date.now();
    const k = await fetch(`${gw.control}/control/sessions/kill-me/kill`, { method: 'POST' });
    expect(await k.json()).toEqual({ id: 'kill-me', state: 'killed' });
    let tail = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      tail += Buffer.from(value).toString();
    }
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(tail).toContain('event: error');
    expect(tail).toContain('"type":"session_killed"');
    const again = await fetch(`${gw.proxy}/v1/models`, { headers: { 'x-session-id': 'kill-me' } });
    expect(again.status).toBe(403);
    expect(await again.json()).toMatchObject({ error: { type: 'session_killed' } });
    const resumed = await fetch(`${gw.control}/control/sessions/kill-me/resume`, { method: 'POST' });
    expect(await resumed.json()).toEqual({ id: 'kill-me', state: 'active' });
    const ok = await fetch(`${gw.proxy}/v1/models`, { headers: { 'x-session-id': 'kill-me' } });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
  });

  it('killing an unknown ID kills it in advance', async () => {
    await fetch(`${gw.control}/control/sessions/future-1/kill`, { method: 'POST' }).then((r) => r.arrayBuffer());
    const r = await fetch(`${gw.proxy}/v1/models`, { headers: { 'x-session-id': 'future-1' } });
    expect(r.status).toBe(403);
    await r.arrayBuffer();
  });

  it('healthz and readyz', async () => {
    expect((await fetch(`${gw.control}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${gw.control}/readyz`)).json()).toMatchObject({ status: 'ready' });
  });
});
