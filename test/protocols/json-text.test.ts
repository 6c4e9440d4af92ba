import { describe, expect, it } from 'vitest';
import { JsonTextExtractor } from '../../src/protocols/json-text.js';
import { NdjsonDecoder } from '../../src/protocols/ndjson.js';

function extract(mode: 'stream' | 'whole', doc: Buffer, cut?: number) {
  const x = new JsonTextExtractor(mode);
  if (cut === undefined) x.write(doc, 0, doc.length);
  else {
    x.write(doc, 0, cut);
    x.write(doc, cut, doc.length);
  }
  x.end();
  return x;
}

describe('JSON text extractor', () => {
  it('takes chat completion message text and tool arguments from a whole body, decoding escapes', () => {
    const body = Buffer.from(JSON.stringify({
      id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-x',
      choices: [{ index: 0, message: { role: 'assistant', content: 'line1\nsay "hi" \u00e9\u{1F600}',
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'shell', arguments: '{"cmd":"ls -la"}' } }] } }],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
    }));
    for (let cut = 0; cut <= body.length; cut++) {
      const x = extract('whole', body, cut);
      expect(x.text, `cut ${cut}`).toBe('line1\nsay "hi" \u00e9\u{1F600}\nshell\n');
      expect(x.tool).toBe('{"cmd":"ls -la"}\n');
      expect(x.totalTokens).toBe(18);
      expect(x.toolCalls).toBe(1);
    }
  });

  it('decodes \\u escapes including surrogate pairs', () => {
    const x = extract('stream', Buffer.from('{"content":"a\\u0041\\ud83d\\ude00\\n"}'));
    expect(x.text).toBe('aA\u{1F600}\n');
  });

  it('takes Anthropic tool_use input objects as tool text, and tool definitions (MCP tools/list) as text', () => {
    const x = extract('whole', Buffer.from(JSON.stringify({
      type: 'message', role: 'assistant', tools: [{ type: 'function', description: 'rm -rf things' }],
      content: [{ type: 'text', text: 'ok' }, { type: 'tool_use', id: 't1', name: 'bash', input: { command: 'cat /etc/shadow' } }],
      usage: { input_tokens: 5, output_tokens: 9 },
    })));
    expect(x.text).toBe('rm -rf things\nok\nbash\n');
    expect(x.tool).toBe('cat /etc/shadow\n');
    expect(x.toolCalls).toBe(1);
    expect(x.inTokens + x.outTokens).toBe(14);
  });
});

describe('NDJSON decoder', () => {
  it('joins content deltas across lines and chunk splits', () => {
    const lines = ['{"model":"m","message":{"role":"assistant","content":"ign"}}', '{"message":{"content":"ore previous"}}',
      '{"done":true,"eval_count":3}', ''].join('\n');
    const buf = Buffer.from(lines);
    for (let cut = 0; cut <= buf.length; cut++) {
      const d = new NdjsonDecoder();
      d.write(buf.subarray(0, cut));
      d.write(buf.subarray(cut));
      d.end();
      expect(d.json.text, `cut ${cut}`).toBe('ignore previous');
    }
  });
});

describe('JSON text extractor key table', () => {
  it('reads every key right while many distinct keys share and replace table slots', () => {
    // 2,000 keys of the same length thrash the 256-slot key table; metadata keys among them must
    // still be told apart from text keys, and nested depth beyond 32 levels keeps object/array kinds.
    const o: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) o[`k${String(i).padStart(4, '0')}`] = `v${i}`;
    for (let round = 0; round < 3; round++) {
      const doc = Buffer.from(JSON.stringify({ id: 'skip-me', ...o, role: 'skip-too', object: 'x' }));
      const x = extract('whole', doc);
      const lines = x.text.split('\n').filter(Boolean);
      expect(lines.length).toBe(2000);
      expect(x.text).not.toContain('skip');
    }
  });

  it('keeps object and array nesting apart at every depth up to the limit', () => {
    let v: unknown = { content: 'deep text', id: 'hidden' };
    for (let d = 0; d < 60; d++) v = d % 2 ? { a: v } : [v];
    const x = extract('whole', Buffer.from(JSON.stringify(v)));
    expect(x.text).toBe('deep text\n');
  });
});
