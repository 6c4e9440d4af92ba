// The answer's body on its way to the client (an Exchange, exchange.ts), between the response
// filter and the client:
// - an answer in gzip, deflate or br is decoded (response-decoding.ts), so the policy, the tool
//   watch, the meter and the capture read what the client receives;
// - a whole JSON answer that a rule may refuse or rewrite is held (held-answer.ts) until scanned,
//   then released, released redacted, or refused with 403 policy_violation;
// - a response rule's verdict: `block` ends this answer only (the session stays active), `redact`
//   rewrites a held answer, `terminate` ends the session.
// exchange.ts calls in at a few points (answerFilter, answerData, answerComplete, answerVerdict,
// holdChunk, releaseHeld); decoded bytes come back through bodyChunk/bodyEnd.
import { ERR, sseErrorEvent, type ProxyError } from '../errors/index.js';
import { bodyKind } from '../policy/inspector.js';
import type { Hit } from '../policy/types.js';
import { dropHeader } from './headers.js';
import { Stage } from './exchange-request.js';
import { UpstreamPhases } from './exchange-upstream.js';
import { HeldAnswer } from './held-answer.js';
import { answerCoding, ResponseDecoder, type DecodeHost } from './response-decoding.js';
import { applyHits, type Verdict } from './verdict.js';

export abstract class AnswerPhases extends UpstreamPhases implements DecodeHost {
  /** set when the answer is in a coding the policy reads only decoded */
  protected decoder: ResponseDecoder | null = null;
  /** set while a whole answer is held for the policy */
  protected held: HeldAnswer | null = null;

  /** the body filter and everything after it, on bytes as the client receives them */
  protected abstract bodyChunk(chunk: Buffer): boolean;
  /** the upstream's body is over (and decoded) */
  protected abstract bodyEnd(): void;
  /** writes to the client with the stream's backpressure (false: pause the upstream) */
  protected abstract writeOut(chunk: Buffer): boolean;

  /**
   * Something reads this answer's body: response rules or tool governance. Then the upstream was
   * offered only codings the policy reads (body-encoding.ts), and the answer is decoded. With
   * nothing reading it, an answer passes as it came, in any coding.
   */
  protected readsAnswer(): boolean {
    return (this.policy !== null && this.policy.hasResponseRules) || this.toolsWatch;
  }

  /**
   * Response filter: sets up decoding (dropping Content-Encoding and Content-Length from the
   * client's head) and the hold; refuses an answer in a coding the policy cannot read.
   */
  protected answerFilter(status: number, headers: string[]): ProxyError | null {
    const value = this.contentTypeOut.contentEncoding;
    if (value !== undefined && this.readsAnswer()) {
      const c = answerCoding(value);
      if (c === 'unreadable') return ERR.answerEncoding(value);
      if (c !== null) {
        this.decoder = new ResponseDecoder(c, this.ctx.cfg.max_body, this);
        dropHeader(headers, 'content-encoding');
        dropHeader(headers, 'content-length');
      }
    }
    const p = this.policy;
    // Streams are not held (SSE redaction holds back only open matches, elsewhere); audit mode
    // changes no answer; a HEAD, 204 or 304 has no body.
    if (p !== null && p.actsOnResponses && !this.isSse && this.ctx.cfg.mode !== 'audit' && this.req.method !== 'HEAD'
      && status !== 204 && status !== 304 && bodyKind(this.contentTypeOut.contentType) === 'json' && !this.askedToStream()) {
      this.held = new HeldAnswer(this.ctx.cfg.policy.hold_response_max);
      this.held.head(status, headers);
    }
    return null;
  }

  /**
   * The request asked for a stream: `"stream": true`, or Gemini's `:streamGenerateContent`, whose
   * JSON array arrives piece by piece. Such an answer is inspected as it passes, never held.
   */
  private askedToStream(): boolean {
    const j = this.json as { stream?: unknown } | null | undefined;
    return (typeof j === 'object' && j !== null && j.stream === true) || this.target.includes(':streamGenerateContent');
  }

  /** An upstream chunk: decoded first when the answer is encoded. */
  protected answerData(chunk: Buffer): boolean {
    return this.decoder === null ? this.bodyChunk(chunk) : this.decoder.write(chunk);
  }

  protected answerComplete(): void {
    if (this.decoder === null) this.bodyEnd();
    else this.decoder.end();
  }

  /** the client drained: an encoded answer's decoder produces again (its drain resumes the upstream) */
  protected answerDrained(): boolean {
    if (this.decoder === null) return false;
    this.decoder.resume();
    return true;
  }

  protected answerBytes(): number {
    return (this.decoder === null ? 0 : this.decoder.bytes()) + (this.held === null ? 0 : this.held.bytes());
  }

  protected answerDone(): void {
    if (this.decoder !== null) { this.decoder.destroy(); this.decoder = null; }
    this.held = null;
  }

  // ---- verdicts ----------------------------------------------------------------------------------
  /** Records response hits; false when the chunk must not reach the client (the answer ended). */
  protected answerHits(hits: Hit[]): Verdict | null {
    // a held whole answer is rewritten at release; a holding-back stream has rewritten already
    return applyHits(this.ctx, this.slot, this.sessionId!, hits, 'response', this.held !== null || this.inspector?.holdsBack === true);
  }

  /** Carries out a refusing or rewriting verdict; false when the answer ended on it. */
  protected answerVerdict(v: Verdict, hits: Hit[]): boolean {
    if (v.kind === 'rate') return true;
    if (v.kind === 'terminate') {
      // ends every exchange of the session, this one included (endBySession)
      this.ctx.counters.blocked++;
      this.ctx.gate.terminate(this.slot, v.rule);
      return false;
    }
    if (v.kind === 'redact' && this.held !== null) {
      for (const h of hits) if (h.action === 'redact') (this.held.redactHits ??= []).push(h);
      return true;
    }
    // the stream's hold-back (sse-hold.ts) replaced the match before it went out
    if (v.kind === 'redact') return true;
    this.refuseAnswer(v.rule);
    return false;
  }

  /**
   * `block` on an answer: this answer ends with policy_violation and the session stays active. A
   * held answer (nothing sent yet) gets the 403 JSON; a stream its `event: error`; other started
   * answers are closed.
   */
  protected refuseAnswer(rule: string): void {
    const err = ERR.responseBlocked(rule);
    this.held = null;
    this.ctx.counters.blocked++;
    if (!this.res.headersSent) return this.fail(err);
    this.ctx.onReject(err.type);
    if (this.isSse) this.res.end(sseErrorEvent(err));
    else this.res.destroy();
    this.finish(err.code);
  }

  // ---- the held answer ---------------------------------------------------------------------------
  /** A chunk of a held answer. Past hold_response_max it is let go: head and bytes so far, then streamed. */
  protected holdChunk(chunk: Buffer): boolean {
    const h = this.held!;
    if (h.add(chunk)) return true;
    // a redaction needs the whole answer: one that outgrew the hold is refused instead
    if (h.redactHits !== null) { this.refuseAnswer(h.redactHits[0].rule); return false; }
    this.held = null;
    this.res.writeHead(h.status, h.headers ?? []);
    let ok = true;
    for (const c of h.take()) {
      this.capture?.write(c);
      ok = this.writeOut(c);
    }
    return ok;
  }

  /** The held answer is whole and scanned: released, redacted, or refused when a match cannot be located. */
  protected releaseHeld(): void {
    const h = this.held!;
    this.held = null;
    let body = h.body();
    const rules = h.redactRules();
    if (rules !== null) {
      const out = this.policy!.redactAnswer(body, this.contentTypeOut.contentType, rules);
      if (out === null) {
        // the event says what was done: the redaction could not be made, so the answer is refused
        const first = h.redactHits![0];
        applyHits(this.ctx, this.slot, this.sessionId!, [{ ...first, action: 'block' }], 'response');
        return this.refuseAnswer(first.rule);
      }
      body = out;
    }
    this.capture?.write(body);
    this.res.writeHead(h.status, h.headFor(body.length));
    this.res.end(body);
    this.finish('ok');
  }

  // ---- DecodeHost --------------------------------------------------------------------------------
  decoded(chunk: Buffer): boolean {
    return this.stage === Stage.Streaming && this.bodyChunk(chunk);
  }

  decodedEnd(): void {
    if (this.stage === Stage.Streaming) this.bodyEnd();
  }

  decodeFailed(reason: 'too_large' | 'malformed'): void {
    if (this.stage !== Stage.Streaming) return;
    const err = reason === 'too_large' ? ERR.answerTooLarge(this.ctx.cfg.max_body) : ERR.answerBadEncoding(this.decoder!.coding);
    this.held = null;
    if (!this.res.headersSent) return this.fail(err);
    // the head is out: an SSE stream gets the error as its last event, other streams are closed
    if (this.isSse) this.res.end(sseErrorEvent(err));
    else this.res.destroy();
    this.finish(err.code);
  }

  decoderDrained(): void {
    if (this.stage === Stage.Streaming) this.resumeUpstream?.();
  }

  // ---- the tool watch writes through the hold ----------------------------------------------------
  /** a tool watch that paused the answer resumes the decoder's output, not only the upstream */
  override toolResume(): void {
    if (this.decoder !== null) this.decoder.resume();
    else super.toolResume();
  }

  override toolWriteHead(status: number, headers: string[]): void {
    if (this.held !== null) this.held.head(status, headers);
    else super.toolWriteHead(status, headers);
  }

  override toolWrite(chunk: Buffer): void {
    if (this.held !== null) this.holdChunk(chunk);
    else super.toolWrite(chunk);
  }

  override toolEnd(): void {
    if (this.held !== null) this.releaseHeld();
    else super.toolEnd();
  }
}
