import { describe, expect, it } from 'vitest';
import { UsageScanner } from '../../src/spend/usage-scan.js';
import * as R from '../../src/mock/replies.js';

/** Splits a body at seeded random points and feeds the pieces. */
function scanChunked(body: string, seed: number): UsageScanner {
  const buf = Buffer.from(body, 'utf8');
  let x = seed >>> 0 || 1;
  const rand = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const s = new UsageScanner();
  for (let at = 0; at < buf.length;) {
    const n = 1 + (rand() % 40);
    s.write(Buffer.from(buf.subarray(at, at + n)));
    at += n;
  }
  return s;
}

function sse(events: Array<{ event?: string; data: unknown }>): string {
  return events.map((e) => `${e.event ? `event: ${e.event}\n` : ''}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`).join('');
}

const text = 'A reply with "quotes", a {"input_tokens": 999} lookalike and \\ backslashes.';

// Every API shape the gateway meters, each with the usage the upstream reported.
const SHAPES: Array<{ name: string; body: string; want: { input: number; output: number; cached: number; cacheRead: number; model: string; tools: number } }> = [
  { name: 'openai chat', body: JSON.stringify(R.chatCompletion('gpt-4o-2024-08-06', text, 120, 64)), want: { input: 120, output: R.outTokens(text), cached: 64, cacheRead: 0, model: 'gpt-4o-2024-08-06', tools: 0 } },
  {
    name: 'openai chat stream with include_usage',
    body: sse([
      { data: R.chatChunk('gpt-4o-mini', { role: 'assistant', content: '' }, null) },
      { data: R.chatChunk('gpt-4o-mini', { content: text }, null) },
      { data: R.chatChunk('gpt-4o-mini', {}, 'stop') },
      { data: R.chatChunk('gpt-4o-mini', {}, null, R.usage(33, 21, 0)) },
      { data: '[DONE]' },
    ]),
    want: { input: 33, output: 21, cached: 0, cacheRead: 0, model: 'gpt-4o-mini', tools: 0 },
  },
  {
    name: 'openai chat stream with a tool call',
    body: sse([
      { data: R.chatChunk('gpt-4.1', { role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'search', arguments: '' } }] }, null) },
      { data: R.chatChunk('gpt-4.1', { tool_calls: [{ index: 0, function: { arguments: '{"q":"x"}' } }] }, null) },
      { data: R.chatChunk('gpt-4.1', { tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'read', arguments: '{}' } }] }, null) },
      { data: R.chatChunk('gpt-4.1', {}, null, R.usage(50, 12)) },
    ]),
    want: { input: 50, output: 12, cached: 0, cacheRead: 0, model: 'gpt-4.1', tools: 2 },
  },
  { name: 'responses', body: JSON.stringify(R.responseObject('o4-mini', text, 'completed', 77, 7)), want: { input: 77, output: R.outTokens(text), cached: 7, cacheRead: 0, model: 'o4-mini', tools: 0 } },
  {
    name: 'responses stream (usage null until completed)',
    body: sse([
      { event: 'response.created', data: { type: 'response.created', response: R.responseObject('gpt-5', '', 'in_progress', 40) } },
      { event: 'response.output_text.delta', data: { type: 'response.output_text.delta', delta: text } },
      { event: 'response.completed', data: { type: 'response.completed', response: R.responseObject('gpt-5', text, 'completed', 40) } },
    ]),
    want: { input: 40, output: R.outTokens(text), cached: 0, cacheRead: 0, model: 'gpt-5', tools: 0 },
  },
  { name: 'anthropic', body: JSON.stringify(R.anthropicMessage('claude-sonnet-4-20250514', text, 300, 200)), want: { input: 100, output: R.outTokens(text), cached: 0, cacheRead: 200, model: 'claude-sonnet-4-20250514', tools: 0 } },
  {
    name: 'anthropic stream (message_start, growing message_delta)',
    body: sse([
      { event: 'message_start', data: { type: 'message_start', message: { ...R.anthropicMessage('claude-haiku-4-5', '', 90, 10), usage: { input_tokens: 80, cache_creation_input_tokens: 5, cache_read_input_tokens: 10, output_tokens: 1 } } } },
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'search', input: {} } } },
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"type":"tool_use"}' } } },
      { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } } },
      { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 17 } } },
    ]),
    want: { input: 80, output: 17, cached: 0, cacheRead: 10, model: 'claude-haiku-4-5', tools: 1 },
  },
  { name: 'pretty-printed JSON', body: JSON.stringify(R.chatCompletion('gpt-4o', text, 9), null, 2), want: { input: 9, output: R.outTokens(text), cached: 0, cacheRead: 0, model: 'gpt-4o', tools: 0 } },
];

describe('UsageScanner', () => {
  for (const shape of SHAPES) {
    it(`reads ${shape.name} exactly, in any chunking (seeded)`, () => {
      for (let seed = 1; seed <= 200; seed++) {
        const s = seed === 1 ? (() => { const x = new UsageScanner(); x.write(Buffer.from(shape.body)); return x; })() : scanChunked(shape.body, seed);
        const got = { input: s.input, output: s.output, cached: s.cached, cacheRead: s.cacheRead, model: s.model, tools: s.toolCalls };
        expect(got, `seed ${seed}`).toEqual(shape.want);
        expect(s.seen).toBe(true);
      }
    });
  }

  it('sees no usage in a stream without it, nor in text that only looks like usage', () => {
    const body = sse([
      { data: R.chatChunk('gpt-4o', { content: '{"prompt_tokens": 5, "output_tokens": 7}' }, null) },
      { data: R.chatChunk('gpt-4o', {}, 'stop') },
    ]);
    for (let seed = 1; seed <= 50; seed++) {
      const s = scanChunked(body, seed);
      expect(s.seen, `seed ${seed}`).toBe(false);
      expect(s.model).toBe('gpt-4o');
    }
  });

  it('ignores usage keys whose value is not a number (a tool schema echoed in a Responses object)', () => {
    const s = new UsageScanner();
    s.write(Buffer.from('{"tools":[{"parameters":{"properties":{"input_tokens":{"type":"integer"}}}}],"usage":null}'));
    expect(s.seen).toBe(false);
  });
});
