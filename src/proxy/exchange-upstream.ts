// The upstream side of one proxied request (an Exchange, exchange.ts): once admitted, the phases
// that pick an upstream and send the request to it (upstreamPeer → upstreamRequestFilter → undici
// dispatch), and the retries that set an answer aside for another upstream's (retry.ts).
import { fixCodingHeaders } from './body-encoding.js';
import type { Upstream } from './upstreams.js';
import { ERR } from '../errors/index.js';
import { upstreamRequestHeaders } from './headers.js';
import { isGatewayFailure } from './outlier.js';
import { hashId } from './hash.js';
import { NO_BODY_METHODS, RequestPhases, Stage } from './exchange-request.js';
import { DISCARD_MAX_BYTES, nextUpstream, retryReason, rewriteModel } from './retry.js';
import { traceparentOf } from '../telemetry/types.js';
import { setTraceparent, spanAttempt, spanRetry } from '../telemetry/request-span.js';
import { requestCredential } from '../auth/upstream-auth.js';
import type { Dispatcher } from 'undici';

export abstract class UpstreamPhases extends RequestPhases implements Dispatcher.DispatchHandler {
  /** something reads the answer's body: the upstream is offered only codings it can decode (exchange-answer.ts) */
  protected abstract readsAnswer(): boolean;
  /** tries so far on upstreams (retries: src/proxy/retry.ts) */
  private attempt = 1;
  /** upstreams tried before the current one, from the first retry on */
  private tried: Upstream[] | null = null;
  /** the upstream the next try goes to, chosen when an answer is set aside for it */
  private retryTo: Upstream | null = null;
  private discarded = 0;

  /**
   * Admitted: registered for kills, then an upstream is picked and the request sent. `next`: the
   * upstream a retry goes to (already registered); null for the first try, which the balancer picks.
   */
  protected forward(next: Upstream | null): void {
    // Registered before dispatch so that a kill arriving from now on reaches this exchange.
    if (next === null) this.ctx.inflight.add(this);
    const up = next ?? this.upstreamPeer();
    if (up === null) return this.fail(ERR.noUpstream());
    this.upstreamRequestFilter(up);
  }

  // ── phase: upstream peer ──────────────────────────────────────────────────────────
  private upstreamPeer(): Upstream | null {
    const ups = this.ctx.upstreams;
    return ups.pick(Date.now(), ups.balance === 'sticky' ? hashId(this.sessionId!) : 0, null);
  }

  // ── phase: upstream request filter (headers, request capture), then dispatch ─────
  private upstreamRequestFilter(up: Upstream): void {
    const { ctx, req } = this;
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
      h.connection, h['x-forwarded-for'] as string | undefined, requestCredential(up.credential, this.grant.header));
    fixCodingHeaders(headers, this.bodyDecoded, this.readsAnswer());
    if (this.span !== null) {
      spanAttempt(this.span, up.name, this.attempt, up.model);
      setTraceparent(headers, traceparentOf(this.span));
    }
    if (ctx.capture !== null && this.body !== null && this.captureSeq < 0) {
      const w = ctx.capture.open(this.sessionId!, 'request');
      if (w !== null) { this.captureSeq = w.requestSeq; w.write(this.body); w.end(); }
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

  /** undici's first handler call: the abort a kill, an ending or a discarded answer uses. */
  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.stage === Stage.Done) abort();
  }

  // ── retries (src/proxy/retry.ts) ─────────────────────────────────────────────────────
  /**
   * Sets the current try aside for a retry when one is allowed: attempts left, the deadline not
   * passed, and a healthy upstream not tried yet. `status` 0 is a connection that failed.
   */
  protected planRetry(status: number): boolean {
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
  protected discard(n: number): boolean {
    this.discarded += n;
    if (this.discarded > DISCARD_MAX_BYTES && this.abortUpstream !== null) this.abortUpstream();
    return true;
  }

  /** The set-aside try is over (drained, cut, or never connected): send the next. */
  protected retryNow(): void {
    const next = this.retryTo!;
    this.retryTo = null;
    this.upstream = null;
    this.abortUpstream = null;
    this.resumeUpstream = null;
    this.attempt++;
    const refusal = this.ctx.gate.refusalOf(this.slot);
    if (refusal !== null) return this.fail(refusal);
    this.forward(next);
  }
}
