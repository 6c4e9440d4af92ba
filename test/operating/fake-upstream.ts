// A scripted upstream for retry and tracing tests: answers each request with what `reply`
// decides, and records what it received (path, headers, body).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen { path: string; headers: IncomingMessage['headers']; body: string }

export interface FakeUpstream { url: string; seen: Seen[]; server: Server; close(): Promise<void> }

export async function fakeUpstream(reply: (seen: Seen, res: ServerResponse) => void): Promise<FakeUpstream> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(s);
      reply(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, seen, server,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** An OpenAI-shaped answer naming the model it was asked for; SSE when the request asked to stream. */
export function answerChat(s: Seen, res: ServerResponse, from: string): void {
  const req = JSON.parse(s.body || '{}') as { model?: string; stream?: boolean };
  if (req.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ model: req.model, from, choices: [{ delta: { content: 'hello' } }] })}\n\n`);
    res.end('data: [DONE]\n\n');
    return;
  }
  const body = JSON.stringify({ model: req.model, from, choices: [{ message: { role: 'assistant', content: 'hello' } }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function answerStatus(res: ServerResponse, status: number): void {
  const body = JSON.stringify({ error: { message: `status ${status}`, type: 'rate_limit' } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'retry-after': '1' });
  res.end(body);
}
