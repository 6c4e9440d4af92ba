// One proxied request, from the client's first byte to the access-log line, in phases after
// Pingora's ProxyHttp (docs/architecture.md): requestHeadFilter → (body) → requestFilter
// (exchange-request.ts) → upstreamPeer → upstreamRequestFilter (exchange-upstream.ts) → [undici
// dispatch; this object is the handler] → responseFilter → responseBodyFilter per chunk → logging.
// A phase that refuses returns a typed ProxyError and fail() renders it. All per-request state
// lives on this object (the phases' typed context); listeners are shared module functions that find
// it through a symbol, so the hot path creates no closures per request or per chunk.
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { ERR, metricReason, sendProxyError, sessionEnded, sseErrorEvent, type ProxyError } from '../errors/index.js';
import { downstreamResponseHeaders } from './headers.js';
import type { Hit } from '../policy/types.js';
import { applyHits } from './verdict.js';
import { isGatewayFailure, NO_SESSION } from './outlier.js';
import { hashId } from './hash.js';
import { kExchange, Stage } from './exchange-request.js';
import { AnswerPhases } from './exchange-answer.js';
import { logging, type Finished } from './phases/logging.js';
import { isConnectFailure, upstreamFailure } from './phases/upstream-error.js';
import type { StreamKind } from '../memory/streams.js';
import { spanEnd, spanPolicy, spanSessionEnd } from '../telemetry/request-span.js';
import type { Meter } from '../spend/service.js';

type Tagged = { [kExchange]?: Exchange };

export class Exchange extends AnswerPhases implements Dispatcher.DispatchHandler, Finished {
  /** usage, model and latency of the answer (spend/), from its headers to its end */
  private meter: Meter | null = null;

  // ── undici handler (onConnect: exchange-upstream.ts): response filter, response body filter ──
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.stage === Stage.Done) return false;
    if (statusCode < 200) return true; // 1xx: wait for the final status
    const { ctx, res } = this;
    // Nothing reached the client yet: an answer in `retry.on` is set aside for another upstream's.
    if (statusCode >= 429 && ctx.ops.retry.onStatus(statusCode) && this.planRetry(statusCode)) return true;
    this.stage = Stage.Streaming;
    this.status = statusCode;
    this.resumeUpstream = resume;
    const body = this.body;
    this.body = null; // forwarded: a retry happens only before the response's headers
    ctx.uploads.release(this);
    this.upstreamHeadersAt = performance.now();
    const headers = downstreamResponseHeaders(rawHeaders, this.sessionId!, this.contentTypeOut);
    const ct = this.contentTypeOut.contentType;
    // media types are case-insensitive (RFC 9110 §8.3.1): TEXT/EVENT-STREAM is a stream too
    this.isSse = ct !== undefined && (ct.startsWith('text/event-stream') || ct.toLowerCase().startsWith('text/event-stream'));
    const refusal = this.answerFilter(statusCode, headers);
    if (refusal !== null) {
      this.fail(refusal);
      return false;
    }
    if (this.policy !== null && this.policy.hasResponseRules) {
      this.inspector = this.policy.openResponse(this.slot, ct, this.target);
    }
    if (ctx.capture !== null) this.capture = ctx.capture.open(this.sessionId!, 'response', this.captureSeq < 0 ? undefined : this.captureSeq);
    this.meter = ctx.spend.open(this.startedAt, body, this.json, this.target, this.inspector !== null);
    this.json = undefined;
    // a tool watch (tools/hook.ts) defers the head of a whole JSON answer until it is judged, and
    // a held answer's head waits for its body (exchange-answer.ts)
    if (!this.toolsHead(statusCode, headers, ct, this.isSse, this.sessionId!) && this.held === null) {
      res.writeHead(statusCode, headers);
      if (this.isSse) res.flushHeaders();
    }
    if (isGatewayFailure(statusCode)) ctx.upstreams.failed(this.upstream!, Date.now(), `status ${statusCode}`, hashId(this.sessionId!));
    else ctx.upstreams.succeeded(this.upstream!, Date.now());
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.stage !== Stage.Streaming) return this.stage === Stage.Discarding && this.discard(chunk.length);
    return this.answerData(chunk);
  }

  /** One chunk of the body as the client receives it (decoded: exchange-answer.ts). */
  protected bodyChunk(data: Buffer): boolean {
    this.bytesOut += data.length;
    if (!this.responseBodyFilter(data)) return false;
    // a hold-back sends the text that cannot complete a match: the chunk itself, most of the time
    const chunk = this.inspector?.holdsBack === true ? this.inspector.take!() : data;
    if (chunk === null) return true;
    // a held answer is captured as released (redacted), not as it came (exchange-answer.ts)
    if (this.capture !== null && this.held === null) this.capture.write(chunk);
    this.meter?.write(chunk);
    if (this.toolWatch !== null) {
      const flow = this.toolWatch.write(chunk);
      if (flow !== 0) return flow === 1; // taken by the watch; 2 (pause) and 3 (ended) stop the read
    }
    return this.held === null ? this.writeOut(chunk) : this.holdChunk(chunk);
  }

  protected writeOut(chunk: Buffer): boolean {
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

  /** false when the chunk must not reach the client (a rule ended the answer or the session on it). */
  private responseBodyFilter(chunk: Buffer): boolean {
    if (this.inspector === null) return true;
    const hits = this.inspector.write(chunk);
    return hits === null || this.responseHits(hits);
  }

  /** Records the hits; false when the answer ended on them (exchange-answer.ts carries out the verdict). */
  private responseHits(hits: Hit[]): boolean {
    const v = this.answerHits(hits);
    if (v === null && this.span !== null) spanPolicy(this.span, 'flag', hits[0].rule);
    if (v === null || v.kind === 'rate') return true;
    // The chunk that completed the match is withheld: the client never sees the match whole.
    if (this.span !== null) spanPolicy(this.span, v.kind, v.rule);
    return this.answerVerdict(v, hits);
  }

  onComplete(): void {
    if (this.stage === Stage.Discarding) return this.retryNow();
    if (this.stage === Stage.Streaming) this.answerComplete();
  }

  protected bodyEnd(): void {
    if (this.inspector !== null) {
      const hits = this.inspector.end();
      if (hits !== null && !this.responseHits(hits)) return;
      const tail = this.inspector.holdsBack === true ? this.inspector.takeEnd!() : null;
      if (tail !== null) this.res.write(tail);
    }
    // a tool watch holding the end (a call waiting for approval) ends the response itself
    if (this.toolWatch !== null && this.toolWatch.end() !== 0) return;
    if (this.held !== null) return this.releaseHeld();
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
      this.ctx.upstreams.failed(up, now, code || err.message, isConnectFailure(code) ? NO_SESSION : hashId(this.sessionId!));
      // A refused or failed connection never reached the backend: safe to try another.
      if (isConnectFailure(code) && this.ctx.ops.retry.onConnect) {
        up.outstanding++; // planRetry takes this attempt off the upstream again
        if (this.planRetry(0)) return this.retryNow();
        up.outstanding--;
      }
      this.upstream = null;
      this.fail(upstreamFailure(code, err));
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
    if (this.answerDrained()) return;
    if (r !== null && this.stage === Stage.Streaming) r();
  }

  // ── the stream's memory account (memory/streams.ts) ───────────────────────────────
  acctSessionId(): string | null { return this.sessionId; }
  acctKind(): StreamKind {
    return this.stage === Stage.ReadingBody ? 'upload' : this.isSse ? 'sse' : 'http';
  }
  bufferedBytes(): number {
    const body = this.stage === Stage.ReadingBody ? this.bodyLength : this.body !== null ? this.body.length : 0;
    return this.res.writableLength + body + (this.upstreamPaused ? PAUSED_UPSTREAM_BYTES : 0)
      + (this.inspector !== null ? this.inspector.bytes() : 0) + this.answerBytes();
  }
  /** Critical memory: an SSE stream gets `event: error` overloaded, a started response is cut, others get 503. */
  resetForMemory(): void {
    if (this.stage === Stage.Done) return;
    this.chunks = this.fill = null;
    if (this.stage === Stage.Streaming && this.res.headersSent) {
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
  endBySession(type: 'session_killed' | 'session_terminated' | 'agent_killed'): void {
    if (this.stage === Stage.Done) return;
    const err = sessionEnded(type);
    if (this.span !== null) spanSessionEnd(this.span, type);
    if (this.stage === Stage.Streaming && this.res.headersSent) {
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
    if (this.stage === Stage.Streaming && this.res.headersSent) {
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

  protected fail(err: ProxyError): void {
    if (this.stage === Stage.Done) return;
    this.status = err.status;
    this.ctx.onReject(metricReason(err));
    sendProxyError(this.res, err, this.sessionId ?? this.refusalSessionId(err));
    this.finish(err.code);
  }

  protected finish(outcome: string): void {
    if (this.stage === Stage.Done) return;
    // A Discarding try was taken off its upstream already (planRetry).
    const wasDispatched = this.stage === Stage.Dispatched || this.stage === Stage.Streaming;
    this.stage = Stage.Done;
    this.toolsDone();
    this.answerDone();
    const { ctx } = this;
    ctx.streams.remove(this);
    this.readingBody = false; ctx.uploads.release(this);
    if (this.abortUpstream !== null && outcome !== 'ok') this.abortUpstream();
    if (wasDispatched && this.upstream !== null) this.upstream.outstanding--;
    if (this.capture !== null) {
      // A body cut by a kill, a rule, an error or the client is not stored as complete.
      if (outcome === 'ok') this.capture.end();
      else this.capture.abort();
      this.capture = null;
    }
    const meter = this.meter;
    if (this.slot >= 0) {
      ctx.inflight.remove(this);
      ctx.gate.release(this.slot, this.bodyLength, this.bytesOut, this.inspector?.tokens ?? 0, Date.now());
      if (this.inspector !== null && this.policy !== null) {
        // end() is idempotent: on kill, abort and error paths it releases the stream's scanner state.
        this.inspector.end();
        const hits = this.policy.settleResponse(this.slot, this.inspector.tokens, this.inspector.toolCalls, Date.now());
        if (hits !== null) applyHits(ctx, this.slot, this.sessionId!, hits, 'response');
      }
      if (meter !== null || this.budgetTicket !== null) {
        ctx.spend.settle(this.slot, this.grant.agent, this.grant.key, this.sessionId!, meter, performance.now(),
          this.inspector !== null ? this.inspector.toolCalls : -1, this.budgetTicket);
        this.budgetTicket = null;
      }
    }
    this.meter = null;
    if (this.span !== null) {
      spanEnd(this.span, this.status || this.res.statusCode, outcome, meter, performance.now());
      this.span = null;
    }
    this.inspector = null;
    this.policy = null;
    this.json = undefined;
    this.resumeUpstream = null;
    this.abortUpstream = null;
    this.body = this.fill = null;
    if (this.status === 0) this.status = this.res.statusCode;
    logging(ctx, this, outcome);
  }

  // what the logging phase reads (Finished)
  get method(): string { return this.req.method ?? 'GET'; }
  get url(): string { return this.req.url ?? '/'; }
  get upstreamIndex(): number { return this.upstream?.index ?? -1; }
  get upstreamName(): string | null { return this.upstream?.name ?? null; }
  get bytesIn(): number { return this.bodyLength; }
}

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

// Shared listeners: `this` is the emitter; the exchange hangs off it.
/** res 'drain' → resume the upstream read paused by backpressure */
function onResDrain(this: ServerResponse): void { (this as Tagged)[kExchange]?.onDrain(); }
