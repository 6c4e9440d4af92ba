// The control listener: health endpoints, bearer auth, and the routes the parts register.
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { answerClientError, answerConnect, answerUpgradeRefused, refuseMissingHost, noHostCheck } from '../proxy/client-error.js';
import { makeAuth } from './auth.js';
import type { OriginGuard } from './origin-guard.js';
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
  /** cross-site and DNS-rebinding checks (origin-guard.ts); health probes are answered before it */
  originGuard?: OriginGuard;
}

export function createControlServer(deps: ControlDeps): Server {
  const authorized = makeAuth(deps.token);
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host === undefined && refuseMissingHost(req, res)) return;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://control');
    } catch {
      sendError(res, 400, 'invalid_request', 'bad_url', 'the request URL is not valid');
      return;
    }
    // The path as sent, without WHATWG dot-segment folding: `/control/sessions/%2e%2e/kill` must
    // reach the sessions route (and its 400 for a malformed ID), not become `/control/kill`.
    const path = rawPathname(req.url, url);
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const reason = deps.notReady();
      const detail = deps.readyDetail?.() ?? {};
      return reason === null ? sendJson(res, 200, { status: 'ready', ...detail }) : sendJson(res, 503, { status: 'not_ready', reason, ...detail });
    }
    const refusal = deps.originGuard?.(req) ?? null;
    if (refusal !== null) return sendError(res, 403, 'forbidden', refusal.code, refusal.message);
    if (!deps.publicPaths?.has(path) && !authorized(req)) {
      return sendError(res, 401, 'unauthorized', 'unauthorized', 'a valid control token is required: Authorization: Bearer <CORDON_CONTROL_TOKEN>', { 'www-authenticate': 'Bearer' });
    }
    deps.router.handle(req, res, url, path).catch((err: Error) => {
      deps.log.error({ err: err.message, path }, 'control handler failed');
      if (!res.headersSent) sendError(res, 500, 'internal_error', 'internal_error', 'the control API failed to answer; see the gateway log');
      else res.destroy();
    });
  });
  // A malformed request, oversized headers or CONNECT get an answer in the error shape, not a bare close.
  server.on('clientError', answerClientError);
  // An Expect other than 100-continue: node would answer a bare 417 (found by the fuzz).
  server.on('checkExpectation', answerExpectation);
  noHostCheck(server); // refuseMissingHost answers it in the SPEC shape instead
  server.on('connect', answerConnect);
  server.on('upgrade', answerUpgradeRefused);
  return server;
}

/** The origin-form path before any normalisation; the parsed one for an absolute-form target. */
function rawPathname(target: string | undefined, parsed: URL): string {
  if (target === undefined || target.charCodeAt(0) !== 47 /* / */) return parsed.pathname;
  const q = target.indexOf('?');
  const h = target.indexOf('#');
  const end = q < 0 ? (h < 0 ? target.length : h) : (h < 0 ? q : Math.min(q, h));
  return target.slice(0, end);
}

function answerExpectation(_req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  sendError(res, 417, 'invalid_request', 'expectation_failed', 'the only Expect this listener meets is 100-continue');
}
