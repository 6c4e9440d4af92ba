// The fuzzing upstream for test/e2e/fuzz.test.ts: an HTTP server whose answers the test plans.
// Plain requests get a small JSON answer marked `x-fuzz-upstream: 1` (so the harness can tell the
// gateway's own errors from the upstream's); `POST /sse` with `x-fuzz-case: N` streams plan N (SSE
// pieces, odd splits, sometimes an abrupt reset); a WebSocket upgrade is accepted and gets plan N's
// frames, then an end or a reset.
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export interface StreamPlan {
  contentType: string;
  /** pieces written one after another, each its own chunk */
  pieces: Buffer[];
  /** end with a reset instead of a clean end */
  reset: boolean;
}

export interface FuzzUpstream {
  url: string;
  close(): Promise<void>;
}

const OK = Buffer.from('{"id":"fuzz","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}');

export async function startFuzzUpstream(sse: readonly StreamPlan[], ws: readonly StreamPlan[]): Promise<FuzzUpstream> {
  // a larger header limit than the gateway's: node's own bare 431 would look like a gateway answer
  const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    req.on('error', noop);
    res.on('error', noop);
    const n = Number(req.headers['x-fuzz-case']);
    const plan = req.url === '/sse' && Number.isInteger(n) ? sse[n] : undefined;
    req.resume();
    if (plan === undefined) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': OK.length, 'x-fuzz-upstream': '1' });
      res.end(OK);
      return;
    }
    res.writeHead(200, { 'content-type': plan.contentType, 'x-fuzz-upstream': '1' });
    let i = 0;
    const next = (): void => {
      if (res.destroyed) return;
      if (i === plan.pieces.length) {
        if (plan.reset) res.socket?.destroy();
        else res.end();
        return;
      }
      res.write(plan.pieces[i++]);
      setImmediate(next);
    };
    next();
  });
  server.on('upgrade', (req, socket: Duplex) => {
    socket.on('error', noop);
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.resume(); // whatever the client's frames are, they are read and dropped
    const plan = ws[Number(String(req.url).slice(4))];
    if (plan === undefined) { socket.end(); return; }
    let i = 0;
    const next = (): void => {
      if (socket.destroyed) return;
      if (i === plan.pieces.length) {
        if (plan.reset) socket.destroy();
        else socket.end();
        return;
      }
      socket.write(plan.pieces[i++]);
      setImmediate(next);
    };
    next();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function noop(): void {}
