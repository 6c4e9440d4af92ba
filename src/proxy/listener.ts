// The proxy listener: node:http, one Exchange per request, and the drain on shutdown.
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyContext } from './context.js';
import { Exchange } from './exchange.js';
import { answerClientError, refuseMissingHost, noHostCheck } from './client-error.js';
import { ERR, sendProxyError } from '../errors/index.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function createProxyServer(ctx: ProxyContext, server: Server = http.createServer()): Server {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host === undefined && refuseMissingHost(req, res)) return;
    new Exchange(ctx, req, res).start();
  });
  noHostCheck(server); // refuseMissingHost answers it in the SPEC shape instead
  // A malformed request line or headers: answer 400 in the SPEC shape instead of Node's bare close.
  // 431 for oversized headers, 408 for a header timeout; nothing written into a response in progress.
  server.on('clientError', answerClientError);
  // An Expect other than 100-continue: node would answer a bare 417; answer it in the SPEC shape.
  server.on('checkExpectation', answerExpectation);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Bounds how long receiving one request (headers and body) may take, so a slow upload cannot hold
  // its buffer forever; node's timer stops once the request is in, so long responses are not cut.
  server.requestTimeout = ctx.cfg.timeouts.body;
  return server;
}

/**
 * Stops accepting, lets in-flight exchanges finish up to `timeoutMs`, then closes what is left.
 * Requests that arrive on kept-alive connections meanwhile get 503 (gate.draining).
 */
export async function drain(ctx: ProxyContext, server: Server, timeoutMs: number): Promise<{ leftOver: number }> {
  ctx.gate.draining = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = Date.now() + timeoutMs;
  while (ctx.inflight.count > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    server.closeIdleConnections();
  }
  const leftOver = ctx.inflight.count;
  if (leftOver > 0) {
    // SSE streams get their `event: error` (overloaded, "shutting down") rather than a bare cut;
    // a moment for those bytes to leave before the sockets are destroyed.
    ctx.inflight.endAll();
    await new Promise((r) => setTimeout(r, 50));
    server.closeIdleConnections();
  }
  server.closeAllConnections();
  await closed;
  return { leftOver };
}

function answerExpectation(_req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  sendProxyError(res, ERR.expectation(), null);
}
