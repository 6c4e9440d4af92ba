// The request side of an Exchange (exchange.ts), before an upstream is chosen: requestHeadFilter (the head alone),
// the body read (max_body), requestFilter (SessionGate admission, request policy). A refusal is a typed ProxyError.
import { hasDuplicateKeys } from '../protocols/json-keys.js';
import { decodeBody, parseCodings, type DecodeResult } from './body-encoding.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hit, PolicyEngine, StreamInspector } from '../policy/types.js';
import type { Upstream } from './upstreams.js';
import type { AnswerHead } from './headers.js';
import type { CaptureWriter, ProxyContext } from './context.js';
import { ERR, type ProxyError } from '../errors/index.js';
import type { InflightNode } from './inflight.js';
import { applyHits, type Verdict } from './verdict.js';
import { originForm } from './request-target.js';
import { checkFleetRates, type FleetRateClient } from './phases/fleet-rates.js';
import { checkFleetBudgets, type FleetBudgetClient } from './phases/fleet-budgets.js';
import type { BudgetTicket } from '../fleet/budget-types.js';
import type { Span } from '../telemetry/types.js';
import { spanAgent, spanPolicy, spanRequest, spanSessionEnd, spanToolHeld } from '../telemetry/request-span.js';
import type { AccountedStream, StreamKind } from '../memory/streams.js';
import { ToolHook } from '../tools/hook.js';
import { checkKey, isGrant, type KeyGrant } from './key-admit.js';

export const kExchange = Symbol('cordon.exchange');
type Tagged = { [kExchange]?: RequestPhases };

const NO_GRANT: KeyGrant = { key: null, header: null, agent: 0 };

export const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE']);

/** Stage of the exchange; each value allows a known set of next steps. */
/** Declared bodies from this size are copied into one buffer as they arrive (smaller ones come in one chunk). */
const PREALLOC_MIN = 64 * 1024;
/** An upload reserves three times its length: the body, the text JSON.parse reads, and what it makes. */
const UPLOAD_COPIES = 3;

export const enum Stage { ReadingBody, Dispatched, Streaming, Done, Discarding }

export abstract class RequestPhases extends ToolHook implements InflightNode, FleetRateClient, FleetBudgetClient, AccountedStream {
  slot = -1;
  prevInSlot: InflightNode | null = null;
  nextInSlot: InflightNode | null = null;
  prevAcct: AccountedStream | null = null;
  nextAcct: AccountedStream | null = null;
  acctOpenedAt = 0;
  /** the upstream read is paused (client backpressure or the per-stream limit) */
  protected upstreamPaused = false;
  /** performance.now() of the last body chunk (or of the resume after a pause by the gateway) */
  private lastBodyAt = 0;

  protected stage = Stage.ReadingBody;
  sessionId: string | null = null;
  protected readingBody = false;
  /** the second and later chunks of a body that came in several */
  protected chunks: Buffer[] | null = null;
  /** a large body of declared length is copied into one buffer as it comes: no second copy at the end */
  protected fill: Buffer | null = null;
  private declaredLength = -1;
  /** performance.now() since it waits for room in the upload budget (proxy/uploads.ts), else 0 */
  private queuedAt = 0;
  protected bodyLength = 0;
  protected body: Buffer | null = null;
  protected upstream: Upstream | null = null;
  protected abortUpstream: ((err?: Error) => void) | null = null;
  protected resumeUpstream: (() => void) | null = null;
  protected inspector: StreamInspector | null = null;
  protected isSse = false;
  protected drainListening = false;
  status = 0;
  bytesOut = 0;
  /** the request's trace span when it is sampled (telemetry configured) */
  protected span: Span | null = null;
  /** the policy engine in force when the request phase began: kept to the end (config reload) */
  policy: PolicyEngine | null = null;
  readonly startedAt: number;
  upstreamStartedAt = 0;
  upstreamHeadersAt = 0;
  protected capture: CaptureWriter | null = null;
  /** pairs the response capture with its request's (storage request_seq); -1 until one is opened */
  protected captureSeq = -1;
  protected readonly contentTypeOut: AnswerHead = { contentType: undefined, contentEncoding: undefined };
  /** the request-target in origin-form (absolute-form reduced to its path); set by start() */
  protected target = '/';
  /** the body was sent in a Content-Encoding and is forwarded decoded (what the policy read) */
  protected bodyDecoded = false;
  /** the cordon key the request presented, the header it came in, and its agent's number */
  protected grant: KeyGrant = NO_GRANT;
  /** the parsed request body when the request phase parsed it, until the answer's meter opens */
  protected json: unknown = undefined;
  /** the request's places in the fleet's budgets (Redis mode), given back with its cost at the end */
  protected budgetTicket: BudgetTicket | null = null;

  constructor(protected readonly ctx: ProxyContext, readonly req: IncomingMessage, readonly res: ServerResponse) {
    super();
    this.startedAt = performance.now();
    (req as Tagged)[kExchange] = this;
    (res as Tagged)[kExchange] = this;
  }

  start(): void {
    const { ctx, req, res } = this;
    ctx.counters.total++;
    res.on('close', onResClose);
    const tracing = ctx.ops.tracing;
    if (tracing !== null) {
      const tp = req.headers.traceparent;
      this.span = tracing.startSpan(req.method ?? 'GET', typeof tp === 'string' ? tp : undefined, req.headers.tracestate as string | undefined, this.startedAt);
    }
    const err = this.requestHeadFilter();
    if (err !== null) return this.fail(err);
    const declared = req.headers['content-length'];
    const hasBody = declared !== undefined ? Number(declared) > 0 : req.headers['transfer-encoding'] !== undefined || !NO_BODY_METHODS.has(req.method ?? 'GET');
    if (!hasBody) return this.afterBody();
    this.readingBody = true;
    this.lastBodyAt = performance.now();
    if (declared !== undefined) this.declaredLength = Number(declared);
    // held whole for the policy: reserved against the upload budget (proxy/uploads.ts)
    ctx.uploads.add(this, UPLOAD_COPIES * (declared !== undefined ? Number(declared) : ctx.cfg.max_body));
    req.on('data', onReqData);
    req.on('end', onReqEnd);
  }

  // ── phase: request head filter (before any body byte is read) ─────────────────────
  protected requestHeadFilter(): ProxyError | null {
    const { ctx, req } = this;
    const closed = ctx.gate.precheck();
    if (closed !== null) return closed;
    ctx.streams.add(this);
    const target = originForm(req.url ?? '/');
    if (target === null) return ERR.badTarget();
    this.target = target;
    const grant = checkKey(ctx, req.headers);
    if (!isGrant(grant)) return grant;
    this.grant = grant;
    const headerId = req.headers['x-session-id'] ?? req.headers['x-claude-code-session-id'];
    if (headerId !== undefined) {
      if (typeof headerId !== 'string' || !ctx.identity.valid(headerId)) return ERR.badSessionId();
      this.sessionId = headerId;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > ctx.cfg.max_body) {
      this.res.shouldKeepAlive = false;
      return ERR.tooLarge(ctx.cfg.max_body);
    }
    return null;
  }

  /**
   * The X-Session-ID of a refusal made before the session was resolved (413, 415, 401, ...): every
   * response carries one (SPEC), the header's if valid, else the derived client ID; a 400 for a
   * malformed ID has none. Nothing is admitted here: the ID only names the session the body would get.
   */
  protected refusalSessionId(err: ProxyError): string | null {
    if (err.code === 'invalid_session_id') return null;
    const { req } = this;
    const headerId = req.headers['x-session-id'] ?? req.headers['x-claude-code-session-id'];
    if (typeof headerId === 'string' && this.ctx.identity.valid(headerId)) return headerId;
    return this.ctx.identity.derive(req.socket.remoteAddress ?? '', req.headers['user-agent'] ?? '', Date.now());
  }

  onBodyChunk(chunk: Buffer): void {
    if (this.stage !== Stage.ReadingBody || !this.readingBody) return;
    this.lastBodyAt = performance.now();
    this.bodyLength += chunk.length;
    if (this.bodyLength > this.ctx.cfg.max_body) {
      this.readingBody = false;
      this.ctx.uploads.delete(this);
      this.chunks = null;
      this.fill = null;
      this.body = null;
      this.fail(ERR.tooLarge(this.ctx.cfg.max_body));
      this.req.removeListener('data', onReqData);
      // Discard the rest (nothing kept) until it has come in, within timeouts.body: closing now, the client's late
      // bytes would draw a reset that can destroy the unread 413 (a lingering close, RFC 9112 §9.6).
      this.req.resume();
      return;
    }
    if (this.fill !== null || (this.body === null && this.declaredLength >= PREALLOC_MIN && this.declaredLength >= this.bodyLength)) {
      this.fill ??= Buffer.allocUnsafe(this.declaredLength);
      if (this.bodyLength <= this.fill.length) {
        chunk.copy(this.fill, this.bodyLength - chunk.length);
        return;
      }
      // more than declared (node's parser does not let this happen): go on with the chunk list
      this.body = this.fill.subarray(0, this.bodyLength - chunk.length);
      this.fill = null;
    }
    // Most bodies arrive in one chunk: keep it as is; an array only from the second chunk on.
    if (this.body === null) this.body = chunk;
    else if (this.chunks === null) this.chunks = [this.body, chunk];
    else this.chunks.push(chunk);
  }

  onBodyEnd(): void {
    if (this.stage !== Stage.ReadingBody || !this.readingBody) return;
    this.readingBody = false;
    this.ctx.uploads.delete(this);
    if (this.fill !== null) {
      this.body = this.bodyLength === this.fill.length ? this.fill : this.fill.subarray(0, this.bodyLength);
      this.fill = null;
    } else if (this.chunks !== null) {
      this.body = Buffer.concat(this.chunks, this.bodyLength);
      this.chunks = null;
    }
    const enc = this.req.headers['content-encoding'];
    if (enc !== undefined && this.body !== null) return this.decodeRequestBody(enc);
    this.afterBody();
  }

  /** A compressed body is decoded before anything reads it (body-encoding.ts); rare, so a closure is fine. */
  private decodeRequestBody(enc: string): void {
    const codings = parseCodings(enc);
    if (codings === null) return this.fail(ERR.unsupportedEncoding(enc));
    if (codings === undefined) return this.afterBody();
    decodeBody(this.body!, codings, this.ctx.cfg.max_body, (r: DecodeResult) => {
      if (this.stage !== Stage.ReadingBody) return;
      if (!r.ok) return this.fail(r.reason === 'too_large' ? ERR.tooLarge(this.ctx.cfg.max_body) : ERR.badEncoding(enc));
      this.body = r.body;
      this.bodyDecoded = true;
      this.afterBody();
    });
  }

  /** the judge's pending verdict on this request, when it was asked (requestFilter sets it) */
  private judged: Promise<Hit[] | null> | null = null;

  protected afterBody(): void {
    const err = this.requestFilter();
    if (err !== null) return this.fail(err);
    // the tools part answered the request, or holds it for approval (tools/hook.ts)
    if (this.toolsTook) return;
    const judged = this.judged;
    if (judged !== null) {
      this.judged = null;
      return this.afterJudge(judged);
    }
    this.pastRequestFilters();
  }

  /** Past the request filters (and a tool call's approval): the fleet's rate rules, then the upstream. */
  protected pastRequestFilters(): void {
    if (this.ctx.fleetRates.length > 0) return checkFleetRates(this.ctx, this);
    this.fleetBudgets();
  }

  /** Past the rate rules: the fleet's budgets (Redis mode, phases/fleet-budgets.ts), then the upstream. */
  private fleetBudgets(): void {
    const asks = this.ctx.spend.fleetAsks(this.grant.key, this.sessionId!);
    if (asks === null) this.forward(null);
    else checkFleetBudgets(this.ctx.spend.fleet!, asks, this);
  }

  /** @internal admitted (with a ticket to give back at the end) or refused; a kill may have landed meanwhile */
  budgetsDone(ticket: BudgetTicket | null, refusal: ProxyError | null): void {
    this.budgetTicket = ticket;
    const err = refusal ?? this.ctx.gate.refusalOf(this.slot);
    if (err !== null) this.fail(err); else this.forward(null);
  }

  /** `policy.judge`: a doubtful request waits for the guard model's verdict (bounded by its timeout). */
  private afterJudge(judged: Promise<Hit[] | null>): void {
    judged.then((hits) => {
      if (!this.open) return;
      if (hits !== null) {
        const v = applyHits(this.ctx, this.slot, this.sessionId!, hits, 'request');
        if (v !== null) return this.fail(this.verdictError(v));
      }
      if (this.ctx.fleetRates.length > 0) return checkFleetRates(this.ctx, this);
      this.fleetRatesPassed();
    }, () => {
      if (this.open) this.fleetRatesPassed();
    });
  }

  // ── phase: request filter (session identified and admitted, request policy) ────────
  protected requestFilter(): ProxyError | null {
    const { ctx, req } = this;
    const now = Date.now();
    const body = this.body;
    let json: unknown;
    let jsonFailed = false;
    const policy = this.policy = ctx.policy;
    // Parsed for the session ID (no X-Session-ID), request rules or tools; JSON.parse beat a byte scanner on CPU.
    const tools = ctx.tools !== null && ctx.tools.wants(this.grant.key?.tools) ? ctx.tools : null;
    const wantsJson = body !== null && (this.sessionId === null || (policy !== null && policy.hasRequestRules) || tools !== null);
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
    const admitted = ctx.gate.admit({ id: this.sessionId, clientIp: req.socket.remoteAddress ?? '', bytesIn: this.bodyLength, nowMs: now, agent: this.grant.key?.agent ?? null });
    if (typeof admitted !== 'number') return admitted;
    const slot = admitted;
    this.slot = slot;
    ctx.gate.hold(slot);
    const spent = ctx.spend.admit(slot, this.grant.key, this.sessionId, now);
    if (spent !== null) return ERR.budgetExceeded(spent.scope, spent.retryAfter);
    this.json = json;
    if (this.span !== null) {
      spanRequest(this.span, this.sessionId, req.method ?? 'GET', this.target, json ?? jsonForSpan(body, req.headers['content-type']));
      spanAgent(this.span, this.grant.key?.agent);
    }

    if (policy !== null && policy.hasRequestRules) {
      if (jsonFailed && ctx.cfg.mode === 'enforce') return ERR.badJson();
      // JSON.parse keeps the last of a repeated key; a backend may take the first (json-keys.ts).
      if (json !== undefined && ctx.cfg.mode === 'enforce' && hasDuplicateKeys(body!, json)) return ERR.duplicateKey();
      const hits = policy.inspectRequest(slot, body ?? EMPTY, jsonFailed ? undefined : json, this.target, now);
      if (hits !== null) {
        const verdict = applyHits(ctx, this.slot, this.sessionId, hits, 'request');
        if (verdict !== null) return this.verdictError(verdict);
        if (this.span !== null) spanPolicy(this.span, 'flag', hits[0].rule);
      }
      this.judged = policy.judgeRequest(slot);
    }
    // Tools: denied tools removed, MCP calls refused or held for approval (tools/hook.ts).
    if (tools !== null && json !== undefined) this.toolsTook = this.toolsRequest(tools, json, this.sessionId, this.grant.key);
    return null;
  }

  /** @internal the exchange has not ended (fleet-rates.ts asks after its round trip) */
  get open(): boolean { return this.stage !== Stage.Done; }

  /** @internal past the fleet's rate rules; a kill may have landed while the check was out */
  fleetRatesPassed(): void {
    const refusal = this.ctx.gate.refusalOf(this.slot);
    if (refusal !== null) return this.fail(refusal);
    this.fleetBudgets();
  }

  /** @internal */
  fleetRatesRefused(v: Verdict): void {
    this.fail(this.verdictError(v));
  }

  /** The refusal a policy verdict makes; a terminate ends the whole session through the gate. */
  protected verdictError(v: Verdict): ProxyError {
    if (v.kind === 'rate') return ERR.rateLimited(v.rule, v.retryAfter);
    if (this.span !== null) {
      spanPolicy(this.span, v.kind === 'terminate' ? 'terminate' : 'block', v.rule);
      // not in flight yet, so the gate's ending of the session's work does not reach this request
      if (v.kind === 'terminate') spanSessionEnd(this.span, 'session_terminated', v.rule);
    }
    if (v.kind === 'terminate') this.ctx.gate.terminate(this.slot, v.rule);
    this.ctx.counters.blocked++;
    return v.kind === 'terminate' ? ERR.terminated() : ERR.blocked(v.rule);
  }

  /** A tool call of this request or of its answer waits for approval (tools/hook.ts). */
  toolHeld(tool: string, approvalId: string): void {
    if (this.span !== null) spanToolHeld(this.span, tool, approvalId);
  }

  // fail(err): renders a refusal and finishes the exchange (declared by ToolHook, exchange.ts)
  /** Admitted: picks an upstream (or takes `next`, a retry's) and sends (exchange.ts). */
  protected abstract forward(next: Upstream | null): void;
  abstract endBySession(type: 'session_killed' | 'session_terminated' | 'agent_killed'): void;
  abstract endByShutdown(): void;
  /** The client went away (or the response finished). */
  abstract onClientClose(): void;
  abstract acctSessionId(): string | null;
  abstract acctKind(): StreamKind;
  /** An upload the client stopped sending (not one the gateway paused), or one waiting for room: ms since. */
  acctStalledMs(now: number): number {
    if (this.queuedAt > 0) return now - this.queuedAt; // waiting for room in the upload budget
    if (!this.readingBody || this.req.isPaused()) return 0;
    return now - this.lastBodyAt;
  }
  /** Uploads (ctx.uploads) pause and resume the request through its exchange, so a resume restarts the stall clock. */
  pause(): void { this.req.pause(); }
  resume(): void { this.lastBodyAt = performance.now(); this.req.resume(); }
  queued(on: boolean): void { this.queuedAt = on ? performance.now() : 0; }
  abstract bufferedBytes(): number;
  abstract resetForMemory(): void;
}

const EMPTY = Buffer.alloc(0);

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

// Shared listeners: `this` is the emitter; the exchange hangs off it.
function onReqData(this: IncomingMessage, chunk: Buffer): void { (this as Tagged)[kExchange]!.onBodyChunk(chunk); }
function onReqEnd(this: IncomingMessage): void { (this as Tagged)[kExchange]!.onBodyEnd(); }
function onResClose(this: ServerResponse): void { (this as Tagged)[kExchange]!.onClientClose(); }
