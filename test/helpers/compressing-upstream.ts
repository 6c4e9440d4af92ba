// An in-test upstream that answers OpenAI chat and Anthropic messages (whole or streamed) in the
// Content-Encoding a header asks for, whether the request offered it or not, and counts calls per
// session: the tests of response decoding and response actions read what reached the client and
// how often the upstream was billed.
//   x-up-text     the answer's text (x-up-text-b64: the same, base64, for newlines)
//   x-up-enc      gzip | deflate | deflate-raw | br | zstd | broken | gzip-bomb | none (default none)
//   x-up-deltas   streamed deltas (default 8)
//   x-up-pad      bytes of filler before the text
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';

export interface Upstream {
  url: string;
  /** calls per x-session-id */
  calls: Map<string, number>;
  close(): Promise<void>;
}

function encode(enc: string, data: Buffer): Buffer {
  switch (enc) {
    case 'gzip': return zlib.gzipSync(data);
    case 'deflate': return zlib.deflateSync(data);
    case 'deflate-raw': return zlib.deflateRawSync(data);
    case 'br': return zlib.brotliCompressSync(data);
    // zstd frame magic, then bytes nobody here can read
    case 'zstd': return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), data]);
    case 'broken': return Buffer.concat([zlib.gzipSync(data).subarray(0, 12), Buffer.from('not gzip any more')]);
    default: return data;
  }
}

const wireName = (enc: string) => (enc === 'deflate-raw' ? 'deflate' : enc === 'broken' || enc === 'gzip-bomb' ? 'gzip' : enc);

/** `size` bytes of JSON-ish filler, gzip-compressed at about 1000:1. */
export function gzipBomb(size: number): Buffer {
  return zlib.gzipSync(Buffer.concat([Buffer.from('{"choices":[{"message":{"content":"'), Buffer.alloc(size, 0x61), Buffer.from('"}}]}')]));
}

function chatJson(text: string): unknown {
  return { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'up-gpt',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 } };
}

function anthropicJson(text: string): unknown {
  return { id: 'msg_1', type: 'message', role: 'assistant', model: 'up-claude', content: [{ type: 'text', text }],
    stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 5 } };
}

function split(text: string, n: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / n));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function chatEvents(text: string, n: number): string[] {
  const chunk = (delta: unknown, finish: string | null) => JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'up-gpt', choices: [{ index: 0, delta, finish_reason: finish }] });
  return [chunk({ role: 'assistant', content: '' }, null), ...split(text, n).map((p) => chunk({ content: p }, null)), chunk({}, 'stop'), '[DONE]']
    .map((d) => `data: ${d}\n\n`);
}

function anthropicEvents(text: string, n: number): string[] {
  const ev = (type: string, extra: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...extra })}\n\n`;
  return [
    ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'up-claude', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ...split(text, n).map((p) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } })),
    ev('content_block_stop', { index: 0 }),
    ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }),
    ev('message_stop', {}),
  ];
}

export async function startUpstream(): Promise<Upstream> {
  const calls = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sid = String(req.headers['x-session-id'] ?? '');
      calls.set(sid, (calls.get(sid) ?? 0) + 1);
      let body: { stream?: boolean } = {};
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: boolean }; } catch { /* empty */ }
      const h = req.headers;
      const given = typeof h['x-up-text-b64'] === 'string' ? Buffer.from(h['x-up-text-b64'], 'base64').toString('utf8') : String(h['x-up-text'] ?? 'hello from upstream');
      // x-up-pad: that many bytes of filler before the text (answers larger than a header can carry)
      const text = 'lorem ipsum dolor '.repeat(Math.ceil(Number(h['x-up-pad'] ?? 0) / 18)).slice(0, Number(h['x-up-pad'] ?? 0)) + given;
      const enc = String(h['x-up-enc'] ?? 'none');
      const anthropic = (req.url ?? '').includes('/messages');
      if (body.stream === true) {
        const events = anthropic ? anthropicEvents(text, Number(h['x-up-deltas'] ?? 8)) : chatEvents(text, Number(h['x-up-deltas'] ?? 8));
        const headers: Record<string, string> = { 'content-type': 'text/event-stream; charset=utf-8' };
        if (enc !== 'none') headers['content-encoding'] = wireName(enc);
        res.writeHead(200, headers);
        if (enc === 'gzip' || enc === 'br' || enc === 'deflate') {
          // each event flushed through the compressor, as a streaming API sends it
          const z = enc === 'gzip' ? zlib.createGzip() : enc === 'br' ? zlib.createBrotliCompress() : zlib.createDeflate();
          z.pipe(res);
          const next = (i: number): void => {
            if (i === events.length) { z.end(); return; }
            z.write(events[i]);
            z.flush(() => next(i + 1));
          };
          next(0);
        } else {
          res.end(encode(enc, Buffer.from(events.join(''))));
        }
        return;
      }
      const data = enc === 'gzip-bomb' ? gzipBomb(Number(h['x-up-bomb'] ?? 64 * 1024 * 1024))
        : encode(enc, Buffer.from(JSON.stringify(anthropic ? anthropicJson(text) : chatJson(text))));
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': data.length };
      if (enc !== 'none') headers['content-encoding'] = wireName(enc);
      res.writeHead(200, headers);
      res.end(data);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
