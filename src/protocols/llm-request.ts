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
const SKIP_TOP = new Set(['model', 'tool_choice', 'response_format', 'metadata', 'stream',
  'stream_options', 'temperature', 'top_p', 'top_k', 'max_tokens', 'max_output_tokens', 'max_completion_tokens',
  'n', 'stop', 'stop_sequences', 'user', 'seed', 'logit_bias', 'logprobs', 'top_logprobs', 'presence_penalty',
  'frequency_penalty', 'parallel_tool_calls', 'store', 'reasoning', 'reasoning_effort', 'text', 'truncation',
  'previous_response_id', 'include', 'service_tier', 'thinking', 'modalities', 'audio', 'prediction',
  'jsonrpc', 'id', 'method']);
/** Keys whose values are identifiers or settings, never text. */
// Not `source`, `image_url` or `data`: an Anthropic document block carries its text in
// `source.data` (`source.type: text`), and a URL field can hold any text; only binary payloads
// (base64 of an image, audio or PDF) are passed over, by what they are (binaryPayload).
const META = new Set(['id', 'role', 'type', 'model', 'call_id', 'tool_call_id', 'tool_use_id', 'media_type',
  'cache_control', 'detail', 'format', 'status', 'index', 'signature', 'encrypted_content', 'file_id']);
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
  // Every field a backend might read is scanned, whichever it prefers when a body has several:
  // `system` and `instructions` both lead; with both `messages` and `input`, the one that is not
  // the conversation is scanned every time. Tool definitions lead too: their descriptions are
  // read by the model, and as a leading turn an unchanged list is not rescanned.
  const conv = Array.isArray(o.messages) ? 'messages' : Array.isArray(o.input) ? 'input' : null;
  let turns: unknown[] | null = null;
  if (conv !== null) {
    turns = [];
    for (const k of LEADS) if (o[k] !== undefined) turns.push(o[k]);
    for (const t of o[conv] as unknown[]) turns.push(t);
  }
  out.turns = turns;
  // own keys of a JSON.parse result; for-in makes no key array
  for (const k in o) {
    if (SKIP_TOP.has(k)) continue;
    if (turns !== null && (k === conv || LEADS.includes(k))) continue;
    out.other.push(o[k]);
  }
  return out;
}

const LEADS = ['system', 'instructions', 'tools', 'functions'];

/**
 * A string the model reads as an image, audio or a PDF rather than as text: a `data:` URL of such
 * a type, or base64 under `data` of a block whose media type says so, whose payload is all base64.
 * Any other string is text, whatever it begins with (`data:text/plain,...` included).
 */
function binaryPayload(s: string, o: Record<string, unknown> | null): boolean {
  let from = 0;
  if (s.startsWith('data:')) {
    const comma = s.indexOf(',');
    if (comma < 0 || comma > 128) return false;
    const head = s.slice(5, comma);
    if (!head.endsWith(';base64') || !BINARY_TYPE.test(head)) return false;
    from = comma + 1;
  } else if (o === null || typeof o.media_type !== 'string' || !BINARY_TYPE.test(o.media_type) || o.type !== 'base64') {
    return false;
  }
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61 || c === 10 || c === 13)) return false;
  }
  return true;
}
const BINARY_TYPE = /^(?:image|audio|video)\/|^application\/(?:pdf|octet-stream)/;

/** Emits every text string of a value; strings under arguments/input go to the tool channel. */
export function emitText(v: unknown, sink: TextSink, tool = false, depth = 0, parent: Record<string, unknown> | null = null): void {
  if (typeof v === 'string') {
    if (v.length === 0 || binaryPayload(v, parent)) return;
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
    emitText(o[k], sink, tool || TOOL.has(k), depth + 1, o);
  }
}

/** emitText without recursion, in the same order; only for the rare, deeply nested value. */
function emitDeep(root: object, sink: TextSink, rootTool: boolean): void {
  const values: unknown[] = [root];
  const tools: boolean[] = [rootTool];
  const parents: (Record<string, unknown> | null)[] = [null];
  while (values.length > 0) {
    const v = values.pop();
    const tool = tools.pop()!;
    const parent = parents.pop()!;
    if (typeof v === 'string') {
      if (v.length === 0 || binaryPayload(v, parent)) continue;
      if (tool) sink.tool(v);
      else sink.text(v);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    // children pushed last-first so that they pop in document order
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) { values.push(v[i]); tools.push(tool); parents.push(null); }
      continue;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i];
      if (META.has(k)) continue;
      values.push(o[k]);
      tools.push(tool || TOOL.has(k));
      parents.push(o);
    }
  }
}
