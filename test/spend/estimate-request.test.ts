import { describe, expect, it } from 'vitest';
import { wantsEstimate } from '../../src/spend/service.js';
import { UsageScanner } from '../../src/spend/usage-scan.js';

const body = (j: unknown) => Buffer.from(JSON.stringify(j));

describe('usage estimate decision (spend.open)', () => {
  const msgs = [{ role: 'user', content: 'hi' }];
  it('a streamed chat request without include_usage is estimated; with it, not', () => {
    const a = { model: 'm', stream: true, messages: msgs };
    expect(wantsEstimate(body(a), a)).toBe(true);
    const b = { ...a, stream_options: { include_usage: true } };
    expect(wantsEstimate(body(b), b)).toBe(false);
    const c = { ...a, stream: false };
    expect(wantsEstimate(body(c), c)).toBe(false);
    const d = { ...a, stream_options: null };
    expect(wantsEstimate(body(d), d)).toBe(true);
  });

  it('an include_usage key anywhere but stream_options does not turn the estimate off', () => {
    const j = { model: 'm', stream: true, messages: msgs, metadata: { include_usage: true } };
    expect(wantsEstimate(body(j), j)).toBe(true);
  });

  it('an unparsed body (not JSON typed) falls back to the text check', () => {
    expect(wantsEstimate(Buffer.from('{"stream": true, "messages": []}'), undefined)).toBe(true);
    expect(wantsEstimate(Buffer.from('{"stream": true, "messages": [], "stream_options": {"include_usage": true}}'), undefined)).toBe(false);
  });
});

describe('UsageScanner without tool counting (the policy inspector counts)', () => {
  it('reads usage and model but counts no tool calls', () => {
    const answer = Buffer.from(JSON.stringify({ model: 'gpt-x', choices: [{ message: { tool_calls: [{ type: 'function', function: { name: 'f' } }] } }], usage: { prompt_tokens: 12, completion_tokens: 3 } }));
    const on = new UsageScanner();
    on.write(answer);
    const off = new UsageScanner(false);
    off.write(answer);
    expect(on.toolCalls).toBe(1);
    expect(off.toolCalls).toBe(0);
    expect([off.input, off.output, off.model]).toEqual([12, 3, 'gpt-x']);
  });
});
