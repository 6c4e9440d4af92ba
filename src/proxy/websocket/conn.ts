// One relayed WebSocket connection: the per-connection state machine. It starts in the upstream
// handshake (F_HANDSHAKE), relays frames once switched (F_OPEN), and ends closing (F_CLOSING)
// and gone (F_GONE). Each direction's chunks go through that direction's frame parser (policy
// and protocol checks) and are then written on as the socket gave them.
import type { Span } from '../../telemetry/types.js';
import { spanPolicy, spanSessionEnd } from '../../telemetry/request-span.js';
import type { Direction } from '../../events.js';
import type { StreamInspector } from '../../policy/types.js';
import {
  CLOSE_BAD_GATEWAY, CLOSE_GOING_AWAY, CLOSE_POLICY, FrameParser, encodeClose, type FrameSink,
} from '../../protocols/ws-frame.js';
import {
  F_CLIENT_PAUSED, F_CLOSING, F_DEFLATE, F_DOWN_MSG, F_GONE, F_HANDSHAKE, F_OPEN, F_UP_MSG, F_UP_PAUSED,
} from './conn-flags.js';
import { checkSwitch, parseReply } from './handshake.js';
import { writeHttpError } from './http-error.js';
import { closeLeg, onClientData, onClientDrain, onLegEnd, onUpstreamDrain, type Leg } from './legs.js';
import { PARSER_BYTES, type RegisteredConn, type WsConnInfo } from './registry.js';
import type { RelayDeps, SessionGrant } from './types.js';
import type { AccountedStream } from '../../memory/streams.js';

/** RFC 6455 §7.4.1 via the IANA registry: 1013 Try Again Later. */
const CLOSE_TRY_AGAIN = 1013;
const nowSec = (): number => Math.floor(Date.now() / 1000);

export class Conn implements RegisteredConn, FrameSink, AccountedStream {
  id = 0;
  prevAcct: AccountedStream | null = null;
  nextAcct: AccountedStream | null = null;
  acctOpenedAt = 0;
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
  /** the connection's trace span (telemetry), ended when the connection is gone */
  span: Span | null = null;
  /** the rule of the hit being judged (onHit), so that a terminate's close names it on the span */
  private judging: string | null = null;
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

  // memory/streams.ts: the connection's account is what heldBytes() counts
  acctSessionId(): string { return this.sid; }
  acctKind(): 'websocket' { return 'websocket'; }
  bufferedBytes(): number { return this.heldBytes(); }
  /** Critical memory: 1013 (try again later) both ways. */
  resetForMemory(): void {
    this.deps.registry.remove(this);
    this.close(CLOSE_TRY_AGAIN, 'overloaded');
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
      this.judging = hit.rule;
      const verdict = this.deps.onHit(this.slot, hit);
      this.judging = null;
      if (verdict === 'close') {
        // (a terminate closed the session's connections, this one too, and ended its span in close())
        if (this.span !== null) spanPolicy(this.span, 'block', hit.rule);
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
    if (this.span !== null && code === CLOSE_POLICY && isSessionEnd(reason)) {
      // `judging`: this connection's own message tripped the terminate
      if (this.judging !== null) spanPolicy(this.span, 'terminate', this.judging);
      spanSessionEnd(this.span, reason, this.judging ?? undefined);
    }
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

  /**
   * The upstream's connection ended (FIN or reset) with no closing handshake from either side: the
   * client gets 1014 rather than a bare close, which its WebSocket reports as 1006. True when sent.
   */
  upstreamVanished(): boolean {
    if ((this.flags & (F_OPEN | F_CLOSING)) !== F_OPEN) return false;
    if ((this.down !== null && this.down.sawClose) || (this.up !== null && this.up.sawClose)) return false;
    this.flags |= F_CLOSING;
    this.gone();
    const clean = this.down === null || this.down.atBoundary();
    closeLeg(this.client, clean ? encodeClose(CLOSE_BAD_GATEWAY, 'upstream closed the connection', null) : null);
    return true;
  }

  /** Unregisters and drops per-message state; idempotent. */
  gone(): void {
    if (this.flags & F_GONE) return;
    this.flags |= F_GONE;
    this.deps.registry.remove(this);
    this.deps.streams?.remove(this);
    if (this.span !== null) {
      this.deps.endSpan?.(this.span, this.bytesIn, this.bytesOut);
      this.span = null;
    }
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

/** The reasons the registry closes a session's connections with (gate.onEnd, gateway.ts). */
function isSessionEnd(r: string): r is 'session_killed' | 'session_terminated' | 'agent_killed' {
  return r === 'session_killed' || r === 'session_terminated' || r === 'agent_killed';
}
