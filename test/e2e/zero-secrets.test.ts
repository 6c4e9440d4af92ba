// The zero-secrets harness: the built binary between the REAL `openai` and `@anthropic-ai/sdk`
// clients (their default headers) and an upstream that puts secrets in its answers, split one
// character per delta, at random points (bytes and deltas), in two interleaved choices, in
// Anthropic and Responses streams, and in WebSocket messages. With the standard preset (secrets
// in answers redacted) no secret, and no 8-character piece of one, reaches a client; with secret
// rules set to block, no secret reaches a client whole and the session stays active. Seeded:
// CORDON_SEED picks the first seed (printed); SEEDS seeds run, every one must pass.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { SECRETS } from '../../src/policy/presets/rules.js';
import { startGateway, type GatewayProc } from '../helpers/procs.js';

const FIRST = Number(process.env.CORDON_SEED ?? (Date.now() % 1_000_000));
const SEEDS = 3;
console.log(`zero-secrets seed ${FIRST} (${SEEDS} seeds; rerun with CORDON_SEED=${FIRST})`);

function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}
const pick = (r: () => number, s: string, n: number) => Array.from({ length: n }, () => s[Math.floor(r() * s.length)]).join('');
const UP = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALNUM = UP + 'abcdefghijklmnopqrstuvwxyz0123456789';

/** One secret of each kind, drawn from the seed. */
function secrets(r: () => number): Array<{ kind: string; text: string; core: string }> {
  const b64 = Array.from({ length: 6 }, () => pick(r, ALNUM + '+/', 64)).join('\n');
  const out = [
    { kind: 'aws', text: 'AKIA' + pick(r, UP + '0123456789', 16) },
    { kind: 'openai', text: 'sk-proj-' + pick(r, ALNUM, 48) },
    { kind: 'anthropic', text: 'sk-ant-api03-' + pick(r, ALNUM + '_-', 78) + pick(r, ALNUM, 2) },
    { kind: 'github', text: 'ghp_' + pick(r, ALNUM, 36) },
    { kind: 'private-key', text: `-----BEGIN RSA PRIVATE KEY-----\n${b64}\n-----END RSA PRIVATE KEY-----` },
  ];
  // what must never arrive in pieces: the key material itself
  return out.map((s) => ({ ...s, core: s.kind === 'private-key' ? b64.replace(/\n/g, '') : s.text }));
}

/** Pieces of `s`: one character each, or random lengths 1..9. */
function split(r: () => number, s: string, perChar: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length;) { const n = perChar ? 1 : 1 + Math.floor(r() * 9); out.push(s.slice(i, i + n)); i += n; }
  return out;
}

// ---- the upstream: what it says comes in the request's x-h-* headers -------------------------------
const sse = (obj: unknown, name?: string) => `${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(obj)}\n\n`;

async function writeSplit(res: ServerResponse, body: string, r: () => number): Promise<void> {
  // the bytes go out at random cut points too, so events and UTF-8 straddle TCP writes
  const buf = Buffer.from(body);
  for (let i = 0; i < buf.length;) {
    const n = 1 + Math.floor(r() * 300);
    res.write(buf.subarray(i, i + n));
    i += n;
    if (r() < 0.3) await new Promise((ok) => setImmediate(ok));
  }
  res.end();
}

function chatBody(texts: string[], r: () => number, perChar: boolean): string {
  const parts = texts.map((t, i) => split(r, t, perChar).map((p) => ({ i, p })));
  let body = '';
  // interleave the choices delta by delta
  while (parts.some((q) => q.length > 0)) {
    for (const q of parts) {
      const d = q.shift();
      if (d) body += sse({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices: [{ index: d.i, delta: { content: d.p }, finish_reason: null }] });
    }
  }
  texts.forEach((_, i) => { body += sse({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices: [{ index: i, delta: {}, finish_reason: 'stop' }] }); });
  return body + 'data: [DONE]\n\n';
}

function anthropicBody(text: string, r: () => number, perChar: boolean): string {
  let b = sse({ type: 'message_start', message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } }, 'message_start');
  b += sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start');
  for (const p of split(r, text, perChar)) b += sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } }, 'content_block_delta');
  b += sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop');
  b += sse({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } }, 'message_delta');
  return b + sse({ type: 'message_stop' }, 'message_stop');
}

function responsesBody(text: string, r: () => number, perChar: boolean): string {
  const item = { id: 'msg1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
  const resp = (status: string, output: unknown[]) => ({ id: 'resp1', object: 'response', created_at: 1, status, model: 'gpt-x', output });
  let seq = 0;
  let b = sse({ type: 'response.created', sequence_number: seq++, response: resp('in_progress', []) }, 'response.created');
  b += sse({ type: 'response.output_item.added', sequence_number: seq++, output_index: 0, item: { ...item, status: 'in_progress', content: [] } }, 'response.output_item.added');
  for (const p of split(r, text, perChar)) {
    b += sse({ type: 'response.output_text.delta', sequence_number: seq++, item_id: 'msg1', output_index: 0, content_index: 0, delta: p }, 'response.output_text.delta');
  }
  b += sse({ type: 'response.output_text.done', sequence_number: seq++, item_id: 'msg1', output_index: 0, content_index: 0, text }, 'response.output_text.done');
  b += sse({ type: 'response.output_item.done', sequence_number: seq++, output_index: 0, item }, 'response.output_item.done');
  return b + sse({ type: 'response.completed', sequence_number: seq++, response: resp('completed', [item]) }, 'response.completed');
}

let upstream: Server;
let wss: WebSocketServer;
let upUrl = '';

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  for await (const _ of req) { /* drain */ }
  const seed = Number(req.headers['x-h-seed'] ?? 1);
  const r = rng(seed);
  const texts = JSON.parse(String(req.headers['x-h-texts'] ?? '[]')) as string[];
  const perChar = req.headers['x-h-split'] === 'char';
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const path = req.url ?? '';
  const body = path.includes('/messages') ? anthropicBody(texts[0], r, perChar)
    : path.includes('/responses') ? responsesBody(texts[0], r, perChar) : chatBody(texts, r, perChar);
  await writeSplit(res, body, r);
}

let redactGw: GatewayProc;
let blockGw: GatewayProc;

beforeAll(async () => {
  upstream = createServer((req, res) => { void handle(req, res); });
  wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws) => {
    ws.on('message', (m) => {
      // the message names what to send: JSON events carrying text, the secret in one of them
      const { texts } = JSON.parse(m.toString()) as { texts: string[] };
      for (const t of texts) ws.send(JSON.stringify({ type: 'response.text.delta', output_index: 0, content_index: 0, delta: t }));
    });
  });
  await new Promise<void>((ok) => upstream.listen(0, '127.0.0.1', ok));
  upUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  // the block gateway: the preset's secret rules, each set to block
  const dir = mkdtempSync(join(tmpdir(), 'cordon-zero-'));
  const rules = SECRETS.map((s) => ({ name: s.name, target: 'both', severity: 'critical', action: 'block', patterns: s.patterns }));
  const cfg = join(dir, 'block.yaml');
  writeFileSync(cfg, `policy:\n  preset: standard\n  rules: ${JSON.stringify(rules)}\n`);
  [redactGw, blockGw] = await Promise.all([
    startGateway(['--upstream', `${upUrl}/v1`, '--policy', 'standard']),
    startGateway(['--upstream', `${upUrl}/v1`, '--config', cfg]),
  ]);
});
afterAll(async () => {
  await redactGw?.stop();
  await blockGw?.stop();
  wss?.close();
  await new Promise((ok) => upstream?.close(ok));
});

/** Sentences with the secret in the middle, drawn from the seed. */
function textWith(r: () => number, secret: string): string {
  // plain words: the detection rules read answers too, and "Sure, here is" reads as prefix injection
  const words = ['the', 'report', 'lists', 'values', 'for', 'config', 'file', 'and', 'notes', 'deploy', 'step', 'one'];
  const before = Array.from({ length: 2 + Math.floor(r() * 6) }, () => words[Math.floor(r() * words.length)]).join(' ');
  const after = Array.from({ length: 2 + Math.floor(r() * 6) }, () => words[Math.floor(r() * words.length)]).join(' ');
  return `${before}: ${secret}${['.', ' ', '\n', ', '][Math.floor(r() * 4)]}${after}.`;
}

/** Checks what a client got: no secret whole, and with redaction not even an 8-character piece. */
function expectClean(got: string, s: { kind: string; core: string }, pieces: boolean): void {
  const flat = got.replace(/\s/g, '');
  expect(flat, `${s.kind} arrived whole`).not.toContain(s.core.replace(/\s/g, ''));
  if (!pieces) return;
  for (let i = 0; i + 8 <= s.core.length; i++) {
    const frag = s.core.slice(i, i + 8);
    if (/\s/.test(frag)) continue;
    expect(got.includes(frag), `${s.kind}: "${frag}" reached the client`).toBe(false);
  }
}

const sessionState = async (gw: GatewayProc, id: string) => ((await (await fetch(`${gw.control}/control/sessions/${id}`)).json()) as { state: string }).state;

type Shape = 'openai-char' | 'openai-random' | 'openai-n2' | 'anthropic' | 'responses';
const SHAPES: Shape[] = ['openai-char', 'openai-random', 'openai-n2', 'anthropic', 'responses'];

/** Drives one shape with the real SDK; returns the text the client got and whether the stream erred. */
async function drive(gw: GatewayProc, shape: Shape, session: string, seed: number, texts: string[]): Promise<{ text: string; error: string | null }> {
  const headers = { 'x-session-id': session, 'x-h-seed': String(seed), 'x-h-texts': JSON.stringify(texts), 'x-h-split': shape === 'openai-char' ? 'char' : 'random' };
  let text = '';
  try {
    if (shape === 'anthropic') {
      const client = new Anthropic({ baseURL: gw.proxy, apiKey: 'sk-test', maxRetries: 0 });
      const stream = await client.messages.create({ model: 'claude-x', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { headers });
      for await (const ev of stream) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    } else if (shape === 'responses') {
      const client = new OpenAI({ baseURL: `${gw.proxy}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      const stream = await client.responses.create({ model: 'gpt-x', input: 'hi', stream: true }, { headers });
      for await (const ev of stream) {
        if (ev.type === 'response.output_text.delta') text += ev.delta;
        else if (ev.type === 'response.output_text.done' || ev.type === 'response.completed') text += `\n${JSON.stringify(ev)}`;
      }
    } else {
      const client = new OpenAI({ baseURL: `${gw.proxy}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'gpt-x', stream: true, n: texts.length, messages: [{ role: 'user', content: 'hi' }] }, { headers });
      const per: string[] = texts.map(() => '');
      for await (const chunk of stream) for (const c of chunk.choices) per[c.index] += c.delta.content ?? '';
      text = per.join('\n');
    }
    return { text, error: null };
  } catch (err) {
    // the OpenAI SDK parses the error event; Anthropic's carries it in its message
    const e = err as { error?: { type?: string; code?: string }; message?: string };
    const type = e.error?.type ?? /"type":"([a-z_]+)"/.exec(e.message ?? '')?.[1] ?? String(err);
    if (process.env.ZERO_DEBUG) console.log(shape, session, type, e.error?.code ?? e.message);
    return { text, error: type };
  }
}

describe.each(Array.from({ length: SEEDS }, (_, i) => FIRST + i))('zero secrets, seed %i', (seed) => {
  it('redact (standard preset): no secret and no 8-character piece of one reaches a client, and the session goes on', async () => {
    const r = rng(seed);
    for (const shape of SHAPES) {
      const all = secrets(r);
      for (const s of all) {
        const texts = shape === 'openai-n2' ? [textWith(r, s.text), textWith(r, all[Math.floor(r() * all.length)].text)] : [textWith(r, s.text)];
        const session = `red-${seed}-${shape}-${s.kind}`;
        const got = await drive(redactGw, shape, session, Math.floor(r() * 1e9), texts);
        for (const x of all) if (texts.some((t) => t.includes(x.text))) expectClean(got.text, x, true);
        // a key the hold-back can bound is replaced and the answer goes on; a private key block
        // (no bound on its length) ends that answer instead
        const pem = all.find((x) => x.kind === 'private-key')!.text;
        if (texts.some((t) => t.includes(pem))) expect(got.error, `${shape} ${s.kind}`).toBe('policy_violation');
        else {
          expect(got.error, `${shape} ${s.kind}: ${got.text}`).toBeNull();
          expect(got.text).toContain('[REDACTED:secret.');
        }
        expect(await sessionState(redactGw, session)).toBe('active');
      }
    }
  }, 120_000);

  it('block: no secret reaches a client whole, the answer ends with policy_violation, the session stays active', async () => {
    const r = rng(seed + 7919);
    for (const shape of SHAPES) {
      const all = secrets(r);
      const s = all[Math.floor(r() * all.length)];
      const texts = shape === 'openai-n2' ? [textWith(r, s.text), textWith(r, 'nothing secret here')] : [textWith(r, s.text)];
      const session = `blk-${seed}-${shape}`;
      const got = await drive(blockGw, shape, session, Math.floor(r() * 1e9), texts);
      expectClean(got.text, s, true);
      expect(got.error, `${shape} ${s.kind}`).toBe('policy_violation');
      expect(await sessionState(blockGw, session)).toBe('active');
      // and the session's next answer is served
      expect((await drive(blockGw, shape, session, 1, ['all clear now'])).error).toBeNull();
    }
  }, 120_000);

  it('WebSocket: a message with a secret closes the socket with 1008 and never arrives', async () => {
    const r = rng(seed + 104729);
    const all = secrets(r);
    for (const gw of [redactGw, blockGw]) {
      const s = all[Math.floor(r() * all.length)];
      const ws = new WebSocket(`${gw.proxy.replace('http', 'ws')}/v1/realtime`, { headers: { 'x-session-id': `ws-${seed}` } });
      await new Promise((ok, no) => { ws.once('open', ok); ws.once('error', no); });
      let got = '';
      ws.on('message', (m) => { got += m.toString(); });
      const closed = new Promise<number>((ok) => ws.once('close', (code) => ok(code)));
      ws.send(JSON.stringify({ texts: ['hello ', textWith(r, s.text), ' after'] }));
      expect(await closed).toBe(1008);
      expectClean(got, s, true);
      expect(await sessionState(gw, `ws-${seed}`)).toBe('active');
    }
  }, 60_000);
});
