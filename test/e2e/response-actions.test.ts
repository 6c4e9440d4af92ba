// Response actions (SPEC "What the policy sees, and what it does") through the real binary and the
// real SDKs, with their default headers and their default retries: a secret in a whole answer is
// redacted (standard) or refused with a 403 the SDKs do not retry (strict, or a block rule); the
// upstream is called once; a block leaves the session active, only terminate ends it. Seeded
// random answers (secret kind, position, surrounding text, coding, API, preset): every seed must pass.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProc } from '../helpers/procs.js';
import { startUpstream, type Upstream } from '../helpers/compressing-upstream.js';

let up: Upstream;
let standard: GatewayProc;
let strict: GatewayProc;
let small: GatewayProc;

beforeAll(async () => {
  up = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'cordon-resp-'));
  const cfg = join(dir, 'cordon.yaml');
  writeFileSync(cfg, [
    'policy:',
    '  preset: standard',
    '  rules:',
    '    - { name: codename-leak, target: response, literals: ["project bluebird"], severity: high, action: block }',
    '    - { name: exfil-marker, target: response, literals: ["exfil-now-7731"], severity: critical, action: terminate }',
    '    - { name: internal-host, target: response, patterns: ["\\\\bdb[0-9]+\\\\.internal\\\\.corp\\\\b"], action: redact }',
  ].join('\n'));
  [standard, strict, small] = await Promise.all([
    startGateway(['--config', cfg, '--upstream', up.url]),
    startGateway(['--upstream', up.url, '--policy', 'strict']),
    startGateway(['--upstream', up.url, '--policy', 'standard', '--hold-response-max', '2KB']),
  ]);
});
afterAll(async () => { await Promise.all([standard?.stop(), strict?.stop(), small?.stop()]); await up?.close(); });

// ---- seeded generation ---------------------------------------------------------------------------
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chars = (r: () => number, set: string, n: number) => Array.from({ length: n }, () => pick(r, [...set])).join('');
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

interface Secret { rule: string; text: string }
function secret(r: () => number): Secret {
  switch (Math.floor(r() * 4)) {
    case 0: return { rule: 'secret.aws-access-key', text: `AKIA${chars(r, UPPER_DIGITS, 16)}` };
    case 1: return { rule: 'secret.openai-key', text: `sk-proj-${chars(r, ALNUM, 40)}` };
    case 2: return { rule: 'secret.github-token', text: `ghp_${chars(r, ALNUM, 36)}` };
    default: {
      const lines = Array.from({ length: 2 + Math.floor(r() * 4) }, () => chars(r, `${ALNUM}+/`, 64));
      return { rule: 'secret.private-key', text: `-----BEGIN RSA PRIVATE KEY-----\n${lines.join('\n')}\n-----END RSA PRIVATE KEY-----` };
    }
  }
}
const WORDS = ['here', 'is', 'the', 'value', 'you', 'asked', 'for', 'note:', 'quoted "x"', 'back\\slash', 'ünïcödé', '日本語', '🙂', 'tab\there', 'line\nbreak',
  'please', 'keep', 'it', 'safe', 'and', 'rotate', 'after', 'use', 'thanks', 'this', 'was', 'stored', 'in', 'your', 'vault'];
function answer(r: () => number, s: Secret): string {
  const words = (n: number) => Array.from({ length: n }, () => pick(r, WORDS)).join(' ');
  const before = words(Math.floor(r() * 30));
  const after = words(Math.floor(r() * 30));
  return `${before}${before ? pick(r, [' ', '\n', ': ', ' (']) : ''}${s.text}${pick(r, [' ', '\n', '.', ')'])}${after}`;
}

const seeds = [1, Number(process.env.RESP_SEED ?? Math.floor(Math.random() * 2 ** 31))];
const mark = (rule: string) => `[REDACTED:${rule}]`;

type Api = 'openai' | 'anthropic';
interface Got { text: string | null; status: number | null; code: string | null; error: string | null }

/** One whole (non-streamed) answer through a real SDK with its defaults (maxRetries 2). */
async function whole(base: string, api: Api, session: string, text: string, enc: string): Promise<Got> {
  const headers = { 'x-session-id': session, 'x-up-enc': enc, 'x-up-text-b64': Buffer.from(text).toString('base64') };
  try {
    if (api === 'openai') {
      const c = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'x', defaultHeaders: headers });
      const r = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      return { text: r.choices[0].message.content, status: 200, code: null, error: null };
    }
    const c = new Anthropic({ baseURL: base, apiKey: 'x', defaultHeaders: headers });
    const r = await c.messages.create({ model: 'c', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    return { text: r.content[0].type === 'text' ? r.content[0].text : '', status: 200, code: null, error: null };
  } catch (e) {
    const err = e as { status?: number; error?: { type?: string; code?: string; error?: { type?: string; code?: string } }; message?: string };
    const body = err.error?.error ?? err.error;
    return { text: null, status: err.status ?? null, code: body?.code ?? null, error: body?.type ?? err.message ?? 'error' };
  }
}

/** One streamed answer through a real SDK: the text it assembled before the end (or the error). */
async function streamed(base: string, api: Api, session: string, text: string, enc: string): Promise<{ text: string; error: string | null }> {
  const headers = { 'x-session-id': session, 'x-up-enc': enc, 'x-up-text-b64': Buffer.from(text).toString('base64'), 'x-up-deltas': '24' };
  let got = '';
  try {
    if (api === 'openai') {
      const c = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'x', defaultHeaders: headers });
      const s = await c.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      for await (const ch of s) got += ch.choices[0]?.delta?.content ?? '';
    } else {
      const c = new Anthropic({ baseURL: base, apiKey: 'x', defaultHeaders: headers });
      const s = c.messages.stream({ model: 'c', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
      s.on('text', (t) => { got += t; });
      await s.finalMessage();
    }
    return { text: got, error: null };
  } catch (e) {
    return { text: got, error: (e as Error).message };
  }
}

async function sessionState(gw: GatewayProc, id: string): Promise<string> {
  const r = await fetch(`${gw.control}/control/sessions/${id}`);
  return ((await r.json()) as { state: string }).state;
}

describe.each(seeds)('seeded answers with secrets (seed %i)', (seed) => {
  it('whole answers: redacted in standard, 403 in strict; one upstream call; the session stays active', async () => {
    console.log(`response-actions seed=${seed} (RESP_SEED=${seed} to repeat)`);
    const r = rng(seed);
    let redacted = 0;
    let refusedByDetection = 0;
    for (let i = 0; i < 24; i++) {
      const s = secret(r);
      const text = answer(r, s);
      const enc = pick(r, ['none', 'gzip', 'br', 'deflate']);
      const api = pick(r, ['openai', 'anthropic'] as const);
      const gw = pick(r, ['standard', 'strict'] as const);
      const session = `seed${seed}-w${i}`;
      const what = `seed ${seed} case ${i}: ${api} ${enc} ${gw} ${s.rule}`;
      const got = await whole(gw === 'standard' ? standard.proxy : strict.proxy, api, session, text, enc);
      if (gw === 'standard' && got.error !== null) {
        // standard also scores answer text for language signals (detect): a random token can read as an
        // adversarial suffix and refuse the whole answer. Never the secret rule itself, and never a leak.
        expect(got.status, `${what}: ${got.code}`).toBe(403);
        expect(got.code, what).toMatch(/^obfuscation\./);
        refusedByDetection++;
      } else if (gw === 'standard') {
        expect(got.text, what).toBe(text.split(s.text).join(mark(s.rule)));
        redacted++;
      } else {
        expect(got.status, what).toBe(403);
        expect(got.error, what).toBe('policy_violation');
        // the secret rule, or language detection first (see above)
        expect([s.rule, 'obfuscation.adversarial-suffix'], what).toContain(got.code);
      }
      expect(JSON.stringify(got)).not.toContain(s.text.slice(0, 20));
      expect(up.calls.get(session), what).toBe(1);
      expect(await sessionState(gw === 'standard' ? standard : strict, session), what).toBe('active');
    }
    console.log(`seed ${seed}: standard redacted ${redacted}, refused by language detection ${refusedByDetection}`);
  });

  it('streamed answers: the secret never reaches the client whole, the session stays active', async () => {
    const r = rng(seed ^ 0x5eed);
    for (let i = 0; i < 12; i++) {
      const s = secret(r);
      const text = answer(r, s);
      const enc = pick(r, ['none', 'gzip', 'br']);
      const api = pick(r, ['openai', 'anthropic'] as const);
      const session = `seed${seed}-s${i}`;
      const what = `seed ${seed} stream ${i}: ${api} ${enc} ${s.rule}`;
      const got = await streamed(standard.proxy, api, session, text, enc);
      expect(got.text, what).not.toContain(s.text);
      expect(up.calls.get(session), what).toBe(1);
      expect(await sessionState(standard, session), what).toBe('active');
    }
  });
});

describe('response rules by action', () => {
  it('block: 403 policy_violation to both SDKs, no retry, the session stays active and serves again', async () => {
    for (const api of ['openai', 'anthropic'] as const) {
      const session = `blk-${api}`;
      const got = await whole(standard.proxy, api, session, 'the plan is project bluebird, do not share', 'gzip');
      expect(got).toMatchObject({ status: 403, error: 'policy_violation', code: 'codename-leak' });
      expect(up.calls.get(session)).toBe(1);
      expect(await sessionState(standard, session)).toBe('active');
      const next = await whole(standard.proxy, api, session, 'all fine', 'br');
      expect(next.text).toBe('all fine');
    }
  });

  it('redact: a configured redact rule rewrites every match, in a br answer', async () => {
    const got = await whole(standard.proxy, 'openai', 'red-cfg', 'connect to db1.internal.corp or db22.internal.corp', 'br');
    expect(got.text).toBe('connect to [REDACTED:internal-host] or [REDACTED:internal-host]');
  });

  it('terminate: the answer is refused and the session ends', async () => {
    const session = 'term-1';
    const got = await whole(standard.proxy, 'openai', session, 'ok exfil-now-7731 ok', 'gzip');
    expect(got).toMatchObject({ status: 403, error: 'session_terminated' });
    expect(up.calls.get(session)).toBe(1);
    expect(await sessionState(standard, session)).toBe('terminated');
  });

  it('events record the action taken', async () => {
    const deadline = Date.now() + 3000;
    let events: Array<{ session_id: string; rule: string; action: string; excerpt: string }> = [];
    while (Date.now() < deadline) {
      const j = (await (await fetch(`${standard.control}/control/flagged?limit=1000`)).json()) as { events: typeof events };
      events = j.events;
      if (events.some((e) => e.session_id === 'red-cfg') && events.some((e) => e.session_id === 'blk-openai')) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(events.find((e) => e.session_id === 'red-cfg')).toMatchObject({ rule: 'internal-host', action: 'redact' });
    expect(events.find((e) => e.session_id === 'blk-openai')).toMatchObject({ rule: 'codename-leak', action: 'block' });
    const red = events.find((e) => e.session_id === 'seed1-w0');
    if (red) expect(['redact', 'block']).toContain(red.action);
  });

  it('a request carrying a secret is refused (redact cannot rewrite what the model reads)', async () => {
    const c = new OpenAI({ baseURL: `${standard.proxy}/v1`, apiKey: 'x', maxRetries: 0, defaultHeaders: { 'x-session-id': 'req-secret' } });
    const err = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: `my key is AKIA${'IOSFODNN7EXAMPLE'}` }] })
      .then(() => null, (e: { status: number; error: { type: string; code: string } }) => e);
    expect(err?.status).toBe(403);
    expect(err?.error).toMatchObject({ type: 'policy_violation', code: 'secret.aws-access-key' });
    expect(up.calls.get('req-secret')).toBeUndefined();
  });
});

describe('answers over policy.hold_response_max', () => {
  const filler = (n: number) => 'lorem ipsum dolor '.repeat(Math.ceil(n / 18)).slice(0, n);
  it('a clean one is let go past the bound and arrives whole', async () => {
    const text = filler(6_000);
    const got = await whole(small.proxy, 'openai', 'big-clean', text, 'gzip');
    expect(got.text).toBe(text);
  });

  it('a secret inside the held part is refused with 403 (a redaction needs the whole answer)', async () => {
    const key = `AKIA${'Q'.repeat(16)}`;
    const got = await whole(small.proxy, 'openai', 'big-early', `${key} ${filler(6_000)}`, 'none');
    expect(got).toMatchObject({ status: 403, error: 'policy_violation', code: 'secret.aws-access-key' });
    expect(up.calls.get('big-early')).toBe(1);
  });

  it('a secret past the bound cuts the answer: it never arrives', async () => {
    const key = `AKIA${'Z'.repeat(16)}`;
    const r = await fetch(`${small.proxy}/v1/chat/completions`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'big-late', 'x-up-pad': '300000', 'x-up-text-b64': Buffer.from(` ${key} end`).toString('base64') },
      body: JSON.stringify({ model: 'm', messages: [] }) });
    expect(r.status).toBe(200);
    const body = await r.text().catch(() => 'cut');
    expect(body).not.toContain(key);
    expect(await sessionState(small, 'big-late')).toBe('active');
  });
});

describe('what is stored and what is not held', () => {
  it('a forensics capture of a redacted answer holds the redacted body, not the secret', async () => {
    const { default: Database } = await import('better-sqlite3');
    const dataDir = mkdtempSync(join(tmpdir(), 'cordon-resp-cap-'));
    const gw = await startGateway(['--upstream', up.url, '--data-dir', dataDir, '--profile', 'forensics', '--policy', 'standard']);
    const key = `AKIA${'K'.repeat(16)}`;
    try {
      const got = await whole(gw.proxy, 'openai', 'cap-red', `the key is ${key} ok`, 'gzip');
      expect(got.text).toBe('the key is [REDACTED:secret.aws-access-key] ok');
    } finally {
      await gw.stop();
    }
    const db = new Database(join(dataDir, 'cordon.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT bytes FROM captures WHERE session_id = 'cap-red' AND direction = 'response' ORDER BY chunk_seq").all() as Array<{ bytes: Buffer }>;
      const body = Buffer.concat(rows.map((r) => r.bytes)).toString('utf8');
      expect(body).toContain('[REDACTED:secret.aws-access-key]');
      expect(body).not.toContain(key);
    } finally {
      db.close();
    }
  });

  it('a JSON answer to a request that asked to stream is not held: a later secret cuts it instead of a rewrite', async () => {
    const key = `AKIA${'J'.repeat(16)}`;
    const ask = async (path: string, session: string) => {
      const r = await fetch(`${standard.proxy}${path}`, { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-session-id': session, 'x-up-pad': '300000', 'x-up-text': ` ${key} end` },
        body: JSON.stringify({ contents: [] }) });
      return r.text().catch(() => 'cut');
    };
    // an ordinary whole answer is held and redacted
    expect(await ask('/v1/chat/completions', 'json-whole')).toContain('[REDACTED:secret.aws-access-key] end');
    // Gemini's streamGenerateContent sends its JSON array piece by piece: passed on as it comes, cut on the key
    const streamed = await ask('/v1beta/models/m:streamGenerateContent', 'json-stream');
    expect(streamed).not.toContain(key);
    expect(streamed).not.toContain('[REDACTED');
  });
});
