// Answers in a Content-Encoding are read by the policy decoded, and reach the client decoded
// (SPEC "What the policy sees"), through the real binary and the real SDKs with their default
// headers (they offer gzip and decode it themselves, so a gateway passing gzip on would look fine
// to them while its policy read compressed bytes).
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProc } from '../helpers/procs.js';
import { startUpstream, type Upstream } from '../helpers/compressing-upstream.js';

let up: Upstream;
let gw: GatewayProc;
let open: GatewayProc;
beforeAll(async () => {
  up = await startUpstream();
  gw = await startGateway(['--upstream', up.url, '--policy', 'standard', '--max-body', '1MB']);
  open = await startGateway(['--upstream', up.url, '--policy', 'off']);
});
afterAll(async () => { await gw?.stop(); await open?.stop(); await up?.close(); });

// a Luhn-valid card number: standard flags it in answers (flag: the answer still goes through)
const CARD = '4111 1111 1111 1111';
const TEXT = `Your card on file is ${CARD}, thanks.`;

/** The session's flagged events (storage writes behind: polled until one shows, up to 3s). */
async function flagged(session: string): Promise<Array<{ rule: string; direction: string }>> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const r = await fetch(`${gw.control}/control/flagged?limit=500`);
    const j = (await r.json()) as { events: Array<{ session_id: string; rule: string; direction: string }> };
    const mine = j.events.filter((e) => e.session_id === session);
    if (mine.length > 0 || Date.now() > deadline) return mine;
    await new Promise((res) => setTimeout(res, 50));
  }
}

const openai = (session: string, enc: string) => new OpenAI({ baseURL: `${gw.proxy}/v1`, apiKey: 'x', maxRetries: 0,
  defaultHeaders: { 'x-session-id': session, 'x-up-enc': enc, 'x-up-text': TEXT } });
const anthropic = (session: string, enc: string) => new Anthropic({ baseURL: gw.proxy, apiKey: 'x', maxRetries: 0,
  defaultHeaders: { 'x-session-id': session, 'x-up-enc': enc, 'x-up-text': TEXT } });

describe('answers in gzip, deflate and br', () => {
  it('are decoded for the policy and reach the OpenAI SDK decoded, whole and streamed', async () => {
    for (const enc of ['gzip', 'br', 'deflate', 'deflate-raw']) {
      const s = `dec-oa-${enc}`;
      const whole = await openai(s, enc).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      expect(whole.choices[0].message.content, enc).toBe(TEXT);
      const stream = await openai(`${s}-s`, enc).chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
      expect(text, enc).toBe(TEXT);
      expect((await flagged(s)).map((e) => e.rule), enc).toContain('pii.card-number');
      expect((await flagged(`${s}-s`)).map((e) => e.rule), enc).toContain('pii.card-number');
    }
  });

  it('are decoded for the Anthropic SDK too', async () => {
    for (const enc of ['gzip', 'br']) {
      const s = `dec-an-${enc}`;
      const msg = await anthropic(s, enc).messages.create({ model: 'c', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
      expect(msg.content[0].type === 'text' ? msg.content[0].text : '').toBe(TEXT);
      const stream = anthropic(`${s}-s`, enc).messages.stream({ model: 'c', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
      expect(await stream.finalText()).toBe(TEXT);
      expect((await flagged(s)).map((e) => e.rule)).toContain('pii.card-number');
      expect((await flagged(`${s}-s`)).map((e) => e.rule)).toContain('pii.card-number');
    }
  });

  it('reach the client without Content-Encoding and with the decoded length', async () => {
    const r = await fetch(`${gw.proxy}/v1/chat/completions`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'dec-head', 'x-up-enc': 'gzip', 'x-up-text': 'plain', 'accept-encoding': 'identity' },
      body: JSON.stringify({ model: 'm', messages: [] }) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-encoding')).toBeNull();
    const body = Buffer.from(await r.arrayBuffer());
    expect(JSON.parse(body.toString('utf8')).choices[0].message.content).toBe('plain');
    const len = r.headers.get('content-length');
    if (len !== null) expect(Number(len)).toBe(body.length);
  });
});

describe('answers the policy cannot read', () => {
  const post = (gwUrl: string, session: string, enc: string, extra: Record<string, string> = {}, stream = false) =>
    fetch(`${gwUrl}/v1/chat/completions`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': session, 'x-up-enc': enc, ...extra },
      body: JSON.stringify({ model: 'm', stream, messages: [] }) });

  it('zstd (never offered) is refused with 502 upstream_error, not passed on', async () => {
    const r = await post(gw.proxy, 'dec-zstd', 'zstd');
    expect(r.status).toBe(502);
    expect(r.headers.get('content-encoding')).toBeNull();
    expect(await r.json()).toMatchObject({ error: { type: 'upstream_error', code: 'unreadable_encoding' } });
    // streamed too: the head is not out yet when the coding is seen
    const s = await post(gw.proxy, 'dec-zstd-s', 'zstd', {}, true);
    expect(s.status).toBe(502);
    await s.arrayBuffer();
  });

  it('a broken gzip answer is 502 invalid_encoding (a whole JSON answer is held: its head is not out)', async () => {
    const r = await post(gw.proxy, 'dec-broken', 'broken');
    expect(r.status).toBe(502);
    expect(await r.json()).toMatchObject({ error: { type: 'upstream_error', code: 'invalid_encoding' } });
  });

  it('a gzip bomb is stopped at max_body: the answer ends with an error, the gateway stays small and serving', async () => {
    const before = (await (await fetch(`${gw.control}/control/stats`)).json()) as { memory: { rss_bytes: number } };
    // 64MB of one letter in about 64KB
    const r = await post(gw.proxy, 'dec-bomb', 'gzip-bomb', { 'x-up-bomb': String(64 * 1024 * 1024) });
    let got = 0;
    try {
      const reader = r.body!.getReader();
      for (;;) { const { done, value } = await reader.read(); if (done) break; got += value.length; }
    } catch { /* cut: expected when the head was out */ }
    expect(got).toBeLessThan(2 * 1024 * 1024);
    expect(r.status).toBe(502);
    const after = (await (await fetch(`${gw.control}/control/stats`)).json()) as { memory: { rss_bytes: number } };
    expect(after.memory.rss_bytes - before.memory.rss_bytes).toBeLessThan(64 * 1024 * 1024);
    const ok = await post(gw.proxy, 'dec-bomb', 'gzip', { 'x-up-text': 'still here' });
    expect(ok.status).toBe(200);
  });

  it('with no policy reading answers, any coding passes through as it came', async () => {
    const r = await post(open.proxy, 'dec-off', 'zstd', { 'accept-encoding': 'zstd' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-encoding')).toBe('zstd');
    await r.arrayBuffer();
  });
});
