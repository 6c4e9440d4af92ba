// The bundled mock LLM backend: OpenAI chat completions and responses, Anthropic messages and
// /v1/models, streamed (SSE) or not. Request headers shape the traffic for tests and benchmarks:
//   x-mock-text      the reply text (default DEFAULT_TEXT)
//   x-mock-echo: 1   reply with the last user message's text instead
//   x-mock-deltas    number of streamed deltas (default 8)
//   x-mock-delay-ms  delay between deltas (default 0)
//   x-mock-status    force this HTTP status (with an OpenAI-shaped error body)
//   x-mock-encoding  compress the answer: gzip, deflate, br, or `accept` (the best the request's
//                    Accept-Encoding offers, as hosted APIs do); any other value is sent as the
//                    Content-Encoding over plain bytes (an encoding nobody can read)
//   x-mock-tool-call, x-mock-tool-args, POST /mcp: tool calls and MCP (tools.ts)
//   x-mock-cached    input tokens reported as read from the provider's prompt cache (default 0)
// A chat completion for a model named *guard* is answered as a guard model (judge.ts).
// Any WebSocket upgrade is answered by an echo server.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { WebSocketServer } from 'ws';
import { answerAsJudge, isJudgeModel } from './judge.js';
import * as R from './replies.js';
import * as T from './tools.js';

export interface MockOptions { host: string; port: number }

interface Shape { text: string; deltas: number; delayMs: number; status: number | null; encoding: string | null; tool: T.ToolShape | null; cached: number }

function shape(req: IncomingMessage, body: unknown): Shape {
  const h = req.headers;
  let text = typeof h['x-mock-text'] === 'string' ? h['x-mock-text'] : R.DEFAULT_TEXT;
  if (h['x-mock-echo'] === '1') text = lastUserText(body) ?? text;
  const deltas = clampInt(h['x-mock-deltas'], 8, 1, 100_000);
  const delayMs = clampInt(h['x-mock-delay-ms'], 0, 0, 600_000);
  const status = h['x-mock-status'] !== undefined ? clampInt(h['x-mock-status'], 500, 100, 599) : null;
  const cached = clampInt(h['x-mock-cached'], 0, 0, 1_000_000);
  return { text, deltas, delayMs, status, encoding: chooseEncoding(req), tool: T.toolShape(req), cached };
}

function chooseEncoding(req: IncomingMessage): string | null {
  const want = req.headers['x-mock-encoding'];
  if (typeof want !== 'string' || want === '' || want === 'identity') return null;
  if (want !== 'accept') return want.toLowerCase();
  const offered = String(req.headers['accept-encoding'] ?? '').toLowerCase().split(',').map((t) => t.split(';')[0].trim());
  for (const c of ['br', 'gzip', 'deflate']) if (offered.includes(c)) return c;
  return null;
}

/** A compressing stream for the coding, or null: the bytes are sent as they are. */
function compressor(coding: string): zlib.Gzip | zlib.Deflate | zlib.BrotliCompress | null {
  if (coding === 'gzip') return zlib.createGzip();
  if (coding === 'deflate') return zlib.createDeflate();
  if (coding === 'br') return zlib.createBrotliCompress();
  return null;
}

function clampInt(v: string | string[] | undefined, dflt: number, min: number, max: number): number {
  const n = typeof v === 'string' ? Number.parseInt(v, 10) : NaN;
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : dflt;
}

function lastUserText(body: unknown): string | undefined {
  const b = body as { messages?: Array<{ role?: string; content?: unknown }>; input?: unknown } | null;
  const msgs = b?.messages;
  if (Array.isArray(msgs)) {
    for (let i = msgs.length - 1; i >= 0; i--) {
      const m = msgs[i];
      if (m?.role !== 'user') continue;
      if (typeof m.content === 'string') return m.content;
      if (Array.isArray(m.content)) {
        return m.content.map((p: { text?: string }) => (typeof p?.text === 'string' ? p.text : '')).join('');
      }
    }
  }
  if (typeof b?.input === 'string') return b.input;
  return undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown, coding: string | null = null): void {
  let data: Buffer = Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { 'content-type': 'application/json' };
  if (coding !== null) {
    headers['content-encoding'] = coding;
    data = coding === 'gzip' ? zlib.gzipSync(data) : coding === 'deflate' ? zlib.deflateSync(data) : coding === 'br' ? zlib.brotliCompressSync(data) : data;
  }
  headers['content-length'] = data.length;
  res.writeHead(status, headers);
  res.end(data);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Writes SSE events one delta at a time, honouring backpressure and the client going away. */
/** Streams now open; GET /mock/stats reports it so tests can see an abort reach the backend. */
let activeStreams = 0;

async function streamEvents(res: ServerResponse, events: Array<{ event?: string; data: string }>, delayMs: number, coding: string | null = null): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
  if (coding !== null) headers['content-encoding'] = coding;
  res.writeHead(200, headers);
  res.flushHeaders();
  // Compressed: each event is flushed through the compressor so it goes out at once, as a
  // streaming API does.
  const z = coding !== null ? compressor(coding) : null;
  if (z !== null) z.pipe(res);
  const out = z ?? res;
  activeStreams++;
  try {
    for (let i = 0; i < events.length; i++) {
      if (res.destroyed) return;
      const e = events[i];
      const ok = out.write(`${e.event ? `event: ${e.event}\n` : ''}data: ${e.data}\n\n`);
      if (z !== null) await new Promise<void>((r) => z.flush(r));
      else if (!ok) await new Promise<void>((r) => { res.once('drain', r); res.once('close', r); });
      if (delayMs > 0 && i < events.length - 1) await sleep(delayMs);
    }
    out.end();
  } finally {
    activeStreams--;
  }
}

function openaiChat(res: ServerResponse, body: Record<string, unknown>, s: Shape): Promise<void> | void {
  const model = typeof body.model === 'string' ? body.model : 'mock-gpt';
  const promptTokens = Math.ceil(JSON.stringify(body.messages ?? '').length / 4);
  if (s.tool !== null) {
    if (!body.stream) return sendJson(res, 200, T.chatToolCompletion(model, s.text, s.tool), s.encoding);
    return streamEvents(res, T.chatToolEvents(model, R.splitDeltas(s.text, s.deltas), s.tool), s.delayMs);
  }
  if (!body.stream) return sendJson(res, 200, R.chatCompletion(model, s.text, promptTokens, s.cached), s.encoding);
  const parts = R.splitDeltas(s.text, s.deltas);
  const events = [{ data: JSON.stringify(R.chatChunk(model, { role: 'assistant', content: '' }, null)) }];
  for (const p of parts) events.push({ data: JSON.stringify(R.chatChunk(model, { content: p }, null)) });
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
  events.push({ data: JSON.stringify(R.chatChunk(model, {}, 'stop')) });
  // as OpenAI sends it: one more chunk, with no choices, carrying the usage
  if (includeUsage) events.push({ data: JSON.stringify(R.chatChunk(model, {}, null, R.usage(promptTokens, R.outTokens(s.text), s.cached))) });
  events.push({ data: '[DONE]' });
  return streamEvents(res, events, s.delayMs, s.encoding);
}

function openaiResponses(res: ServerResponse, body: Record<string, unknown>, s: Shape): Promise<void> | void {
  const model = typeof body.model === 'string' ? body.model : 'mock-gpt';
  const promptTokens = Math.ceil(JSON.stringify(body.input ?? '').length / 4);
  if (!body.stream) return sendJson(res, 200, R.responseObject(model, s.text, 'completed', promptTokens, s.cached), s.encoding);
  let seq = 0;
  const ev = (type: string, extra: Record<string, unknown>) => ({ event: type, data: JSON.stringify({ type, sequence_number: seq++, ...extra }) });
  const events = [ev('response.created', { response: R.responseObject(model, '', 'in_progress', promptTokens, s.cached) })];
  if (s.tool !== null) return streamEvents(res, [...events, ...T.responsesToolEvents(R.splitDeltas(s.text, s.deltas), s.tool)], s.delayMs);
  for (const p of R.splitDeltas(s.text, s.deltas)) {
    events.push(ev('response.output_text.delta', { item_id: 'msg_mock', output_index: 0, content_index: 0, delta: p }));
  }
  events.push(ev('response.output_text.done', { item_id: 'msg_mock', output_index: 0, content_index: 0, text: s.text }));
  events.push(ev('response.completed', { response: R.responseObject(model, s.text, 'completed', promptTokens, s.cached) }));
  return streamEvents(res, events, s.delayMs, s.encoding);
}

function anthropicMessages(res: ServerResponse, body: Record<string, unknown>, s: Shape): Promise<void> | void {
  const model = typeof body.model === 'string' ? body.model : 'mock-claude';
  const promptTokens = Math.ceil(JSON.stringify(body.messages ?? '').length / 4);
  if (!body.stream) return sendJson(res, 200, R.anthropicMessage(model, s.text, promptTokens, s.cached), s.encoding);
  if (s.tool !== null) return streamEvents(res, T.anthropicToolEvents(model, R.splitDeltas(s.text, s.deltas), s.tool), s.delayMs);
  const msg = R.anthropicMessage(model, '', promptTokens, s.cached);
  const ev = (type: string, extra: Record<string, unknown>) => ({ event: type, data: JSON.stringify({ type, ...extra }) });
  const events = [
    // as Anthropic streams it: input and cache tokens at the start, output 1, then the running total
    ev('message_start', { message: { ...msg, content: [], stop_reason: null, usage: { ...msg.usage, output_tokens: 1 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  ];
  for (const p of R.splitDeltas(s.text, s.deltas)) events.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } }));
  events.push(ev('content_block_stop', { index: 0 }));
  events.push(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: R.outTokens(s.text) } }));
  events.push(ev('message_stop', {}));
  return streamEvents(res, events, s.delayMs, s.encoding);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://mock');
  const path = url.pathname.replace(/^\/v1(?=\/)/, '');
  const raw = req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(req);
  if (path === '/echo') {
    // Reflects the request, for header and body forwarding tests.
    return sendJson(res, 200, { method: req.method, url: req.url, headers: req.headers, body: raw.toString('utf8') });
  }
  let body: Record<string, unknown> = {};
  if (raw.length > 0) {
    try {
      const parsed = JSON.parse(raw.toString('utf8')) as unknown;
      if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
    } catch {
      return sendJson(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error', code: 'invalid_json' } });
    }
  }
  const s = shape(req, body);
  if (s.status !== null) {
    if (s.delayMs > 0) await sleep(s.delayMs);
    return sendJson(res, s.status, { error: { message: `mock forced status ${s.status}`, type: 'mock_error', code: `status_${s.status}` } });
  }
  if (req.method === 'GET' && path === '/models') return sendJson(res, 200, R.MODELS);
  if (req.method === 'GET' && path === '/mock/stats') return sendJson(res, 200, { active_streams: activeStreams });
  if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (req.method === 'POST' && path === '/chat/completions' && isJudgeModel(body)) return answerAsJudge(res, String(body.model), lastUserText(body) ?? '', sendJson);
  if (req.method === 'POST' && path === '/chat/completions') return openaiChat(res, body, s);
  if (req.method === 'POST' && path === '/responses') return openaiResponses(res, body, s);
  if (req.method === 'POST' && path === '/messages') return anthropicMessages(res, body, s);
  if (req.method === 'POST' && path === '/mcp') return T.mcp(req, res, body);
  sendJson(res, 404, { error: { message: `mock has no ${req.method} ${url.pathname}`, type: 'invalid_request_error', code: 'not_found' } });
}

export async function startMock(opts: MockOptions): Promise<{ server: http.Server; address: AddressInfo }> {
  let self = '';
  const server = http.createServer((req, res) => {
    // Says which mock answered, so balancing and failover tests can count.
    res.setHeader('x-mock-server', self);
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'mock internal error', type: 'mock_error', code: 'internal' } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  // Any WebSocket upgrade gets an echo server: each message comes back as it was sent.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on('error', () => ws.terminate());
    });
  });
  server.on('close', () => wss.close());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
  });
  const address = server.address() as AddressInfo;
  self = `${address.address}:${address.port}`;
  return { server, address };
}
