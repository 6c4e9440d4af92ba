// The request side of tool governance, over a parsed body: denied tools are removed from `tools`
// (OpenAI chat `{type:function, function:{name}}`, Anthropic `{name}`, Responses `{type:function,
// name}` and built-in tools by type) and legacy `functions`; tool descriptions are collected for
// tool_description rules; an MCP JSON-RPC message is recognised (tools/call, tools/list).

type Obj = Record<string, unknown>;

/** A tool definition's name: the function's, the tool's, or for built-in tools its type. */
export function toolName(def: unknown): string | null {
  if (def === null || typeof def !== 'object') return null;
  const d = def as Obj;
  const f = d.function as Obj | undefined;
  if (f !== null && typeof f === 'object' && typeof f.name === 'string') return f.name;
  if (typeof d.name === 'string') return d.name;
  if (typeof d.type === 'string' && d.type !== 'function') return d.type;
  return null;
}

const SKIP_KEYS = new Set(['type', 'name', 'required', 'format', 'pattern', '$schema', '$ref', 'additionalProperties']);
const MAX_DEPTH = 32;

/** Every text of a definition a model reads: descriptions, titles, enum values, defaults, examples. */
export function descriptionText(def: unknown): string {
  const parts: string[] = [];
  collect(def, parts, 0);
  return parts.join('\n');
}

function collect(v: unknown, out: string[], depth: number): void {
  if (typeof v === 'string') {
    if (v.length > 0) out.push(v);
    return;
  }
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return;
  if (Array.isArray(v)) {
    for (const x of v) collect(x, out, depth + 1);
    return;
  }
  for (const k in v as Obj) {
    if (SKIP_KEYS.has(k)) continue;
    // property names are identifiers the model reads too ("read_ssh_key_first")
    if (k !== 'properties' && k !== 'function' && k !== 'input_schema' && k !== 'inputSchema' && k !== 'parameters') out.push(k);
    collect((v as Obj)[k], out, depth + 1);
  }
}

/** The `tools` and `functions` arrays of an LLM request body (either may be absent). */
export function toolArrays(o: Obj): Array<{ key: 'tools' | 'functions'; list: unknown[] }> | null {
  let out: Array<{ key: 'tools' | 'functions'; list: unknown[] }> | null = null;
  if (Array.isArray(o.tools) && o.tools.length > 0) (out ??= []).push({ key: 'tools', list: o.tools });
  if (Array.isArray(o.functions) && o.functions.length > 0) (out ??= []).push({ key: 'functions', list: o.functions });
  return out;
}

/**
 * Removes the tools `keep` refuses, in place. Returns the names removed, or null when none was (the
 * body then stays byte for byte as sent). An emptied list is dropped with the choice that could
 * name it (an empty `tools` is refused by the APIs); a `tool_choice` naming a removed tool is dropped.
 */
export function removeTools(o: Obj, keep: (name: string) => boolean): string[] | null {
  const arrays = toolArrays(o);
  if (arrays === null) return null;
  let removed: string[] | null = null;
  for (const { key, list } of arrays) {
    let kept: unknown[] | null = null;
    for (let i = 0; i < list.length; i++) {
      const name = toolName(list[i]);
      if (name === null || keep(name)) {
        if (kept !== null) kept.push(list[i]);
        continue;
      }
      (removed ??= []).push(name);
      kept ??= list.slice(0, i);
    }
    if (kept === null) continue;
    if (kept.length > 0) o[key] = kept;
    else {
      delete o[key];
      if (key === 'tools') { delete o.tool_choice; delete o.parallel_tool_calls; } else delete o.function_call;
    }
  }
  if (removed !== null) {
    const chosen = choiceName(o.tool_choice) ?? choiceName(o.function_call);
    if (chosen !== null && removed.includes(chosen)) { delete o.tool_choice; delete o.function_call; }
  }
  return removed;
}

function choiceName(c: unknown): string | null {
  if (c === null || typeof c !== 'object') return null;
  const x = c as Obj;
  if (typeof x.name === 'string') return x.name;
  const f = x.function as Obj | undefined;
  return f !== null && typeof f === 'object' && typeof f.name === 'string' ? f.name : null;
}

/** An MCP JSON-RPC request: its method, id and, for tools/call, the tool and its arguments. */
export interface McpMessage {
  method: string;
  id: unknown;
  tool: string | null;
  args: string;
}

export function mcpMessage(o: Obj): McpMessage | null {
  if (o.jsonrpc === undefined || typeof o.method !== 'string') return null;
  let tool: string | null = null;
  let args = '';
  if (o.method === 'tools/call') {
    const p = o.params as Obj | undefined;
    if (p !== null && typeof p === 'object' && typeof p.name === 'string') {
      tool = p.name;
      args = JSON.stringify(p.arguments ?? {});
    } else {
      tool = '';
    }
  }
  return { method: o.method, id: o.id ?? null, tool, args };
}

/** A JSON-RPC error answer (SPEC: `error.data.type` names the gateway's error type). */
export function jsonRpcError(id: unknown, type: string, code: string, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code: -32001, message, data: { type, code } } });
}
