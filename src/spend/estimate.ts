// Token counts where the upstream sent no usage (an OpenAI stream without
// `stream_options.include_usage`, a backend that reports none): gpt-tokenizer's o200k_base, loaded
// on first need (~300ms, ~10MB), never at start. Chat messages add the framing OpenAI documents
// for its chat format: 3 tokens a message and 3 to prime the answer.
type Counter = (text: string) => number;

let counter: Counter | null = null;
let loading: Promise<Counter> | null = null;

export function tokenCounter(): Promise<Counter> {
  if (counter !== null) return Promise.resolve(counter);
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => {
    counter = (t: string) => (t.length === 0 ? 0 : m.countTokens(t));
    return counter;
  });
  return loading;
}

const PER_MESSAGE = 3;
const REPLY_PRIMING = 3;

/** The text a request sends the model, and how many chat messages carry it. */
export function requestText(json: unknown): { text: string; messages: number } {
  if (json === null || typeof json !== 'object') return { text: '', messages: 0 };
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
      if (m !== null && typeof m === 'object') take((m as Record<string, unknown>).content);
    }
  }
  take(o.system);
  take(o.instructions);
  take(o.input);
  take(o.prompt);
  return { text: parts.join('\n'), messages };
}

/** Estimated input tokens of a parsed request body. */
export function estimateInput(count: Counter, json: unknown): number {
  const { text, messages } = requestText(json);
  const n = count(text);
  return messages > 0 ? n + messages * PER_MESSAGE + REPLY_PRIMING : n;
}

/** The answer text of a response body (SSE deltas or one JSON), for estimating output tokens. */
export function responseText(body: string): string {
  const parts: string[] = [];
  const visit = (o: unknown): void => {
    if (o === null || typeof o !== 'object') return;
    const r = o as Record<string, unknown>;
    // chat: choices[].delta.content / message.content; Responses: delta (string) / output_text;
    // Anthropic: delta.text / content[].text
    if (Array.isArray(r.choices)) for (const c of r.choices) {
      const x = c as Record<string, unknown>;
      const d = (x.delta ?? x.message) as Record<string, unknown> | undefined;
      if (d && typeof d.content === 'string') parts.push(d.content);
    }
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
