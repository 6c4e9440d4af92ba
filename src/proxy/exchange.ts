// One proxied request, from the client's first byte to the access-log line. The phases run once,
// in order (DESIGN.md): admit → read body → identify session → request policy → pick upstream →
// forward (undici dispatch, this object is the handler) → response phase per chunk → finish.
// All per-request state lives on this object; event listeners are shared module functions that
// find it through a symbol, so the hot path creates no closures per request or per chunk.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Hit, PolicyEngine, StreamInspector } from '../policy/types.js';
import type { Upstream } from './upstreams.js';
import type { CaptureWriter, ProxyContext } from './context.js';
import { ERR, metricReason, sendProxyError, sessionEnded, sseErrorEvent, type ProxyError } from '../errors/index.js';
import { isGatewayFailure, NO_SESSION } from './outlier.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { InflightNode } from './inflight.js';
import { applyHits, type Verdict } from './verdict.js';
import { originForm } from './request-target.js';
import { createAccessLog, type AccessLog } from '../log.js';
import { DISCARD_MAX_BYTES, nextUpstream, retryReason, rewriteModel } from './retry.js';
import type { Span } from '../telemetry/types.js';
import { traceparentOf } from '../telemetry/types.js';
import {
  setTraceparent, spanAttempt, spanEnd, spanPolicy, spanRequest, spanRetry, spanSessionEnd, usageOf,
} from '../telemetry/request-span.js';
import type { AccountedStream, StreamKind } from '../memory/streams.js';

const kExchange = Symbol('cordon.exchange');
type Tagged = { [kExchange]?: Exchange };

const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE']);

/** Stage of the exchange; each value allows a known set of next steps. */
const enum Stage { ReadingBody, Dispatched, Streaming, Done, Discarding }

export class Exchange implements InflightNode, Dispatcher.DispatchHandler, AccountedStream {
  slot = -1;
  prevInSlot: InflightNode | null = null;
  nextInSlot: InflightNode | null = null;
  prevAcct: AccountedStream | null = null;
  nextAcct: AccountedStream | null = null;
  acctOpenedAt = 0;
  /** the upstream read is paused (client backpressure or the per-stream limit) */
  private upstreamPaused = false;

  private stage = Stage.ReadingBody;
  private sessionId: string | null = null;
  private readingBody = false;
  /** the second and later chunks of a body that came in several */
  private chunks: Buffer[] | null = null;
  private bodyLength = 0;
  private body: Buffer | null = null;
  private upstream: Upstream | null = null;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private inspector: StreamInspector | null = null;
  private isSse = false;
  private drainListening = false;
  private status = 0;
  private bytesOut = 0;
  /** tries so far on upstreams (retries: src/proxy/retry.ts) */
  private attempt = 1;
  /** upstreams tried before the current one, from the first retry on */
  private tried: Upstream[] | null = null;
  /** the upstream the next try goes to, chosen when an answer is set aside for it */
  private retryTo: Upstream | null = null;
  private discarded = 0;
  /** the request's trace span when it is sampled (telemetry configured) */
  private span: Span | null = null;
  /** the policy engine in force when the request phase began: kept to the end (config reload) */
  private policy: PolicyEngine | null = null;
  private readonly startedAt: number;
  private upstreamStartedAt = 0;
  private upstreamHeadersAt = 0;
  private capture: CaptureWriter | null = null;
  private readonly contentTypeOut: { contentType: string | undefined } = { contentType: undefined };
  private outcome: string | null = null;
  /** the request-target in origin-form (absolute-form reduced to its path); set by start() */
  private target = '/';

  constructor(private readonly ctx: ProxyContext, readonly req: IncomingMessage, readonly res: ServerResponse) {
    this.startedAt = performance.now();
    (req as Tagged)[kExchange] = this;
    (res as Tagged)[kExchange] = this;
  }

  // ── phase 1: admit and read the body ──────────────────────────────────────────────
  start(): void {
    const { ctx, req, res } = this;
    ctx.counters.total++;
    res.on('close', onResClose);
    const tracing = ctx.ops.tracing;
    if (tracing !== null) {
      const tp = req.headers.traceparent;
      this.span = tracing.startSpan(req.method ?? 'GET', typeof tp === 'string' ? tp : undefined, req.headers.tracestate as string | undefined, this.startedAt);
    }
    const closed = ctx.gate.precheck();
    if (closed !== null) return this.fail(closed);
    ctx.streams.add(this);
    const target = originForm(req.url ?? '/');
    if (target === null) return this.fail(ERR.badTarget(), false);
    this.target = target;
    const headerId = req.headers['x-session-id'];
    if (headerId !== undefined) {
      if (typeof headerId !== 'string' || !ctx.identity.valid(headerId)) return this.fail(ERR.badSessionId(), false);
      this.sessionId = headerId;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > ctx.cfg.max_body) {
      res.shouldKeepAlive = false;
      return this.fail(ERR.tooLarge(ctx.cfg.max_body));
    }
    const hasBody = declared !== undefined ? Number(declared) > 0 : req.headers['transfer-encoding'] !== undefined || !NO_BODY_METHODS.has(req.method ?? 'GET');
    if (!hasBody) {
      this.requestPhase();
      return;
    }
    this.readingBody = true;
    ctx.uploads.add(req);
    req.on('data', onReqData);
    req.on('end', onReqEnd);
  }

  onBodyChunk(chunk: Buffer): void {
    if (this.stage !== Stage.ReadingBody || !this.readingBody) return;
    this.bodyLength += chunk.length;
    if (this.bodyLength > this.ctx.cfg.max_body) {
      this.readingBody = false;
      this.ctx.uploads.delete(this.req);
      this.chunks = null;
      this.body = null;
      this.fail(ERR.tooLarge(this.ctx.cfg.max_body));
      this.req.removeListener('data', onReqData);
      // Discard the rest of the body, and keep the connection until it has come in (bounded by
      // timeouts.body): closing now would make the client's still-arriving bytes draw a reset,
      // which can destroy the 413 in the client's receive buffer before it is read (a lingering
      // close, RFC 9112 §9.6). Nothing of it is kept.
      this.req.resume();
      return;
    }
    // Most bodies arrive in one chunk: keep it as is; an array only from the second chunk on.
    if (this.body === null) this.body = chunk;
    else if (this.chunks === null) this.chunks = [this.body, chunk];
    else this.chunks.push(chunk);
  }

  onBodyEnd(): void {
    if (this.stage !== Stage.ReadingBody || !this.readingBody) return;
    this.readingBody = false;
    this.ctx.uploads.delete(this.req);
    if (this.chunks !== null) {
      this.body = Buffer.concat(this.chunks, this.bodyLength);
      this.chunks = null;
    }
    this.requestPhase();
  }

  // ── phase 2: identify the session, apply request policy ────────────────────────────
  private requestPhase(): void {
    const { ctx, req } = this;
    const now = Date.now();
    const body = this.body;
    let json: unknown;
    let jsonFailed = false;
    const policy = this.policy = ctx.policy;
    // The body is parsed for the session ID (no X-Session-ID) or for request rules; JSON.parse
    // beat a byte scanner on CPU (bench/results/proxy-perf.md).
    const wantsJson = body !== null && (this.sessionId === null || (policy !== null && policy.hasRequestRules));
    if (wantsJson && isJsonType(req.headers['content-type'])) {
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        jsonFailed = true;
      }
    }
    if (this.sessionId === null) {
      this.sessionId = ctx.identity.fromJson(json) ?? ctx.identity.derive(req.socket.remoteAddress ?? '', req.headers['user-agent'] ?? '', now);
    }
    const admitted = ctx.gate.admit({ id: this.sessionId, clientIp: req.socket.remoteAddress ?? '', bytesIn: this.bodyLength, nowMs: now });
    if (typeof admitted !== 'number') return this.fail(admitted);
    const slot = admitted;
    this.slot = slot;
    ctx.gate.hold(slot);
    if (this.span !== null) spanRequest(this.span, this.sessionId, req.method ?? 'GET', this.target, json ?? jsonForSpan(body, req.headers['content-type']));

    if (policy !== null && policy.hasRequestRules) {
      if (jsonFailed && ctx.cfg.mode === 'enforce') return this.fail(ERR.badJson());
      const hits = policy.inspectRequest(slot, body ?? EMPTY, jsonFailed ? undefined : json, this.target, now);
      if (hits !== null) {
        const verdict = applyHits(ctx, this.slot, this.sessionId, hits, 'request');
        if (verdict !== null) return this.refuse(verdict);
        if (this.span !== null) spanPolicy(this.span, 'flag', hits[0].rule);
      }
    }
    if (ctx.fleetRates.length > 0) {
      this.checkFleetRates();
      return;
    }
    // Registered before dispatch so that a kill arriving from now on reaches this exchange.
    ctx.inflight.add(this);
    this.dispatch(null);
  }

  /**
   * Fleet mode: request-rate rules count across every instance through the shared store. This is
   * the one round trip to Redis on the request path, taken only when such rules are configured.
   */
  private checkFleetRates(): void {
    const { ctx } = this;
    const sid = this.sessionId!;
    const rules = ctx.fleetRates;
    Promise.all(rules.map((r) => ctx.fleet.rateLimit(`${r.name}:${sid}`, r.limit, r.windowMs))).then((results) => {
      if (this.stage === Stage.Done) return;
      let hits: Hit[] | null = null;
      for (let i = 0; i < rules.length; i++) {
        if (results[i].allowed) continue;
        const r = rules[i];
        (hits ??= []).push({ rule: r.name, severity: r.severity, action: r.action, direction: 'request', excerpt: '', retry_after: results[i].retryAfterMs / 1000 });
      }
      if (hits !== null) {
        this.policy?.countHits(hits);
        const v = applyHits(ctx, this.slot, sid, hits, 'request');
        if (v !== null) return this.refuse(v);
      }
      this.admitted();
    }, () => {
      // The store failed: the local count of the same rules already applied.
      if (this.stage !== Stage.Done) this.admitted();
    });
  }

  /** Past the request phase; a kill may have landed while a fleet check was in flight. */
  private admitted(): void {
    const refusal = this.ctx.gate.refusalOf(this.slot);
    if (refusal !== null) return this.fail(refusal);
    this.ctx.inflight.add(this);
    this.dispatch(null);
  }

  private refuse(v: Verdict): void {
    if (v.kind === 'rate') return this.fail(ERR.rateLimited(v.rule, v.retryAfter));
    if (this.span !== null) spanPolicy(this.span, v.kind === 'terminate' ? 'terminate' : 'block', v.rule);
    if (v.kind === 'terminate') this.ctx.gate.terminate(this.slot, v.rule);
    this.ctx.counters.blocked++;
    this.fail(v.kind === 'terminate' ? ERR.terminated() : ERR.blocked(v.rule));
  }

  // ── phase 3: pick an upstream and forward ─────────────────────────────────────────
  /** `next`: the upstream a retry goes to; null for the first try, which the balancer picks. */
  private dispatch(next: Upstream | null): void {
    const { ctx, req } = this;
    const now = Date.now();
    const up = next ?? ctx.upstreams.pick(now, ctx.upstreams.balance === 'sticky' ? hashId(this.sessionId!) : 0, null);
    if (up === null) return this.fail(ERR.noUpstream());
    this.upstream = up;
    up.outstanding++;
    ctx.sessions.setUpstream(this.slot, up.index);
    this.stage = Stage.Dispatched;
    this.upstreamStartedAt = performance.now();
    const h = req.headers;
    // `upstreams[].model`: this upstream gets the request under its own model (a fallback).
    const body = up.model === undefined ? this.body : rewriteModel(this.body, up.model);
    const headers = upstreamRequestHeaders(req.rawHeaders, up.host, req.socket.remoteAddress ?? '',
      body !== null ? body.length : (this.bodyLength === 0 && !NO_BODY_METHODS.has(req.method ?? 'GET') ? 0 : -1),
      h.connection, h['x-forwarded-for'] as string | undefined);
    if (this.span !== null) {
      spanAttempt(this.span, up.name, this.attempt, up.model);
      setTraceparent(headers, traceparentOf(this.span));
    }
    if (ctx.capture !== null && this.body !== null) {
      const w = ctx.capture.open(this.sessionId!, 'request');
      if (w !== null) { w.write(this.body); w.end(); }
    }
    up.pool.dispatch({
      method: req.method ?? 'GET',
      path: up.targetPath(this.target),
      headers,
      body,
      // POSTs to an LLM are not idempotent: never replay them on a pipelined socket.
      idempotent: req.method === 'GET' || req.method === 'HEAD',
      // A retry has what is left of the request's deadline to get its answer's headers.
      headersTimeout: this.attempt === 1 ? undefined : Math.max(1, ctx.ops.retry.deadlineMs - (performance.now() - this.startedAt)),
    }, this);
  }

  // ── undici handler: phase 4, the response ─────────────────────────────────────────
  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.stage === Stage.Done) abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.stage === Stage.Done) return false;
    if (statusCode < 200) return true; // 1xx: wait for the final status
    const { ctx, res } = this;
    // Nothing reached the client yet: an answer in `retry.on` is set aside for another upstream's.
    if (statusCode >= 429 && ctx.ops.retry.onStatus(statusCode) && this.planRetry(statusCode)) return true;
    this.stage = Stage.Streaming;
    this.status = statusCode;
    this.resumeUpstream = resume;
    this.body = null; // forwarded: a retry happens only before the response's headers
    this.upstreamHeadersAt = performance.now();
    const headers = downstreamResponseHeaders(rawHeaders, this.sessionId!, this.contentTypeOut);
    const ct = this.contentTypeOut.contentType;
    // media types are case-insensitive (RFC 9110 §8.3.1): TEXT/EVENT-STREAM is a stream too
    this.isSse = ct !== undefined && (ct.startsWith('text/event-stream') || ct.toLowerCase().startsWith('text/event-stream'));
    if (this.policy !== null && this.policy.hasResponseRules) {
      this.inspector = this.policy.openResponse(this.slot, ct, this.target);
    }
    if (ctx.capture !== null) this.capture = ctx.capture.open(this.sessionId!, 'response');
    res.writeHead(statusCode, headers);
    if (this.isSse) res.flushHeaders();
    if (isGatewayFailure(statusCode)) ctx.upstreams.failed(this.upstream!, Date.now(), `status ${statusCode}`, hashId(this.sessionId!));
    else ctx.upstreams.succeeded(this.upstream!, Date.now());
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.stage !== Stage.Streaming) return this.stage === Stage.Discarding && this.discard(chunk.length);
    this.bytesOut += chunk.length;
    if (this.inspector !== null) {
      const hits = this.inspector.write(chunk);
      if (hits !== null) {
        const v = applyHits(this.ctx, this.slot, this.sessionId!, hits, 'response');
        if (v === null && this.span !== null) spanPolicy(this.span, 'flag', hits[0].rule);
        if (v !== null && v.kind !== 'rate') {
          // The chunk that completed the match is withheld: the client never sees the match whole.
          if (this.span !== null) spanPolicy(this.span, 'terminate', v.rule);
          this.ctx.gate.terminate(this.slot, v.rule);
          return false;
        }
      }
    }
    if (this.capture !== null) this.capture.write(chunk);
    // Past the stream's limit (limits.stream_buffer, lowered under pressure) undici stops reading the
    // upstream until 'drain', so its kernel window closes. Below it, node's own high-water mark
    // (16KiB) is not a reason to pause: a write that returned false still gets its 'drain'.
    const res = this.res;
    if (res.write(chunk) || res.writableLength < this.ctx.streams.limit) return true;
    this.upstreamPaused = true;
    // Most responses never get here, so the listener is added on the first full buffer rather than
    // for every request.
    if (!this.drainListening) {
      this.drainListening = true;
      this.res.on('drain', onResDrain);
    }
    return false;
  }

  onComplete(): void {
    if (this.stage === Stage.Discarding) return this.retryNow();
    if (this.stage !== Stage.Streaming) return;
    if (this.inspector !== null) {
      const hits = this.inspector.end();
      if (hits !== null) applyHits(this.ctx, this.slot, this.sessionId!, hits, 'response');
    }
    this.res.end();
    this.finish('ok');
  }

  onError(err: Error): void {
    if (this.stage === Stage.Done) return;
    if (this.stage === Stage.Discarding) return this.retryNow();
    const code = (err as { code?: string }).code ?? '';
    const up = this.upstream!;
    const now = Date.now();
    if (this.stage === Stage.Dispatched) {
      up.outstanding--;
      // undici refused to send the request (a path or header its checks reject): the request's
      // fault, so it does not count against the upstream's health.
      if (code === 'UND_ERR_INVALID_ARG') {
        this.upstream = null;
        return this.fail(ERR.unsendable());
      }
      const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
      this.ctx.upstreams.failed(up, now, code || err.message, isConnectFailure(code) ? NO_SESSION : hashId(this.sessionId!));
      // A refused or failed connection never reached the backend: safe to try another.
      if (isConnectFailure(code) && this.ctx.ops.retry.onConnect) {
        up.outstanding++; // planRetry takes this attempt off the upstream again
        if (this.planRetry(0)) return this.retryNow();
        up.outstanding--;
      }
      this.upstream = null;
      this.fail(timeout ? ERR.timeout(describe(code, err)) : ERR.upstream(describe(code, err)));
      return;
    }
    // Mid-stream: headers are out, so the client connection is closed.
    this.ctx.upstreams.failed(up, now, code || err.message, hashId(this.sessionId!));
    this.res.destroy();
    this.finish(`upstream_error:${code || 'error'}`);
  }

  onDrain(): void {
    const r = this.resumeUpstream;
    this.upstreamPaused = false;
    if (r !== null && this.stage === Stage.Streaming) r();
  }

  // ── retries (src/proxy/retry.ts) ─────────────────────────────────────────────────────
  /**
   * Sets the current try aside for a retry when one is allowed: attempts left, the deadline not
   * passed, and a healthy upstream not tried yet. `status` 0 is a connection that failed.
   */
  private planRetry(status: number): boolean {
    const { ctx } = this;
    const rules = ctx.ops.retry;
    if (this.attempt >= rules.attempts || performance.now() - this.startedAt >= rules.deadlineMs) return false;
    const up = this.upstream!;
    const tried = this.tried ?? [];
    tried.push(up);
    const next = nextUpstream(ctx.upstreams, Date.now(), ctx.upstreams.balance === 'sticky' ? hashId(this.sessionId!) : 0, tried);
    if (next === null) {
      tried.pop();
      return false;
    }
    this.tried = tried;
    this.retryTo = next;
    up.outstanding--;
    // Health counts it as the answer it was (outlier.ts); a connect failure was counted already.
    if (isGatewayFailure(status)) ctx.upstreams.failed(up, Date.now(), `status ${status}`, hashId(this.sessionId!));
    else if (status !== 0) ctx.upstreams.succeeded(up, Date.now());
    const reason = retryReason(status);
    ctx.ops.onRetry(reason);
    if (this.span !== null) spanRetry(this.span, up.name, reason);
    if (ctx.accessLog) {
      ctx.log.info({ session: this.sessionId, method: this.req.method, path: this.req.url, upstream: up.name, attempt: this.attempt,
        reason, next: next.name, ms: Math.round((performance.now() - this.upstreamStartedAt) * 100) / 100 }, 'attempt retried');
    }
    this.stage = Stage.Discarding;
    this.discarded = 0;
    return true;
  }

  /** The set-aside answer is drained (its connection stays reusable) unless it is large. */
  private discard(n: number): boolean {
    this.discarded += n;
    if (this.discarded > DISCARD_MAX_BYTES && this.abortUpstream !== null) this.abortUpstream();
    return true;
  }

  /** The set-aside try is over (drained, cut, or never connected): send the next. */
  private retryNow(): void {
    const next = this.retryTo!;
    this.retryTo = null;
    this.upstream = null;
    this.abortUpstream = null;
    this.resumeUpstream = null;
    this.attempt++;
    const refusal = this.ctx.gate.refusalOf(this.slot);
    if (refusal !== null) return this.fail(refusal);
    this.dispatch(next);
  }

  // ── the stream's memory account (memory/streams.ts) ───────────────────────────────
  acctSessionId(): string | null { return this.sessionId; }
  acctKind(): StreamKind {
    return this.stage === Stage.ReadingBody ? 'upload' : this.isSse ? 'sse' : 'http';
  }
  bufferedBytes(): number {
    const body = this.stage === Stage.ReadingBody ? this.bodyLength : this.body !== null ? this.body.length : 0;
    return this.res.writableLength + body + (this.upstreamPaused ? PAUSED_UPSTREAM_BYTES : 0)
      + (this.inspector !== null ? this.inspector.bytes() : 0);
  }
  /** Critical memory: an SSE stream gets `event: error` overloaded, a started response is cut, others get 503. */
  resetForMemory(): void {
    if (this.stage === Stage.Done) return;
    this.chunks = null;
    if (this.stage === Stage.Streaming) {
      if (this.isSse) endSseWithin(this.res, sseErrorEvent(ERR.overloaded()));
      else this.res.destroy();
      this.finish('memory_reset');
      return;
    }
    this.res.shouldKeepAlive = false;
    this.fail(ERR.overloaded());
  }

  // ── endings ──────────────────────────────────────────────────────────────────────
  /** A kill or a terminate ends this exchange from outside, whatever phase it is in. */
  endBySession(type: 'session_killed' | 'session_terminated'): void {
    if (this.stage === Stage.Done) return;
    const err = sessionEnded(type);
    if (this.span !== null) spanSessionEnd(this.span, type);
    if (this.stage === Stage.Streaming) {
      if (this.isSse) this.res.end(sseErrorEvent(err));
      else this.res.destroy();
      this.finish(type);
    } else {
      this.fail(err);
    }
  }

  /**
   * The drain timed out with this exchange in flight: an SSE stream gets `event: error` (overloaded,
   * "shutting down") before the close, a request not yet answered gets the 503, other streams close.
   */
  endByShutdown(): void {
    if (this.stage === Stage.Done) return;
    const err = ERR.shuttingDown();
    if (this.stage === Stage.Streaming) {
      if (this.isSse) this.res.end(sseErrorEvent(err));
      else this.res.destroy();
      this.finish(err.code);
    } else {
      this.fail(err);
    }
  }

  /** The client went away (or the response finished): release everything. */
  onClientClose(): void {
    if (this.stage === Stage.Done) return;
    this.finish(this.res.writableFinished ? 'ok' : 'client_closed');
  }

  private fail(err: ProxyError, withSession = true): void {
    if (this.stage === Stage.Done) return;
    this.status = err.status;
    this.ctx.onReject(metricReason(err));
    sendProxyError(this.res, err, withSession ? this.sessionId : null);
    this.finish(err.code);
  }

  private finish(outcome: string): void {
    if (this.stage === Stage.Done) return;
    // A Discarding try was taken off its upstream already (planRetry).
    const wasDispatched = this.stage === Stage.Dispatched || this.stage === Stage.Streaming;
    this.stage = Stage.Done;
    this.outcome = outcome;
    const { ctx } = this;
    ctx.streams.remove(this);
    if (this.readingBody) { this.readingBody = false; ctx.uploads.delete(this.req); }
    if (this.abortUpstream !== null && outcome !== 'ok') this.abortUpstream();
    if (wasDispatched && this.upstream !== null) this.upstream.outstanding--;
    if (this.capture !== null) { this.capture.end(); this.capture = null; }
    if (this.slot >= 0) {
      ctx.inflight.remove(this);
      ctx.gate.release(this.slot, this.bodyLength, this.bytesOut, this.inspector?.tokens ?? 0, Date.now());
      if (this.inspector !== null && this.policy !== null) {
        // end() is idempotent: on kill, abort and error paths it releases the stream's scanner state.
        this.inspector.end();
        const hits = this.policy.settleResponse(this.slot, this.inspector.tokens, this.inspector.toolCalls, Date.now());
        if (hits !== null) applyHits(ctx, this.slot, this.sessionId!, hits, 'response');
      }
    }
    if (this.span !== null) {
      spanEnd(this.span, this.status || this.res.statusCode, outcome, usageOf(this.inspector), performance.now());
      this.span = null;
    }
    this.inspector = null;
    this.policy = null;
    this.resumeUpstream = null;
    this.abortUpstream = null;
    this.body = null;
    const end = performance.now();
    // Added latency is the gateway's own time before dispatch; upstream time runs to its headers.
    ctx.observe(this.status || this.res.statusCode, this.upstream?.index ?? -1,
      (this.upstreamStartedAt === 0 ? end : this.upstreamStartedAt) - this.startedAt,
      this.upstreamHeadersAt === 0 ? 0 : this.upstreamHeadersAt - this.upstreamStartedAt);
    if (ctx.accessLog) {
      accessLogFor(ctx)?.write(this.sessionId, this.req.method ?? 'GET', this.req.url ?? '/', this.status || this.res.statusCode,
        this.upstream?.name ?? null, this.bodyLength, this.bytesOut, Math.round((end - this.startedAt) * 100) / 100, outcome);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * What a paused upstream leg holds: undici puts the unparsed rest of the chunk back into the socket
 * (socket.unshift) and stops reading, so node's read buffer keeps at most its high-water mark.
 */
const PAUSED_UPSTREAM_BYTES = 16 * 1024;
/** How long a reset SSE stream may take to deliver its last event before the socket is destroyed. */
const RESET_GRACE_MS = 1_000;

function endSseWithin(res: ServerResponse, last: string): void {
  res.end(last);
  const socket = res.socket;
  if (socket !== null && !socket.destroyed) setTimeout(destroySocket, RESET_GRACE_MS, socket).unref();
}
function destroySocket(s: { destroyed: boolean; destroy(): void }): void { if (!s.destroyed) s.destroy(); }

// The access-log writer of the (usually only) context, made once rather than looked up per request.
let accessCtx: ProxyContext | null = null;
let accessWriter: AccessLog | null = null;
function accessLogFor(ctx: ProxyContext): AccessLog | null {
  if (ctx !== accessCtx) {
    accessCtx = ctx;
    accessWriter = createAccessLog(ctx.log);
  }
  return accessWriter;
}

/** The body parsed for its span when the request phase had no reason to parse it (traced requests only). */
function jsonForSpan(body: Buffer | null, ct: string | undefined): unknown {
  if (body === null || !isJsonType(ct)) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isJsonType(ct: string | undefined): boolean {
  return ct === undefined || ct.includes('json');
}

function isConnectFailure(code: string): boolean {
  return code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

function describe(code: string, err: Error): string {
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': case 'UND_ERR_SOCKET': return 'connection reset';
    case 'UND_ERR_CONNECT_TIMEOUT': return 'connect timed out';
    case 'UND_ERR_HEADERS_TIMEOUT': return 'no response headers in time';
    default: return code || err.message;
  }
}

/** FNV-1a over the session ID, for sticky balancing (HTTP and WebSocket). */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// Shared listeners: `this` is the emitter; the exchange hangs off it.
function onReqData(this: IncomingMessage, chunk: Buffer): void { (this as Tagged)[kExchange]!.onBodyChunk(chunk); }
function onReqEnd(this: IncomingMessage): void { (this as Tagged)[kExchange]!.onBodyEnd(); }
function onResClose(this: ServerResponse): void { (this as Tagged)[kExchange]!.onClientClose(); }
/** res 'drain' → resume the upstream read paused by backpressure */
function onResDrain(this: ServerResponse): void { (this as Tagged)[kExchange]?.onDrain(); }

