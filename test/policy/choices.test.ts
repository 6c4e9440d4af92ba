// Each choice of a streamed answer is scanned as its own text: interleaved `n: 2` choices, Anthropic
// content blocks and Responses output parts cannot hide a key that neither carries whole, and a
// key split across one choice's deltas is still found.
import { describe, expect, it } from 'vitest';
import { PROFILE_BOUNDS } from '../../src/config/profiles.js';
import { createPolicyEngine } from '../../src/policy/index.js';
import { MAX_CHOICES, TOO_MANY_CHOICES } from '../../src/policy/choices.js';
import type { Hit } from '../../src/policy/types.js';

const engine = () => createPolicyEngine({ preset: 'standard', rules: [], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
const sse = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;
const KEY = 'AKIA' + 'QWERTYUIOPASDFGH';

function run(chunks: string[]): Hit[] {
  const insp = engine().openResponse(1, 'text/event-stream', '/v1/chat/completions')!;
  const out: Hit[] = [];
  for (const c of chunks) out.push(...(insp.write(Buffer.from(c)) ?? []));
  out.push(...(insp.end() ?? []));
  return out;
}
const chat = (i: number, content: string) => sse({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: i, delta: { content } }] });

describe('per-choice scanning', () => {
  it('finds a key sent one character per delta in each of two interleaved choices', () => {
    const events: string[] = [];
    for (const ch of `key: ${KEY} end`) { events.push(chat(0, ch)); events.push(chat(1, ch)); }
    expect(run(events).map((h) => h.rule)).toContain('secret.aws-access-key');
  });

  it('does not join two choices into a key that neither carries', () => {
    // choice 0 carries the first half, choice 1 the second: interleaved, one text would read a key
    const events = [chat(0, 'x '), chat(1, 'y '), chat(0, KEY.slice(0, 10)), chat(1, KEY.slice(10)), chat(0, ' a'), chat(1, ' b')];
    expect(run(events).map((h) => h.rule)).not.toContain('secret.aws-access-key');
    // the same pieces in one choice are one key
    const one = [chat(0, 'x '), chat(0, KEY.slice(0, 10)), chat(0, KEY.slice(10)), chat(0, ' a')];
    expect(run(one).map((h) => h.rule)).toContain('secret.aws-access-key');
  });

  it('takes the index of a choice even when it comes after its delta', () => {
    const ev = (i: number, content: string) => `data: {"choices":[{"delta":{"content":${JSON.stringify(content)}},"index":${i}}]}\n\n`;
    const events: string[] = [];
    for (const ch of KEY) { events.push(ev(1, ch)); events.push(ev(0, '.')); }
    events.push(ev(1, ' '));
    expect(run(events).map((h) => h.rule)).toContain('secret.aws-access-key');
  });

  it('reads several choices in one event, each to its own text', () => {
    const both = (a: string, b: string) => sse({ choices: [{ index: 0, delta: { content: a } }, { index: 1, delta: { content: b } }] });
    const events = [...KEY].map((ch) => both(ch, '-'));
    events.push(both(' ', ' '));
    expect(run(events).map((h) => h.rule)).toContain('secret.aws-access-key');
  });

  it('scans Anthropic content blocks and Responses output parts by their index', () => {
    const block = (i: number, text: string) => sse({ type: 'content_block_delta', index: i, delta: { type: 'text_delta', text } });
    const a: string[] = [];
    for (const ch of KEY) { a.push(block(0, ch)); a.push(block(1, 'z')); }
    a.push(block(0, ' '));
    expect(run(a).map((h) => h.rule)).toContain('secret.aws-access-key');
    const part = (o: number, c: number, delta: string) => sse({ type: 'response.output_text.delta', output_index: o, content_index: c, delta });
    const r: string[] = [];
    for (const ch of KEY) { r.push(part(0, 0, ch)); r.push(part(1, 0, 'q')); r.push(part(0, 1, 'w')); }
    r.push(part(0, 0, ' '));
    expect(run(r).map((h) => h.rule)).toContain('secret.aws-access-key');
  });

  it('refuses a stream with more choices than it scans apart, once', () => {
    const events: string[] = [];
    for (let i = 0; i <= MAX_CHOICES; i++) events.push(chat(i, 'hello'));
    events.push(chat(MAX_CHOICES + 1, 'more'));
    const hits = run(events).filter((h) => h.rule === TOO_MANY_CHOICES);
    expect(hits).toHaveLength(1);
    expect(hits[0].action).toBe('block');
  });

  it('frees a choice whose text ended, so sequential choices are never too many', () => {
    const events: string[] = [];
    for (let i = 0; i < MAX_CHOICES * 3; i++) {
      events.push(sse({ type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: 'part' } }));
      events.push(sse({ type: 'content_block_stop', index: i }));
    }
    expect(run(events).map((h) => h.rule)).not.toContain(TOO_MANY_CHOICES);
  });
});
