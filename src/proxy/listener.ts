// The proxy listener: node:http, one Exchange per request, and the drain on shutdown.
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyContext } from './context.js';
import { Exchange } from './exchange.js';
import { errorBody } from './errors.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function createProxyServer(ctx: ProxyContext, server: Server = http.createServer()): Server {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    new Exchange(ctx, req, res).start();
  });
  // A malformed request line or headers: answer 400 in the SPEC shape instead of Node's bare close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') { socket.destroy(); return; }
    const body = errorBody('invalid_request', 'bad_http', 'the request is not valid HTTP');
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // streams may run for a long time; the body timeout bounds silence instead
  return server;
}

/**
 * Stops accepting, lets in-flight exchanges finish up to `timeoutMs`, then closes what is left.
 * Requests that arrive on kept-alive connections meanwhile get 503 (ctx.draining).
 */
export async function drain(ctx: ProxyContext, server: Server, timeoutMs: number): Promise<{ leftOver: number }> {
  ctx.draining = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = Date.now() + timeoutMs;
  while (ctx.inflight.count > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    server.closeIdleConnections();
  }
  const leftOver = ctx.inflight.count;
  server.closeAllConnections();
  await closed;
  return { leftOver };
}
