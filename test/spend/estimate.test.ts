// Answers that carry no usage are counted with the tokenizer, on every API shape (OpenAI chat and
// completions, Anthropic messages, Responses; streamed and whole); answers that carry usage let go of
// what estimating would need as soon as it shows.
import { describe, expect, it } from 'vitest';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { Spend, type SpendTable } from '../../src/spend/service.js';
import { tokenCounter } from '../../src/spend/estimate.js';
import { validate } from '../../src/config/load.js';

interface Usage { tin: number; tout: number; estimated: boolean }

function harness(): { spend: Spend; got: Usage[] } {
  const got: Usage[] = [];
  const table: SpendTable = {
    addUsage: (_slot, tin, tout, _usd, _model, estimated) => { got.push({ tin, tout, estimated }); return true; },
    spendOf: () => ({ agent: 0, model: 0, meta: 0, tokensIn: 0, tokensOut: 0, cost: 0, toolCalls: 0 }),
    costOf: () => 0,
    idOf: () => 's1',
  };
  const spend = new Spend(validate({ upstreams: [{ url: 'http://127.0.0.1:1/v1' }] }), table);
  return { spend, got };
}

const sse = (events: Array<{ event?: string; data: unknown }>): string =>
  events.map((e) => `${e.event ? `event: ${e.event}\n` : ''}data: ${JSON.stringify(e.data)}\n\n`).join('');

const ANSWER = 'The lighthouse keeper watched the storm roll in, counting the seconds between thunder and lightning.';
const PROMPT = 'Summarise the plot of a short story about a lighthouse keeper and a storm.';
const SYSTEM = 'You are terse.';
const split = (s: string, n: number): string[] => Array.from({ length: n }, (_, i) => s.slice(Math.floor((i * s.length) / n), Math.floor(((i + 1) * s.length) / n)));

const chatReq = { model: 'gpt-4o', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: PROMPT }] };
// OpenAI's documented chat framing: 3 tokens a message plus its role and content, 3 to prime the answer
const chatIn = countTokens('system') + countTokens(SYSTEM) + countTokens('user') + countTokens(PROMPT) + 2 * 3 + 3;

const CASES: Array<{ name: string; target: string; req: unknown; body: string; tin: number }> = [
  {
    name: 'openai chat stream without include_usage', target: '/v1/chat/completions', req: { ...chatReq, stream: true }, tin: chatIn,
    body: sse(split(ANSWER, 5).map((t) => ({ data: { object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta: { content: t } }] } }))),
  },
  {
    name: 'openai chat, whole, without usage', target: '/v1/chat/completions', req: chatReq, tin: chatIn,
    body: JSON.stringify({ object: 'chat.completion', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: ANSWER } }] }),
  },
  {
    name: 'openai completions, whole, without usage', target: '/v1/completions', req: { model: 'davinci-002', prompt: PROMPT }, tin: countTokens(PROMPT),
    body: JSON.stringify({ object: 'text_completion', choices: [{ index: 0, text: ANSWER }] }),
  },
  {
    name: 'anthropic messages stream without usage', target: '/v1/messages', tin: countTokens('user') + countTokens(PROMPT) + countTokens(SYSTEM) + 3 + 3,
    req: { model: 'claude-sonnet-4-5', system: SYSTEM, max_tokens: 100, stream: true, messages: [{ role: 'user', content: [{ type: 'text', text: PROMPT }] }] },
    body: sse([
      { event: 'message_start', data: { type: 'message_start', message: { id: 'm', role: 'assistant', model: 'claude-sonnet-4-5', content: [] } } },
      ...split(ANSWER, 4).map((t) => ({ event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } } })),
      { event: 'message_stop', data: { type: 'message_stop' } },
    ]),
  },
  {
    name: 'anthropic messages, whole, without usage', target: '/v1/messages', tin: countTokens('user') + countTokens(PROMPT) + 3 + 3,
    req: { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] },
    body: JSON.stringify({ type: 'message', role: 'assistant', content: [{ type: 'text', text: ANSWER }] }),
  },
  {
    name: 'responses stream without usage', target: '/v1/responses', req: { model: 'gpt-5', instructions: SYSTEM, input: PROMPT, stream: true },
    tin: countTokens(SYSTEM) + countTokens(PROMPT),
    body: sse([
      { event: 'response.created', data: { type: 'response.created', response: { id: 'r', status: 'in_progress', usage: null } } },
      ...split(ANSWER, 3).map((t) => ({ event: 'response.output_text.delta', data: { type: 'response.output_text.delta', delta: t } })),
      { event: 'response.completed', data: { type: 'response.completed', response: { id: 'r', status: 'completed', output: [] } } },
    ]),
  },
  {
    name: 'responses, whole, without usage', target: '/v1/responses',
    req: { model: 'gpt-5', input: [{ role: 'user', content: [{ type: 'input_text', text: PROMPT }] }] }, tin: countTokens(PROMPT),
    body: JSON.stringify({ id: 'r', object: 'response', status: 'completed', output: [{ type: 'message', content: [{ type: 'output_text', text: ANSWER }] }] }),
  },
];

async function settled(): Promise<void> {
  await tokenCounter();
  await new Promise((r) => setImmediate(r));
}

describe('estimates where no usage comes', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { spend, got } = harness();
      const raw = Buffer.from(JSON.stringify(c.req));
      const m = spend.open(0, raw, c.req, c.target);
      for (const piece of split(c.body, 7)) m.write(Buffer.from(piece));
      spend.settle(0, 0, null, 's1', m, 1, -1);
      await settled();
      expect(got).toEqual([{ tin: c.tin, tout: countTokens(ANSWER), estimated: true }]);
    });
  }

  it('an answer with usage is taken as reported, and the request and chunks are let go once usage shows', async () => {
    const { spend, got } = harness();
    const m = spend.open(0, Buffer.from(JSON.stringify(chatReq)), chatReq, '/v1/messages');
    m.write(Buffer.from(sse([{ event: 'message_start', data: { type: 'message_start', message: { model: 'claude-sonnet-4-5', usage: { input_tokens: 12, output_tokens: 1 } } } }])));
    expect(m.reqBody).toBeNull();
    expect(m.kept).toBeNull();
    m.write(Buffer.from(sse([{ event: 'message_delta', data: { type: 'message_delta', usage: { output_tokens: 30 } } }])));
    spend.settle(0, 0, null, 's1', m, 1, -1);
    await settled();
    expect(got).toEqual([{ tin: 12, tout: 30, estimated: false }]);
  });

  it('gpt-4 and gpt-3.5 are counted with their own encoding (cl100k_base), names cost their tokens and one more', async () => {
    const { spend, got } = harness();
    const { countTokens: cl100k } = await import('gpt-tokenizer/encoding/cl100k_base');
    const req = { model: 'gpt-4-0613', stream: true, messages: [{ role: 'user', name: 'example_user', content: PROMPT }] };
    const m = spend.open(0, Buffer.from(JSON.stringify(req)), req, '/v1/chat/completions');
    m.write(Buffer.from(sse([{ data: { object: 'chat.completion.chunk', model: 'gpt-4-0613', choices: [{ index: 0, delta: { content: ANSWER } }] } }])));
    spend.settle(0, 0, null, 's1', m, 1, -1);
    await tokenCounter('gpt-4');
    await settled();
    expect(got).toEqual([{ tin: cl100k('user') + cl100k('example_user') + 1 + cl100k(PROMPT) + 3 + 3, tout: cl100k(ANSWER), estimated: true }]);
  });

  it('a request that is not an LLM call is not held', () => {
    const { spend } = harness();
    expect(spend.open(0, Buffer.from('{}'), {}, '/v1/models').reqBody).toBeNull();
  });
});
