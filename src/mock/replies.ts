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

export function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function chatCompletion(model: string, text: string, promptTokens: number) {
  return {
    id: 'chatcmpl-mock', object: 'chat.completion', created, model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: usage(promptTokens, Math.ceil(text.length / 4)),
  };
}

export function chatChunk(model: string, delta: Record<string, unknown>, finish: string | null, withUsage?: ReturnType<typeof usage>) {
  return {
    id: 'chatcmpl-mock', object: 'chat.completion.chunk', created, model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(withUsage ? { usage: withUsage } : {}),
  };
}

export function responseObject(model: string, text: string, status: 'completed' | 'in_progress', promptTokens: number) {
  return {
    id: 'resp_mock', object: 'response', created_at: created, status, model,
    output: status === 'completed'
      ? [{ type: 'message', id: 'msg_mock', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }]
      : [],
    usage: { input_tokens: promptTokens, output_tokens: Math.ceil(text.length / 4), total_tokens: promptTokens + Math.ceil(text.length / 4) },
  };
}

export function anthropicMessage(model: string, text: string, promptTokens: number) {
  return {
    id: 'msg_mock', type: 'message', role: 'assistant', model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: promptTokens, output_tokens: Math.ceil(text.length / 4) },
  };
}

export const MODELS = {
  object: 'list',
  data: [
    { id: 'mock-gpt', object: 'model', created, owned_by: 'cordon' },
    { id: 'mock-claude', object: 'model', created, owned_by: 'cordon' },
  ],
};
