// Deterministic reply bodies of the bundled mock LLM, in the OpenAI and Anthropic shapes.
// Text is split into N deltas by character count, so tests can predict every byte.

export const DEFAULT_TEXT = 'Hello from the cordon mock LLM. This reply is deterministic, so tests can compare it byte for byte.';

export function splitDeltas(text: string, n: number): string[] {
  const count = Math.max(1, Math.min(n, text.length || 1));
  const size = Math.ceil(text.length / count);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}

const created = 1_700_000_000;

/** Output tokens of a reply, as the mock counts them (deterministic: a token per 4 characters). */
export function outTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** OpenAI chat usage with its details objects; `cached` is part of prompt_tokens. */
export function usage(prompt: number, completion: number, cached = 0) {
  return {
    prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: Math.min(cached, prompt), audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

export function chatCompletion(model: string, text: string, promptTokens: number, cached = 0) {
  return {
    id: 'chatcmpl-mock', object: 'chat.completion', created, model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: usage(promptTokens, outTokens(text), cached),
  };
}

export function chatChunk(model: string, delta: Record<string, unknown>, finish: string | null, withUsage?: ReturnType<typeof usage>) {
  return {
    id: 'chatcmpl-mock', object: 'chat.completion.chunk', created, model,
    choices: withUsage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(withUsage ? { usage: withUsage } : {}),
  };
}

/** A Responses API object; usage is null until completed, as the API sends it. */
export function responseObject(model: string, text: string, status: 'completed' | 'in_progress', promptTokens: number, cached = 0) {
  const out = outTokens(text);
  return {
    id: 'resp_mock', object: 'response', created_at: created, status, model,
    output: status === 'completed'
      ? [{ type: 'message', id: 'msg_mock', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }]
      : [],
    usage: status === 'completed'
      ? { input_tokens: promptTokens, input_tokens_details: { cached_tokens: Math.min(cached, promptTokens) }, output_tokens: out, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: promptTokens + out }
      : null,
  };
}

/** An Anthropic message: input_tokens excludes what was read from the cache (cache_read_input_tokens). */
export function anthropicMessage(model: string, text: string, promptTokens: number, cached = 0) {
  const read = Math.min(cached, promptTokens);
  return {
    id: 'msg_mock', type: 'message', role: 'assistant', model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: promptTokens - read, cache_creation_input_tokens: 0, cache_read_input_tokens: read, output_tokens: outTokens(text) },
  };
}

export const MODELS = {
  object: 'list',
  data: [
    { id: 'mock-gpt', object: 'model', created, owned_by: 'cordon' },
    { id: 'mock-claude', object: 'model', created, owned_by: 'cordon' },
  ],
};
