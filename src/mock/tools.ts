// Tool calls and MCP for the mock backend, for the tools part's tests and the demo:
//   x-mock-tool-call: NAME   the answer ends with a call of NAME (chat completions, responses, messages)
//   x-mock-tool-args: JSON   its arguments (default {})
//   POST /mcp                JSON-RPC: tools/list (x-mock-tools: a JSON array replaces the default
//                            list) and tools/call (echoes the call); x-mock-mcp-sse: 1 frames it as SSE
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface ToolShape { name: string; args: string }

export function toolShape(req: IncomingMessage): ToolShape | null {
  const name = req.headers['x-mock-tool-call'];
  if (typeof name !== 'string' || name.length === 0) return null;
  const args = req.headers['x-mock-tool-args'];
  return { name, args: typeof args === 'string' ? args : '{}' };
}

type Ev = { event?: string; data: string };

/** OpenAI chat: text deltas, then the call's name, then its arguments in two pieces, then finish. */
export function chatToolEvents(model: string, text: string[], t: ToolShape): Ev[] {
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ data: JSON.stringify({
    id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 1_700_000_000, model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  }) });
  const half = Math.ceil(t.args.length / 2);
  const out: Ev[] = [chunk({ role: 'assistant', content: '' }, null)];
  for (const p of text) out.push(chunk({ content: p }, null));
  out.push(chunk({ tool_calls: [{ index: 0, id: 'call_mock', type: 'function', function: { name: t.name, arguments: '' } }] }, null));
  out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: t.args.slice(0, half) } }] }, null));
  out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: t.args.slice(half) } }] }, null));
  out.push(chunk({}, 'tool_calls'));
  out.push({ data: '[DONE]' });
  return out;
}

export function chatToolCompletion(model: string, text: string, t: ToolShape) {
  return {
    id: 'chatcmpl-mock', object: 'chat.completion', created: 1_700_000_000, model,
    choices: [{ index: 0, message: { role: 'assistant', content: text || null, tool_calls: [{ id: 'call_mock', type: 'function', function: { name: t.name, arguments: t.args } }] }, finish_reason: 'tool_calls' }],
    usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
  };
}

export function anthropicToolEvents(model: string, text: string[], t: ToolShape): Ev[] {
  const ev = (type: string, extra: Record<string, unknown>) => ({ event: type, data: JSON.stringify({ type, ...extra }) });
  const half = Math.ceil(t.args.length / 2);
  return [
    ev('message_start', { message: { id: 'msg_mock', type: 'message', role: 'assistant', model, content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 0 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ...text.map((p) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } })),
    ev('content_block_stop', { index: 0 }),
    ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_mock', name: t.name, input: {} } }),
    ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: t.args.slice(0, half) } }),
    ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: t.args.slice(half) } }),
    ev('content_block_stop', { index: 1 }),
    ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 10 } }),
    ev('message_stop', {}),
  ];
}

export function responsesToolEvents(text: string[], t: ToolShape): Ev[] {
  let seq = 0;
  const ev = (type: string, extra: Record<string, unknown>) => ({ event: type, data: JSON.stringify({ type, sequence_number: seq++, ...extra }) });
  const item = { type: 'function_call', id: 'fc_mock', call_id: 'call_mock', name: t.name, arguments: '' };
  return [
    ...text.map((p) => ev('response.output_text.delta', { item_id: 'msg_mock', output_index: 0, content_index: 0, delta: p })),
    ev('response.output_item.added', { output_index: 1, item }),
    ev('response.function_call_arguments.delta', { item_id: 'fc_mock', output_index: 1, delta: t.args }),
    ev('response.function_call_arguments.done', { item_id: 'fc_mock', output_index: 1, arguments: t.args }),
    ev('response.output_item.done', { output_index: 1, item: { ...item, arguments: t.args } }),
    ev('response.completed', { response: { id: 'resp_mock', status: 'completed', output: [] } }),
  ];
}

const DEFAULT_MCP_TOOLS = [
  { name: 'read_file', description: 'Read a text file from the workspace and return its contents.', inputSchema: { type: 'object', properties: { path: { type: 'string' } } } },
  { name: 'shell', description: 'Run a shell command in the workspace.', inputSchema: { type: 'object', properties: { command: { type: 'string' } } } },
  { name: 'search_web', description: 'Search the web for a query.', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } },
];

/** POST /mcp: a minimal MCP server over JSON-RPC (JSON, or SSE-framed with x-mock-mcp-sse: 1). */
export function mcp(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): void {
  let result: unknown;
  if (body.method === 'tools/list') {
    let tools: unknown = DEFAULT_MCP_TOOLS;
    const h = req.headers['x-mock-tools'];
    if (typeof h === 'string') { try { tools = JSON.parse(h); } catch { /* keep the default */ } }
    result = { tools };
  } else if (body.method === 'tools/call') {
    result = { content: [{ type: 'text', text: `called ${JSON.stringify(body.params ?? null)}` }] };
  } else {
    result = {};
  }
  const text = JSON.stringify({ jsonrpc: '2.0', id: body.id ?? null, result });
  if (req.headers['x-mock-mcp-sse'] === '1') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.end(`event: message\ndata: ${text}\n\n`);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
