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
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Direction } from '../../events.js';
import type { StreamInspector } from '../../policy/types.js';
import {
  CLOSE_BAD_GATEWAY, CLOSE_GOING_AWAY, CLOSE_POLICY, FrameParser, encodeClose, type FrameSink,
} from '../../protocols/ws-frame.js';
import { buildUpstreamRequest, checkSwitch, parseReply } from './handshake.js';
import { PARSER_BYTES, type RegisteredConn, type WsConnInfo } from './registry.js';
import { isRefusal, type RelayDeps, type SessionGrant } from './types.js';

const kConn = Symbol('cordon.ws.conn');
type Leg = Socket & { [kConn]?: Conn };

/** After a close frame or a peer's FIN, how long a leg may take to finish before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;

// Conn.flags
const F_HANDSHAKE = 1; // upstream handshake under way
const F_OPEN = 2; // relaying frames
const F_CLOSING = 4; // close frames sent: further input is discarded
const F_CLIENT_PAUSED = 8; // client reads paused: the upstream's queue is over the high-water mark
const F_UP_PAUSED = 16; // upstream reads paused: the client's queue is over the high-water mark
const F_UP_MSG = 32; // an inspector was asked for the current client → upstream text message
const F_DOWN_MSG = 64; // same, upstream → client
const F_TIMED_OUT = 128; // the upstream connect/handshake timed out
const F_GONE = 256; // torn down: unregistered, inspectors dropped
const F_DEFLATE = 512; // permessage-deflate was negotiated

const nowSec = (): number => Math.floor(Date.now() / 1000);

class Conn implements RegisteredConn, FrameSink {
  id = 0;
  readonly slot: number;
  readonly sid: string;
  lastActive: number;
  readonly startedAt: number;
  prevInSession: RegisteredConn | null = null;
  nextInSession: RegisteredConn | null = null;
  flags = F_HANDSHAKE;
  bytesIn = 0;
  bytesOut = 0;
  readonly deps: RelayDeps;
  readonly client: Leg;
  upstream: Leg | null = null;
  readonly base: URL;
  /** client → upstream parser and upstream → client parser, created when the upgrade succeeds */
  up: FrameParser | null = null;
  down: FrameParser | null = null;
  inspUp: StreamInspector | null = null;
  inspDown: StreamInspector | null = null;
  /** handshake only: the key to check the upstream's accept against, bytes of its reply so far, client's early bytes */
  key: string;
  hsRequest: string | null = null;
  /** handshake deadline; null once switched */
  timer: NodeJS.Timeout | null = null;
  hsBuf: Buffer | null = null;
  early: Buffer | null;

  constructor(deps: RelayDeps, client: Leg, grant: SessionGrant, base: URL, key: string, early: Buffer | null) {
    this.deps = deps;
    this.client = client;
    this.slot = grant.slot;
    this.sid = grant.id;
    this.base = base;
    this.key = key;
    this.early = early;
    this.lastActive = this.startedAt = nowSec();
  }

  heldBytes(): number {
    let n = 0;
    if (this.client) n += this.client.writableLength;
    if (this.upstream) n += this.upstream.writableLength;
    if (this.inspUp) n += this.inspUp.bytes();
    if (this.inspDown) n += this.inspDown.bytes();
    if (this.hsBuf) n += this.hsBuf.length;
    if (this.up) n += PARSER_BYTES;
    if (this.down) n += PARSER_BYTES;
    return n;
  }

  info(): WsConnInfo {
    return {
      id: this.id,
      upstream: this.base.origin,
      started_at: new Date(this.startedAt * 1000).toISOString(),
      bytes_in: this.bytesIn,
      bytes_out: this.bytesOut,
    };
  }

  // ---- relaying ----

  fromClient(chunk: Buffer): void {
    if ((this.flags & (F_OPEN | F_CLOSING)) !== F_OPEN) return;
    // Parsers are made on a direction's first bytes: an idle connection never holds one.
    const up = this.up ?? (this.up = new FrameParser({ fromClient: true, maxFrame: this.deps.bounds.maxFrame, deflate: (this.flags & F_DEFLATE) !== 0 }, this));
    const u = this.upstream as Leg;
    this.lastActive = nowSec();
    const code = up.push(chunk);
    if (code !== 0) {
      this.fail(true, chunk, code);
      return;
    }
    this.bytesIn += chunk.length;
    if (this.deps.onTraffic) this.deps.onTraffic(this.slot, 'request', chunk.length);
    if (!u.write(chunk) && u.writableLength >= this.deps.bounds.highWater) {
      this.client.pause();
      this.flags |= F_CLIENT_PAUSED;
    }
  }

  fromUpstream(chunk: Buffer): void {
    if ((this.flags & (F_OPEN | F_CLOSING)) !== F_OPEN) return;
    const down = this.down ?? (this.down = new FrameParser({ fromClient: false, maxFrame: this.deps.bounds.maxFrame, deflate: (this.flags & F_DEFLATE) !== 0 }, this));
    const c = this.client;
    this.lastActive = nowSec();
    const code = down.push(chunk);
    if (code !== 0) {
      this.fail(false, chunk, code);
      return;
    }
    this.bytesOut += chunk.length;
    if (this.deps.onTraffic) this.deps.onTraffic(this.slot, 'response', chunk.length);
    if (!c.write(chunk) && c.writableLength >= this.deps.bounds.highWater) {
      (this.upstream as Leg).pause();
      this.flags |= F_UP_PAUSED;
    }
  }

  /** FrameSink: the unmasked bytes of a text message, in order, for the direction's inspector. */
  textData(parser: FrameParser, data: Buffer, last: boolean): number {
    const request = parser === this.up;
    const bit = request ? F_UP_MSG : F_DOWN_MSG;
    let insp = request ? this.inspUp : this.inspDown;
    if ((this.flags & bit) === 0) {
      this.flags |= bit;
      const dir: Direction = request ? 'request' : 'response';
      insp = this.deps.openInspector(this.slot, dir);
      if (request) this.inspUp = insp; else this.inspDown = insp;
    }
    if (last) {
      this.flags &= ~bit;
      if (request) this.inspUp = null; else this.inspDown = null;
    }
    if (insp === null) return 0;
    let code = this.judge(parser, data.length > 0 ? insp.write(data) : null);
    if (last && code === 0) code = this.judge(parser, insp.end());
    return code;
  }

  private judge(parser: FrameParser, hits: ReturnType<StreamInspector['write']>): number {
    if (hits === null) return 0;
    for (const hit of hits) {
      if (this.deps.onHit(this.slot, hit) === 'close') {
        parser.reason = `policy_violation: ${hit.rule}`;
        return CLOSE_POLICY;
      }
    }
    return 0;
  }

  /**
   * A violation in a chunk from one side. The whole frames before the offending one are still
   * forwarded, so that the close frame can be appended cleanly; the offender gets the code, the
   * other side 1001 (a client's fault) or 1014 (an upstream's); a policy close is 1008 both ways.
   */
  private fail(fromClient: boolean, chunk: Buffer, code: number): void {
    // onHit may already have closed this connection (a terminate ends the whole session).
    if (this.flags & F_CLOSING) return;
    const p = (fromClient ? this.up : this.down) as FrameParser;
    const dst = (fromClient ? this.upstream : this.client) as Leg;
    if (p.frameStart > 0) dst.write(chunk.subarray(0, p.frameStart));
    const dstClean = p.frameStart >= 0;
    const reason = p.reason;
    if (fromClient) {
      const upCode = code === CLOSE_POLICY ? CLOSE_POLICY : CLOSE_GOING_AWAY;
      this.shutdown(code, reason, this.down === null || this.down.atBoundary(), upCode, code === CLOSE_POLICY ? reason : 'client protocol error', dstClean);
    } else {
      const clientCode = code === CLOSE_POLICY ? CLOSE_POLICY : CLOSE_BAD_GATEWAY;
      this.shutdown(clientCode, code === CLOSE_POLICY ? reason : `upstream: ${reason}`, dstClean, code, reason, this.up === null || this.up.atBoundary());
    }
  }

  /** RegisteredConn: the kill switch, a terminate, the idle sweep, shutdown. */
  close(code: number, reason: string): void {
    if (this.flags & F_HANDSHAKE) {
      // Not switched yet: the client still speaks HTTP.
      this.flags = (this.flags & ~F_HANDSHAKE) | F_CLOSING;
      if (this.upstream) this.upstream.destroy();
      const killed = code === CLOSE_POLICY;
      writeHttpError(this.client, killed ? 403 : 503, killed ? reason : 'overloaded', reason, killed ? 'the session was ended' : reason, this.sid);
      this.gone();
      return;
    }
    this.shutdown(code, reason, this.down === null || this.down.atBoundary(), code, reason, this.up === null || this.up.atBoundary());
  }

  /**
   * Sends close frames and ends both legs. A leg whose outgoing stream is in the middle of a
   * frame cannot take a close frame without corrupting it, so it is destroyed instead.
   */
  private shutdown(clientCode: number, clientReason: string, clientClean: boolean, upCode: number, upReason: string, upClean: boolean): void {
    if (this.flags & F_CLOSING) return;
    this.flags |= F_CLOSING;
    this.gone();
    closeLeg(this.client, clientClean ? encodeClose(clientCode, clientReason, null) : null);
    if (this.upstream) closeLeg(this.upstream, upClean ? encodeClose(upCode, upReason, randomMask()) : null);
  }

  /** Unregisters and drops per-message state; idempotent. */
  gone(): void {
    if (this.flags & F_GONE) return;
    this.flags |= F_GONE;
    this.deps.registry.remove(this);
    this.inspUp = this.inspDown = null;
    this.hsBuf = this.early = null;
    this.hsRequest = null;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  // ---- upstream handshake ----

  handshakeData(chunk: Buffer): void {
    this.hsBuf = this.hsBuf === null ? chunk : Buffer.concat([this.hsBuf, chunk]);
    const r = parseReply(this.hsBuf);
    if (r === null) return;
    const u = this.upstream as Leg;
    if (typeof r === 'string') {
      this.refuseHandshake(502, 'upstream_error', r);
      return;
    }
    if (r.status !== 101) {
      this.refuseHandshake(502, 'upstream_error', `upstream refused the WebSocket upgrade with status ${r.status}`);
      return;
    }
    const bad = checkSwitch(r.head, this.key, this.deps.bounds.permessageDeflate);
    if (bad !== null) {
      this.refuseHandshake(502, 'upstream_error', bad);
      return;
    }
    // Switched. From here both sides speak frames.
    const b = this.deps.bounds;
    const deflate = b.permessageDeflate && /permessage-deflate/i.test(r.head);
    if (deflate) this.flags |= F_DEFLATE;
    this.flags = (this.flags & ~F_HANDSHAKE) | F_OPEN;
    this.hsBuf = null;
    this.key = '';
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // One 'data' listener serves both phases: removing a listener would turn the socket's
    // listener table into a slower, larger dictionary-mode object.
    u.on('drain', onUpstreamDrain);
    u.on('end', onLegEnd);
    const c = this.client;
    c.on('data', onClientData);
    c.on('drain', onClientDrain);
    c.on('end', onLegEnd);
    c.write(`${r.head}\r\nX-Session-ID: ${this.sid}\r\n\r\n`);
    if (r.rest.length > 0) this.fromUpstream(r.rest);
    const early = this.early;
    this.early = null;
    if (early !== null && early.length > 0) this.fromClient(early);
    if ((this.flags & F_CLIENT_PAUSED) === 0) c.resume();
  }

  refuseHandshake(status: number, type: string, message: string): void {
    this.flags = (this.flags & ~F_HANDSHAKE) | F_CLOSING;
    if (this.upstream) this.upstream.destroy();
    writeHttpError(this.client, status, type, type, message, this.sid);
    this.gone();
  }
}

function randomMask(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

function closeLeg(s: Leg, frame: Buffer | null): void {
  if (s.destroyed) return;
  if (frame !== null && s.writable) {
    s.end(frame);
    armGrace(s);
  } else {
    s.destroy();
  }
}

/** A leg that was told to finish gets CLOSE_GRACE_MS to do so; the listener is added only now. */
function armGrace(s: Leg): void {
  if (s.listenerCount('timeout') === 0) s.on('timeout', onLegTimeout);
  s.setTimeout(CLOSE_GRACE_MS);
}

// ---- socket listeners (shared, `this` is the socket) ----

function onClientData(this: Leg, chunk: Buffer): void {
  this[kConn]!.fromClient(chunk);
}
function onUpstreamData(this: Leg, chunk: Buffer): void {
  const c = this[kConn]!;
  if (c.flags & F_HANDSHAKE) c.handshakeData(chunk);
  else c.fromUpstream(chunk);
}

/** Connect plus handshake took too long. A socket timeout would keep its timer object for the connection's life. */
function onHandshakeTimeout(c: Conn): void {
  c.timer = null;
  if ((c.flags & F_HANDSHAKE) === 0) return;
  c.flags |= F_TIMED_OUT;
  c.upstream?.destroy();
}
function onUpstreamDrain(this: Leg): void {
  const c = this[kConn]!;
  if (c.flags & F_CLIENT_PAUSED) {
    c.flags &= ~F_CLIENT_PAUSED;
    c.client.resume();
  }
}
function onClientDrain(this: Leg): void {
  const c = this[kConn]!;
  if (c.flags & F_UP_PAUSED) {
    c.flags &= ~F_UP_PAUSED;
    c.upstream?.resume();
  }
}
function onUpstreamConnect(this: Leg): void {
  const c = this[kConn]!;
  if (c.flags & F_HANDSHAKE) this.write(c.hsRequest ?? '');
  c.hsRequest = null;
}

/** A peer's FIN: pass it on (the close handshake ends this way), and bound the wait for the rest. */
function onLegEnd(this: Leg): void {
  const c = this[kConn]!;
  const other = this === c.client ? c.upstream : c.client;
  if (other && !other.destroyed) {
    other.end();
    armGrace(other);
  }
  if (!this.destroyed) {
    this.end();
    armGrace(this);
  }
}

/** Either leg closed: the other follows (FIN now, destroyed after the grace), never half-open. */
function onLegClose(this: Leg): void {
  const c = this[kConn]!;
  const isClient = this === c.client;
  if (c.flags & F_HANDSHAKE) {
    if (isClient) c.upstream?.destroy();
    else if (!c.client.destroyed) {
      const timedOut = (c.flags & F_TIMED_OUT) !== 0;
      writeHttpError(c.client, timedOut ? 504 : 502, timedOut ? 'upstream_timeout' : 'upstream_error', timedOut ? 'upstream_timeout' : 'upstream_error',
        timedOut ? 'the upstream did not answer the WebSocket upgrade in time' : 'could not reach the upstream', c.sid);
    }
    c.flags &= ~F_HANDSHAKE;
    c.gone();
    return;
  }
  c.gone();
  const other = isClient ? c.upstream : c.client;
  if (other && !other.destroyed) {
    if (other.writableLength === 0 && !other.writable) other.destroy();
    else {
      other.end();
      armGrace(other);
    }
  }
}

/** Only armed while closing: the peer did not finish in the grace period. */
function onLegTimeout(this: Leg): void {
  this.destroy();
}

/** Errors are followed by 'close', which tears the pair down; this only keeps them from throwing. */
function onLegError(this: Leg): void {}

function destroySelf(this: Duplex): void {
  this.destroy();
}

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
  conn.hsRequest = buildUpstreamRequest(req, base, b.permessageDeflate, client.remoteAddress ?? '');
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

/** A plain HTTP error on a socket that has not been switched, then the socket is closed. */
function writeHttpError(s: Duplex, status: number, type: string, code: string, message: string, sessionId: string | null, headers?: Record<string, string>): void {
  if (s.destroyed || !s.writable) {
    s.destroy();
    return;
  }
  const body = JSON.stringify({ error: { message, type, code } });
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n`;
  if (sessionId !== null) head += `X-Session-ID: ${sessionId}\r\n`;
  if (headers) for (const k of Object.keys(headers)) head += `${k}: ${headers[k]}\r\n`;
  s.on('finish', destroySelf);
  s.end(`${head}\r\n${body}`);
}
