// Hold-back over SSE answers, through the engine's inspector: what the client would receive is
// reassembled per choice and must read `[REDACTED:<rule>]` where the key was, whatever the split
// of bytes and deltas, with choices interleaved; events with no candidate go out byte for byte.
import { describe, expect, it } from 'vitest';
import { PROFILE_BOUNDS } from '../../src/config/profiles.js';
import { createPolicyEngine, type PolicyRule } from '../../src/policy/index.js';
import { SECRETS } from '../../src/policy/presets/rules.js';
import type { Hit, StreamInspector } from '../../src/policy/types.js';

const redacting = SECRETS.map((r) => ({ ...r, action: 'redact' })) as PolicyRule[];
const engine = (rules: PolicyRule[] = redacting) => createPolicyEngine({ preset: 'off', rules, bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
const sse = (obj: unknown, name?: string) => `${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(obj)}\n\n`;
const KEY = 'AKIA' + 'Z7QK2M4X9B3N5P1R';
const GH = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}

/** Feeds `body` split at random points; returns what goes out and the hits. */
function run(insp: StreamInspector, body: string, seed: number): { out: string; hits: Hit[]; chunks: Buffer[] } {
  const buf = Buffer.from(body);
  const r = rng(seed);
  const hits: Hit[] = [];
  const outs: Buffer[] = [];
  for (let i = 0; i < buf.length;) {
    const n = 1 + Math.floor(r() * 40);
    hits.push(...(insp.write(buf.subarray(i, i + n)) ?? []));
    const o = insp.take!();
    if (o !== null) outs.push(Buffer.from(o));
    i += n;
  }
  hits.push(...(insp.end() ?? []));
  const tail = insp.takeEnd!();
  if (tail !== null) outs.push(tail);
  return { out: Buffer.concat(outs).toString(), hits, chunks: outs };
}

function dataOf(out: string): unknown[] {
  return out.split(/\n\n/).map((e) => e.split('\n').find((l) => l.startsWith('data: '))?.slice(6)).filter((d): d is string => d !== undefined && d !== '[DONE]').map((d) => JSON.parse(d) as unknown);
}

const chatText = (out: string, choice: number) => (dataOf(out) as Array<{ choices: Array<{ index: number; delta: { content?: string } }> }>)
  .flatMap((e) => e.choices.filter((c) => c.index === choice).map((c) => c.delta.content ?? '')).join('');

describe('SSE hold-back', () => {
  it('redacts keys in two interleaved OpenAI choices sent one character per delta, at any byte split', () => {
    const t0 = `Your key: ${KEY}. Done.`;
    const t1 = `Token ${GH} here`;
    let body = '';
    for (let i = 0; i < Math.max(t0.length, t1.length); i++) {
      if (i < t0.length) body += sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: t0[i] } }] });
      if (i < t1.length) body += sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 1, delta: { content: t1[i] } }] });
    }
    body += sse({ id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) + sse({ id: 'c', choices: [{ index: 1, delta: {}, finish_reason: 'stop' }] }) + 'data: [DONE]\n\n';
    for (let seed = 1; seed <= 20; seed++) {
      const r = run(engine().openResponse(1, 'text/event-stream', '/v1/chat/completions')!, body, seed);
      expect(chatText(r.out, 0)).toBe('Your key: [REDACTED:secret.aws-access-key]. Done.');
      expect(chatText(r.out, 1)).toBe('Token [REDACTED:secret.github-token] here');
      expect(r.out).not.toContain(KEY.slice(4, 12));
      expect(r.out.trimEnd().endsWith('data: [DONE]')).toBe(true);
      expect(r.hits.map((h) => [h.rule, h.action]).sort()).toEqual([['secret.aws-access-key', 'redact'], ['secret.github-token', 'redact']]);
    }
  });

  it('flushes held text before the end of an Anthropic block and of a Responses part', () => {
    const text = `ends with the key ${KEY}`;
    let a = sse({ type: 'message_start', message: { id: 'm' } }, 'message_start') + sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start');
    for (const ch of text) a += sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ch } }, 'content_block_delta');
    a += sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop') + sse({ type: 'message_stop' }, 'message_stop');
    const ra = run(engine().openResponse(1, 'text/event-stream', '/v1/messages')!, a, 7);
    const evs = dataOf(ra.out) as Array<{ type: string; delta?: { text?: string } }>;
    expect(evs.filter((e) => e.type === 'content_block_delta').map((e) => e.delta!.text).join('')).toBe('ends with the key [REDACTED:secret.aws-access-key]');
    // every delta comes before its block's stop
    expect(evs.map((e) => e.type).lastIndexOf('content_block_delta')).toBeLessThan(evs.map((e) => e.type).indexOf('content_block_stop'));

    let r = sse({ type: 'response.created', response: { id: 'r' } }, 'response.created');
    for (const ch of text) r += sse({ type: 'response.output_text.delta', item_id: 'i', output_index: 0, content_index: 0, delta: ch }, 'response.output_text.delta');
    r += sse({ type: 'response.output_text.done', item_id: 'i', output_index: 0, content_index: 0, text }, 'response.output_text.done');
    r += sse({ type: 'response.completed', response: { id: 'r', output: [{ type: 'message', content: [{ type: 'output_text', text }] }] } }, 'response.completed');
    const rr = run(engine().openResponse(1, 'text/event-stream', '/v1/responses')!, r, 9);
    const revs = dataOf(rr.out) as Array<{ type: string; delta?: string }>;
    expect(revs.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('')).toBe('ends with the key [REDACTED:secret.aws-access-key]');
    // the events that repeat the whole text are redacted too
    expect(rr.out).not.toContain(KEY);
    expect(rr.out).toContain('"text":"ends with the key [REDACTED:secret.aws-access-key]"');
  });

  it('passes events with no candidate through as the same bytes', () => {
    let body = '';
    for (const w of ['Hello', ' world', ', how', ' are', ' you?']) body += sse({ id: 'c', choices: [{ index: 0, delta: { content: w } }] });
    body += 'data: [DONE]\n\n';
    const insp = engine().openResponse(1, 'text/event-stream', '/v1/chat/completions')!;
    const chunk = Buffer.from(body);
    insp.write(chunk);
    expect(insp.take!()).toBe(chunk); // the very Buffer: no copy, no re-serialisation
    insp.end();
    expect(insp.takeEnd!()).toBeNull();
  });

  it('blocks before any of a key went out under a block rule', () => {
    let body = '';
    for (const ch of `key ${KEY} more`) body += sse({ id: 'c', choices: [{ index: 0, delta: { content: ch } }] });
    const insp = engine(SECRETS.map((x) => ({ ...x, action: 'block' })) as PolicyRule[]).openResponse(1, 'text/event-stream', '/v1/chat/completions')!;
    const buf = Buffer.from(body);
    let sent = '';
    let hit: Hit | undefined;
    for (let i = 0; i < buf.length && !hit; i += 5) {
      hit = insp.write(buf.subarray(i, i + 5))?.find((h) => h.action === 'block');
      const o = insp.take!();
      if (!hit && o !== null) sent += o.toString();
    }
    expect(hit?.rule).toBe('secret.aws-access-key');
    expect(chatText(sent, 0)).toBe('key ');
  });

  it('holds at most a candidate per choice: per-stream bytes stay under 2KB', () => {
    let body = '';
    for (const ch of `x ${KEY} y ${GH} z`) body += sse({ id: 'c', choices: [{ index: 0, delta: { content: ch } }] });
    const insp = engine().openResponse(1, 'text/event-stream', '/v1/chat/completions')!;
    let max = 0;
    const buf = Buffer.from(body);
    for (let i = 0; i < buf.length; i += 3) { insp.write(buf.subarray(i, i + 3)); insp.take!(); max = Math.max(max, insp.bytes()); }
    expect(max).toBeLessThan(2048);
  });
});
