// Token counts where the upstream sent no usage (an OpenAI stream without
// `stream_options.include_usage`, a compatible backend that reports none, on any of the chat,
// completions, Anthropic messages and Responses APIs, streamed or not), with gpt-tokenizer: the
// model's own encoding for OpenAI models (cl100k_base for gpt-4 and gpt-3.5, o200k_base for the
// rest), o200k_base as an approximation for others (Anthropic's tokenizer is not public). Loaded on
// first need (~300ms, ~10MB each), never at start. Chat messages add the framing OpenAI documents
// (the cookbook's num_tokens_from_messages, which matches the API's prompt_tokens): each message
// 3 tokens plus its role, content and name (+1), and 3 to prime the answer.
export type Counter = (text: string) => number;

const counters = new Map<string, Counter>();
const loading = new Map<string, Promise<Counter>>();

/** The encoding of a model: gpt-4 (not 4o/4.1) and gpt-3.5 use cl100k_base. */
export function encodingOf(model: string | null): 'o200k_base' | 'cl100k_base' {
  if (model === null) return 'o200k_base';
  if (model.startsWith('gpt-3.5')) return 'cl100k_base';
  return model.startsWith('gpt-4') && (model.length === 5 || model[5] === '-') ? 'cl100k_base' : 'o200k_base';
}

export function tokenCounter(model: string | null = null): Promise<Counter> {
  const enc = encodingOf(model);
  const have = counters.get(enc);
  if (have !== undefined) return Promise.resolve(have);
  let p = loading.get(enc);
  if (p === undefined) {
    p = (enc === 'cl100k_base' ? import('gpt-tokenizer/encoding/cl100k_base') : import('gpt-tokenizer/encoding/o200k_base')).then((m) => {
      const c: Counter = (t: string) => (t.length === 0 ? 0 : m.countTokens(t));
      counters.set(enc, c);
      return c;
    });
    loading.set(enc, p);
  }
  return p;
}

const PER_MESSAGE = 3;
const REPLY_PRIMING = 3;

/** The text a request sends the model, and how many chat messages carry it (roles and names included). */
export function requestText(json: unknown): { text: string; messages: number } {
  const { parts, messages } = requestParts(json);
  return { text: parts.join('\n'), messages };
}

/** The pieces of text a request sends (an empty piece: one framing token, a name's), and its chat messages. */
function requestParts(json: unknown): { parts: string[]; messages: number } {
  if (json === null || typeof json !== 'object') return { parts: [], messages: 0 };
  const o = json as Record<string, unknown>;
  const parts: string[] = [];
  let messages = 0;
  const take = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) for (const p of v) take(p);
    else if (v !== null && typeof v === 'object') {
      const r = v as Record<string, unknown>;
      if (typeof r.text === 'string') parts.push(r.text);
      else if (r.content !== undefined) take(r.content);
    }
  };
  if (Array.isArray(o.messages)) {
    for (const m of o.messages) {
      messages++;
      if (m === null || typeof m !== 'object') continue;
      const r = m as Record<string, unknown>;
      if (typeof r.role === 'string') parts.push(r.role);
      // a name costs its tokens and one more
      if (typeof r.name === 'string') parts.push(r.name, '');
      take(r.content);
    }
  }
  take(o.system);
  take(o.instructions);
  take(o.input);
  take(o.prompt);
  return { parts, messages };
}

/** Estimated input tokens of a parsed request body. `model` picks the tool framing's constants. */
export function estimateInput(count: Counter, json: unknown, model: string | null = null): number {
  const { parts, messages } = requestParts(json);
  let n = 0;
  // each piece on its own, as the API frames them: joined text would merge tokens across pieces
  for (const p of parts) n += p.length === 0 ? 1 : count(p);
  if (messages > 0) n += messages * PER_MESSAGE + REPLY_PRIMING;
  const tools = (json as { tools?: unknown } | null)?.tools;
  if (Array.isArray(tools) && tools.length > 0) n += toolTokens(count, tools, encodingOf(model) === 'cl100k_base' ? 10 : 7);
  return n;
}

/**
 * Chat `tools` (function definitions) as OpenAI frames them, after the cookbook's
 * num_tokens_for_tools (which matches the API): per function `init` + "name:description", per
 * parameter 3 + "name:type:description", an enum 3 per item (less 3), 3 per parameter list, 12 at the end.
 */
function toolTokens(count: Counter, tools: unknown[], init: number): number {
  let n = 0;
  for (const t of tools) {
    const f = (t as { function?: Record<string, unknown> } | null)?.function;
    if (f === undefined || f === null || typeof f !== 'object') continue;
    n += init + count(`${str(f.name)}:${trimDot(str(f.description))}`);
    const props = (f.parameters as { properties?: Record<string, Record<string, unknown>> } | undefined)?.properties;
    if (props === undefined || props === null || typeof props !== 'object') continue;
    const keys = Object.keys(props);
    if (keys.length > 0) n += 3;
    for (const k of keys) {
      const p = props[k] ?? {};
      n += 3;
      if (Array.isArray(p.enum)) {
        n -= 3;
        for (const item of p.enum) n += 3 + count(str(item));
      }
      n += count(`${k}:${str(p.type)}:${trimDot(str(p.description))}`);
    }
  }
  return n + 12;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
const trimDot = (s: string): string => (s.endsWith('.') ? s.slice(0, -1) : s);

/** The answer text of a response body (SSE deltas or one JSON), for estimating output tokens. */
export function responseText(body: string): string {
  const parts: string[] = [];
  const visit = (o: unknown): void => {
    if (o === null || typeof o !== 'object') return;
    const r = o as Record<string, unknown>;
    // chat: choices[].delta.content / message.content (completions: choices[].text); Responses:
    // delta (string) streamed, output[].content[].text whole; Anthropic: delta.text / content[].text
    if (Array.isArray(r.choices)) for (const c of r.choices) {
      const x = c as Record<string, unknown>;
      const d = (x.delta ?? x.message) as Record<string, unknown> | undefined;
      if (d && typeof d.content === 'string') parts.push(d.content);
      else if (typeof x.text === 'string') parts.push(x.text);
    }
    if (Array.isArray(r.output)) for (const o of r.output) visit(o);
    if (typeof r.type === 'string' && r.type === 'response.output_text.delta' && typeof r.delta === 'string') parts.push(r.delta);
    const d = r.delta as Record<string, unknown> | undefined;
    if (d && typeof d === 'object' && typeof d.text === 'string') parts.push(d.text);
    if (Array.isArray(r.content)) for (const c of r.content) if (c && typeof (c as Record<string, unknown>).text === 'string') parts.push((c as Record<string, string>).text);
  };
  const t = body.trimStart();
  if (t.startsWith('{')) {
    try { visit(JSON.parse(t)); return parts.join(''); } catch { /* not one JSON: lines below */ }
  }
  for (const line of body.split('\n')) {
    const s = line.startsWith('data:') ? line.slice(5).trim() : line.trim();
    if (!s.startsWith('{')) continue;
    try { visit(JSON.parse(s)); } catch { /* a line cut at the capture bound */ }
  }
  return parts.join('');
}
