// The control listener: health endpoints, bearer auth, and the routes the parts register.
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { answerClientError, answerConnect, answerUpgradeRefused } from '../proxy/client-error.js';
import { makeAuth } from './auth.js';
import { sendError, sendJson } from './reply.js';
import type { Router } from './router.js';

export interface ControlDeps {
  router: Router;
  token: string | undefined;
  log: Logger;
  /** null when ready, else the reason for 503 */
  notReady(): string | null;
  /** extra fields for /readyz (e.g. storage degraded) */
  readyDetail?(): Record<string, unknown>;
  /** paths served without a token besides health: the dashboard page itself */
  publicPaths?: ReadonlySet<string>;
}

export function createControlServer(deps: ControlDeps): Server {
  const authorized = makeAuth(deps.token);
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://control');
    } catch {
      sendError(res, 400, 'invalid_request', 'bad_url', 'the request URL is not valid');
      return;
    }
    const path = url.pathname;
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const reason = deps.notReady();
      const detail = deps.readyDetail?.() ?? {};
      return reason === null ? sendJson(res, 200, { status: 'ready', ...detail }) : sendJson(res, 503, { status: 'not_ready', reason, ...detail });
    }
    if (!deps.publicPaths?.has(path) && !authorized(req)) {
      return sendError(res, 401, 'unauthorized', 'unauthorized', 'a valid control token is required: Authorization: Bearer <CORDON_CONTROL_TOKEN>', { 'www-authenticate': 'Bearer' });
    }
    deps.router.handle(req, res, url).catch((err: Error) => {
      deps.log.error({ err: err.message, path }, 'control handler failed');
      if (!res.headersSent) sendError(res, 500, 'internal_error', 'internal_error', 'the control API failed to answer; see the gateway log');
      else res.destroy();
    });
  });
  // A malformed request, oversized headers or CONNECT get an answer in the error shape, not a bare close.
  server.on('clientError', answerClientError);
  server.on('connect', answerConnect);
  server.on('upgrade', answerUpgradeRefused);
  return server;
}
