import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '../../src/control/router.js';
import { guard, makeAuth } from '../../src/control/auth.js';
import { sendError } from '../../src/control/reply.js';

/** A bare node:http server around a Router, guarded like the control listener. */
export async function serve(router: Router, token?: string): Promise<{ url: string; close: () => Promise<void> }> {
  const check = makeAuth(token);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    if (!guard(check, req, res, url.pathname)) return;
    if (url.pathname === '/healthz') {
      res.end('{"status":"ok"}');
      return;
    }
    router.handle(req, res, url).catch(() => sendError(res, 500, 'internal_error', 'internal_error', 'internal error'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
