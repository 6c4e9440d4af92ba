// Builds the relay's deps from the proxy's context: WebSocket upgrades are admitted by the same
// SessionGate as HTTP requests (SPEC.md "Proxy listener") and refused with the same errors.
// src/gateway.ts calls createWsDeps once and hands the result to handleUpgrade.
import type { Tracing } from '../../telemetry/types.js';
import { spanAgent, spanEnd, spanRequest } from '../../telemetry/request-span.js';
import type { IncomingMessage } from 'node:http';
import type { Direction } from '../../events.js';
import type { Hit, StreamInspector } from '../../policy/types.js';
import type { ProxyContext } from '../context.js';
import { checkKey, isGrant } from '../key-admit.js';
import { ERR, type ProxyError } from '../../errors/index.js';
import { hashId } from '../hash.js';
import type { Upstream } from '../upstreams.js';
import { applyHits } from '../verdict.js';
import type { WsRegistry } from './registry.js';
import type { RelayDeps, Refusal, SessionGrant } from './types.js';

export interface WsDepsOptions {
  /**
   * Opens a scanner for one WebSocket text message. The default asks the policy engine for a
   * message inspector of that direction (client → upstream scans as a request, the other way as a
   * response), reading the payload as text.
   */
  openInspector?: (slot: number, direction: Direction) => StreamInspector | null;
}

export function createWsDeps(ctx: ProxyContext, registry: WsRegistry, opts: WsDepsOptions = {}): RelayDeps {
  const cfg = ctx.cfg;
  // One ws(s):// URL per upstream, shared by all its connections (a URL object is not small).
  const urls = new Map<Upstream, URL>();
  const upstreamOf = new WeakMap<URL, Upstream>();
  const urlOf = (u: Upstream): URL => {
    let url = urls.get(u);
    if (url === undefined) {
      urls.set(u, (url = new URL(u.name)));
      upstreamOf.set(url, u);
    }
    return url;
  };
  const refuse = (e: ProxyError, sessionId: string | null): Refusal => {
    const headers: Record<string, string> = {};
    if (sessionId !== null) headers['X-Session-ID'] = sessionId;
    if (e.retryAfter !== undefined) headers['Retry-After'] = String(e.retryAfter);
    return { status: e.status, type: e.type, code: e.code, message: e.message, headers };
  };
  // ctx.policy is read per message: a reload's rules apply from the next message on.
  const openInspector = opts.openInspector
    ?? ((slot: number, direction: Direction) => (ctx.policy !== null ? ctx.policy.openMessage(slot, direction, 'text/plain') : null));

  return {
    resolveSession(req: IncomingMessage): SessionGrant | Refusal {
      const closed = ctx.gate.precheck();
      if (closed !== null) return refuse(closed, null);
      const now = Date.now();
      const ip = req.socket.remoteAddress ?? '';
      const grant = checkKey(ctx, req.headers);
      if (!isGrant(grant)) return refuse(grant, null);
      // the client's cordon key is not the upstream's business
      if (grant.header === 'authorization') delete req.headers.authorization;
      const header = req.headers['x-session-id'] ?? req.headers['x-claude-code-session-id'];
      let id: string;
      if (header !== undefined) {
        if (typeof header !== 'string' || !ctx.identity.valid(header)) return refuse(ERR.badSessionId(), null);
        id = header;
      } else {
        // An upgrade has no body: the ID is the header's or derived from the client.
        id = ctx.identity.derive(ip, req.headers['user-agent'] ?? '', now);
      }
      // The same admission as an HTTP request (sessions/gate.ts); the WsRegistry holds the slot.
      const slot = ctx.gate.admit({ id, clientIp: ip, bytesIn: 0, nowMs: now, agent: grant.key?.agent ?? null });
      if (typeof slot !== 'number') return refuse(slot, id);
      // The upgrade counts as one request of the session, fleet-wide as well as here.
      ctx.fleet.record(id, 1, 0, 0, 0, now);
      return grant.key === null ? { slot, id } : { slot, id, agent: grant.key.agent };
    },
    pickUpstream(slot: number): URL | null {
      const ups = ctx.upstreams;
      const u = ups.pick(Date.now(), ups.balance === 'sticky' ? hashId(ctx.sessions.idOf(slot)) : 0, null);
      if (u === null) return null;
      ctx.sessions.setUpstream(slot, u.index);
      return urlOf(u);
    },
    // read at each upgrade: a reload may have changed the upstream's key
    credentialFor(url: URL) {
      return upstreamOf.get(url)?.credential ?? null;
    },
    openInspector,
    onHit(slot: number, hit: Hit): 'pass' | 'close' {
      const verdict = applyHits(ctx, slot, ctx.sessions.idOf(slot), [hit], hit.direction);
      if (verdict === null) return 'pass';
      if (verdict.kind === 'terminate') {
        // Ends the whole session: its other sockets and requests are closed via gate.onEnd.
        ctx.counters.blocked++;
        ctx.gate.terminate(slot, hit.rule);
        return 'close';
      }
      ctx.counters.blocked++;
      return 'close';
    },
    onTraffic(slot: number, direction: Direction, bytes: number): void {
      // Fleet counters take the frame bytes too (a Map update; write-behind sends them in batches).
      if (direction === 'request') {
        ctx.sessions.addBytesIn(slot, bytes);
        ctx.fleet.record(ctx.sessions.idOf(slot), 0, bytes, 0, 0, Date.now());
      } else {
        ctx.sessions.addBytesOut(slot, bytes);
        ctx.fleet.record(ctx.sessions.idOf(slot), 0, 0, bytes, 0, Date.now());
      }
    },
    registry,
    ...(ctx.ops?.tracing ? wsTracing(ctx.ops.tracing) : {}), // ops is absent in contexts built for tests
    streams: ctx.streams,
    bounds: {
      // read when a write is refused: follows the per-stream limit as pressure lowers it
      get highWater() { return Math.min(ctx.bounds.ws_high_water, ctx.streams.limit); },
      maxFrame: cfg.websocket.max_frame,
      idleTimeoutMs: cfg.websocket.idle_timeout,
      connectTimeoutMs: cfg.timeouts.connect,
      permessageDeflate: cfg.websocket.permessage_deflate,
      tlsVerify: cfg.upstream_pool.tls_verify,
    },
  };
}


/** One span per WebSocket connection, from the upgrade to the close. */
function wsTracing(tracing: Tracing): Pick<RelayDeps, 'openSpan' | 'endSpan'> {
  return {
    openSpan(req, grant, upstream) {
      const tp = req.headers.traceparent;
      const span = tracing.startSpan('websocket', typeof tp === 'string' ? tp : undefined, req.headers.tracestate as string | undefined, performance.now());
      if (span === null) return null;
      spanRequest(span, grant.id, 'GET', req.url ?? '/', null);
      spanAgent(span, grant.agent);
      span.setAttribute('network.protocol.name', 'websocket');
      span.setAttribute('server.address', upstream.origin);
      return span;
    },
    endSpan(span, bytesIn, bytesOut) {
      span.setAttribute('cordon.bytes_in', bytesIn);
      span.setAttribute('cordon.bytes_out', bytesOut);
      spanEnd(span, 101, 'closed', null, performance.now());
    },
  };
}
