// The WebSocket relay: `handleUpgrade` is the proxy listener's 'upgrade' handler.
//
// 1. The request is checked (a WebSocket upgrade, version 13) and the session resolved: identity,
//    auth and kill state are decided BEFORE anything is switched, and a refusal is a plain HTTP
//    error in the SPEC.md JSON shape.
// 2. The relay opens its own raw TCP/TLS connection to the upstream and performs the handshake
//    with the client's key (a transparent relay), then passes the upstream's 101 back.
// 3. Both directions are relayed chunk by chunk: each chunk goes through the direction's frame
//    parser (policy and protocol checks) and is then written on as the socket gave it. A writer
//    over the high-water mark pauses the reader until 'drain'.
//
// Per connection the relay holds one Conn and, once the upgrade succeeded, two small frame
// parsers. Socket listeners are module-level functions that find their Conn through a symbol,
// so no closure is created per connection or per frame.
//
// Files: this one (the upgrade entry point, the upstream connect), conn.ts (the per-connection
// state machine), legs.ts (socket listeners and teardown), conn-flags.ts, http-error.ts.
import type { IncomingMessage } from 'node:http';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Conn } from './conn.js';
import { F_CLOSING, F_HANDSHAKE } from './conn-flags.js';
import { buildUpstreamRequest } from './handshake.js';
import { writeHttpError } from './http-error.js';
import {
  kConn, onHandshakeTimeout, onLegClose, onLegError, onUpstreamConnect, onUpstreamData, type Leg,
} from './legs.js';
import { isRefusal, type RelayDeps } from './types.js';
import { traceparentOf } from '../../telemetry/types.js';

// ---- the upgrade entry point ----

/**
 * The proxy listener's 'upgrade' handler: `server.on('upgrade', (req, socket, head) =>
 * handleUpgrade(req, socket, head, deps))`. Never throws; every failure is answered.
 */
export function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, deps: RelayDeps): void {
  const client = socket as Leg;
  client.on('error', onLegError);
  const bad = checkUpgradeRequest(req);
  if (bad !== null) {
    writeHttpError(client, bad === 'version' ? 426 : 400, 'invalid_request', 'invalid_request',
      bad === 'version' ? 'only WebSocket version 13 is supported' : 'not a valid WebSocket upgrade request', null,
      bad === 'version' ? { 'Sec-WebSocket-Version': '13' } : undefined);
    return;
  }
  client.pause();
  let r: ReturnType<RelayDeps['resolveSession']>;
  try {
    r = deps.resolveSession(req);
  } catch {
    writeHttpError(client, 500, 'internal_error', 'internal_error', 'session resolution failed', null);
    return;
  }
  if (r instanceof Promise) {
    r.then(
      (g) => safeAfterResolve(req, client, head, deps, g),
      () => writeHttpError(client, 500, 'internal_error', 'internal_error', 'session resolution failed', null),
    );
  } else {
    safeAfterResolve(req, client, head, deps, r);
  }
}

function safeAfterResolve(req: IncomingMessage, client: Leg, head: Buffer, deps: RelayDeps, r: Awaited<ReturnType<RelayDeps['resolveSession']>>): void {
  try {
    afterResolve(req, client, head, deps, r);
  } catch {
    // e.g. a malformed upstream URL: the client gets an answer, never a stack trace
    const c = client[kConn];
    if (c) {
      c.flags = (c.flags & ~F_HANDSHAKE) | F_CLOSING;
      c.upstream?.destroy();
      c.gone();
    }
    writeHttpError(client, 502, 'upstream_error', 'upstream_error', 'could not open the upstream connection', null);
  }
}

function afterResolve(req: IncomingMessage, client: Leg, head: Buffer, deps: RelayDeps, r: Awaited<ReturnType<RelayDeps['resolveSession']>>): void {
  if (client.destroyed) return;
  if (isRefusal(r)) {
    writeHttpError(client, r.status, r.type, r.code, r.message, null, r.headers);
    return;
  }
  const base = deps.pickUpstream(r.slot);
  if (base === null) {
    writeHttpError(client, 502, 'upstream_error', 'upstream_error', 'no healthy upstream', r.id);
    return;
  }
  const b = deps.bounds;
  const conn = new Conn(deps, client, r, base, String(req.headers['sec-websocket-key']), head.length > 0 ? Buffer.from(head) : null);
  const tls = base.protocol === 'https:' || base.protocol === 'wss:';
  const host = base.hostname.startsWith('[') ? base.hostname.slice(1, -1) : base.hostname;
  const port = Number(base.port) || (tls ? 443 : 80);
  conn.hsRequest = buildUpstreamRequest(req, base, b.permessageDeflate, client.remoteAddress ?? '', deps.credentialFor?.(base) ?? null);
  if (deps.openSpan !== undefined) {
    conn.span = deps.openSpan(req, r, base);
    // the upstream's handshake names the connection's span as its parent
    if (conn.span !== null) conn.hsRequest = `${conn.hsRequest.slice(0, -2)}traceparent: ${traceparentOf(conn.span)}\r\n\r\n`;
  }
  const u: Leg = tls
    ? tlsConnect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, rejectUnauthorized: b.tlsVerify, ALPNProtocols: ['http/1.1'] })
    : netConnect({ host, port });
  conn.upstream = u;
  u[kConn] = conn;
  client[kConn] = conn;
  u.setNoDelay(true);
  client.setNoDelay(true);
  conn.timer = setTimeout(onHandshakeTimeout, b.connectTimeoutMs, conn);
  u.on(tls ? 'secureConnect' : 'connect', onUpstreamConnect);
  u.on('data', onUpstreamData);
  u.on('error', onLegError);
  u.on('close', onLegClose);
  client.on('close', onLegClose);
  deps.registry.add(conn);
  deps.streams?.add(conn);
}

type BadUpgrade = 'request' | 'version';

function checkUpgradeRequest(req: IncomingMessage): BadUpgrade | null {
  const h = req.headers;
  if (req.method !== 'GET') return 'request';
  if (typeof h.upgrade !== 'string' || h.upgrade.toLowerCase() !== 'websocket') return 'request';
  const key = h['sec-websocket-key'];
  if (typeof key !== 'string' || !/^[A-Za-z0-9+/]{22}==$/.test(key)) return 'request';
  if (h['sec-websocket-version'] !== '13') return 'version';
  return null;
}
