// Text of a parsed request body: OpenAI chat completions (messages[].content as a string or parts,
// tool_calls[].function.arguments), OpenAI responses (instructions, input as a string or items,
// function_call arguments and outputs), Anthropic messages (system, content blocks, tool_use input,
// tool_result content), MCP JSON-RPC (tools/call params.arguments) and, for anything else, every
// string value. The conversation is split into turns so the caller can skip turns it scanned before.

export interface TextSink {
  text(s: string): void;
  tool(s: string): void;
}

export interface RequestParts {
  /** the conversation, oldest first (system or instructions first), or null when there is none */
  turns: unknown[] | null;
  /** everything else worth scanning every time (MCP params, a prompt string) */
  other: unknown[];
  /** an MCP `tools/call`: one tool call for the tool-call metric */
  mcpToolCall: boolean;
}

/** Top-level settings and definitions that are not conversation text. */
const SKIP_TOP = new Set(['model', 'tools', 'functions', 'tool_choice', 'response_format', 'metadata', 'stream',
  'stream_options', 'temperature', 'top_p', 'top_k', 'max_tokens', 'max_output_tokens', 'max_completion_tokens',
  'n', 'stop', 'stop_sequences', 'user', 'seed', 'logit_bias', 'logprobs', 'top_logprobs', 'presence_penalty',
  'frequency_penalty', 'parallel_tool_calls', 'store', 'reasoning', 'reasoning_effort', 'text', 'truncation',
  'previous_response_id', 'include', 'service_tier', 'thinking', 'modalities', 'audio', 'prediction',
  'jsonrpc', 'id', 'method']);
/** Keys whose values are identifiers or settings, never text. */
const META = new Set(['id', 'role', 'type', 'model', 'call_id', 'tool_call_id', 'tool_use_id', 'media_type',
  'cache_control', 'detail', 'format', 'status', 'index', 'signature', 'encrypted_content', 'data', 'file_id',
  'image_url', 'source', 'input_audio', 'audio']);
const TOOL = new Set(['arguments', 'input', 'partial_json']);
const MAX_DEPTH = 64;

/**
 * Splits a parsed body. With `into`, fills that object (its `other` array is reused) instead of
 * allocating a new one per request: the caller clears it after use so it pins no body.
 */
export function splitRequest(json: unknown, into?: RequestParts): RequestParts {
  const out = into ?? { turns: null, other: [], mcpToolCall: false };
  out.turns = null;
  out.other.length = 0;
  out.mcpToolCall = false;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    out.other.push(json);
    return out;
  }
  const o = json as Record<string, unknown>;
  if (o.jsonrpc !== undefined && typeof o.method === 'string') {
    if (o.params !== undefined) out.other.push(o.params);
    out.mcpToolCall = o.method === 'tools/call';
    return out;
  }
  let turns: unknown[] | null = null;
  const lead = o.system ?? o.instructions;
  if (Array.isArray(o.messages)) turns = lead === undefined ? o.messages : [lead, ...o.messages];
  else if (Array.isArray(o.input)) turns = lead === undefined ? o.input : [lead, ...o.input];
  out.turns = turns;
  // own keys of a JSON.parse result; for-in makes no key array
  for (const k in o) {
    if (SKIP_TOP.has(k)) continue;
    if (turns && (k === 'messages' || k === 'system' || k === 'instructions' || (k === 'input' && Array.isArray(o.input)))) continue;
    out.other.push(o[k]);
  }
  return out;
}

/** Emits every text string of a value; strings under arguments/input go to the tool channel. */
export function emitText(v: unknown, sink: TextSink, tool = false, depth = 0): void {
  if (typeof v === 'string') {
    if (v.length === 0 || v.startsWith('data:')) return;
    if (tool) sink.tool(v);
    else sink.text(v);
    return;
  }
  if (v === null || typeof v !== 'object') return;
  // Deeper than this, an explicit stack takes over: text nested 65 levels down must still be
  // scanned (skipping it let a prompt through unscanned), and 100k levels must not blow the stack.
  if (depth >= MAX_DEPTH) return emitDeep(v, sink, tool);
  if (Array.isArray(v)) {
    for (const x of v) emitText(x, sink, tool, depth + 1);
    return;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (META.has(k)) continue;
    emitText(o[k], sink, tool || TOOL.has(k), depth + 1);
  }
}

/** emitText without recursion, in the same order; only for the rare, deeply nested value. */
function emitDeep(root: object, sink: TextSink, rootTool: boolean): void {
  const values: unknown[] = [root];
  const tools: boolean[] = [rootTool];
  while (values.length > 0) {
    const v = values.pop();
    const tool = tools.pop()!;
    if (typeof v === 'string') {
      if (v.length === 0 || v.startsWith('data:')) continue;
      if (tool) sink.tool(v);
      else sink.text(v);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    // children pushed last-first so that they pop in document order
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) { values.push(v[i]); tools.push(tool); }
      continue;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i];
      if (META.has(k)) continue;
      values.push(o[k]);
      tools.push(tool || TOOL.has(k));
    }
  }
}

/** A 32-bit FNV-1a over a value's strings and shape: equal turns hash equal, cheaply. */
export function hashValue(v: unknown, h: number, depth = 0): number {
  if (typeof v === 'string') {
    h = Math.imul(h ^ 0x22, 16777619);
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 16777619);
    return h >>> 0;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return Math.imul(h ^ (Number(v) | 0) ^ 0x6e, 16777619) >>> 0;
  if (v === null || typeof v !== 'object') return Math.imul(h ^ 0x30, 16777619) >>> 0;
  // Deep values are hashed in full too: a turn that differs only below this depth must not pass
  // for one scanned before (it would be skipped as already seen).
  if (depth >= MAX_DEPTH) return hashDeep(v, h);
  if (Array.isArray(v)) {
    h = Math.imul(h ^ 0x5b, 16777619);
    for (const x of v) h = hashValue(x, h, depth + 1);
    return Math.imul(h ^ 0x5d, 16777619) >>> 0;
  }
  h = Math.imul(h ^ 0x7b, 16777619);
  const o = v as Record<string, unknown>;
  for (const k in o) {
    h = hashValue(k, h, depth + 1);
    h = hashValue(o[k], h, depth + 1);
  }
  return Math.imul(h ^ 0x7d, 16777619) >>> 0;
}

/** A marker on hashDeep's stack: the closing byte of an array or object. */
class Close { constructor(readonly byte: number) {} }
const CLOSE_ARRAY = new Close(0x5d);
const CLOSE_OBJECT = new Close(0x7d);

/** hashValue without recursion, giving the same hash; only for the rare, deeply nested value. */
function hashDeep(root: object, h: number): number {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v instanceof Close) { h = Math.imul(h ^ v.byte, 16777619) >>> 0; continue; }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') { h = hashValue(v, h); continue; }
    if (v === null || typeof v !== 'object') { h = Math.imul(h ^ 0x30, 16777619) >>> 0; continue; }
    if (Array.isArray(v)) {
      h = Math.imul(h ^ 0x5b, 16777619);
      stack.push(CLOSE_ARRAY);
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
      continue;
    }
    h = Math.imul(h ^ 0x7b, 16777619);
    stack.push(CLOSE_OBJECT);
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    for (let i = keys.length - 1; i >= 0; i--) { stack.push(o[keys[i]]); stack.push(keys[i]); }
  }
  return h >>> 0;
}

export const HASH_SEED = 2166136261;
