// Watches an answer for tool governance. Three shapes:
// - a model's streamed answer (SSE): chunks flow untouched until a tool call starts; from the chunk
//   carrying it they are withheld until the call is complete, then judged: passed on, refused
//   (denied tool: policy_violation), or held for approval (upstream paused; approve → the withheld
//   chunks go out and the stream resumes; deny or timeout → `event: error` approval_denied);
// - a model's whole JSON answer: buffered (bounded), judged, then sent or refused;
// - an MCP tools/list result (JSON or SSE-framed): denied and poisoned tools are removed from it.
import { SseDecoder, type SseSink } from '../protocols/sse.js';
import type { Hit } from '../policy/types.js';
import { CallTracker, callsInBody, type ToolCall } from './calls.js';
import { Watch, type ToolCaller, type ToolGate } from './gate.js';
import { toolName } from './request.js';

/** What the exchange does with the chunk it handed in. */
export const enum Flow {
  /** write it on as usual */
  Pass = 0,
  /** the watch took it (withheld, or written by the watch itself); keep reading */
  Taken = 1,
  /** taken, and stop reading the upstream until the watch resumes it */
  Pause = 2,
  /** the watch ended the response (refused) */
  Ended = 3,
}

/** What a watch needs from the exchange that owns the response. */
export interface WatchHost {
  toolWriteHead(status: number, headers: string[]): void;
  toolWrite(chunk: Buffer): void;
  toolResume(): void;
  /** the upstream finished while the watch held its end: finish the response now */
  toolEnd(): void;
  /** ends the response with a gateway error (a JSON answer if no byte went out, else `event: error`) */
  toolFail(status: number, type: string, code: string, message: string): void;
  /**
   * Records hits; with `enforce`, true when their verdict refuses the response (it has then been
   * ended). Without, only a terminate acts (the watch already did what a block asks).
   */
  toolHits(hits: Hit[], enforce: boolean): boolean;
}

const enum St { Passing, Collecting, Waiting, Done }
const MARK_TOOL = Buffer.from('tool');
const MARK_FUNCTION = Buffer.from('function');
const DONE = '[DONE]';

export class ToolWatch implements SseSink {
  private state = St.Passing;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly sse: SseDecoder | null;
  private readonly tracker: CallTracker | null;
  private event: Buffer[] = [];
  private eventBytes = 0;
  private head: { status: number; headers: string[] } | null = null;
  private upstreamDone = false;
  private queue: ToolCall[] = [];
  private holdId: string | null = null;
  private accounted = 0;
  /** SSE MCP answers: bytes of the event not yet complete */
  private partial: Buffer | null = null;

  constructor(
    private readonly gate: ToolGate,
    private readonly host: WatchHost,
    private readonly caller: ToolCaller,
    private readonly watch: Watch,
    private readonly isSse: boolean,
  ) {
    this.sse = isSse && watch === Watch.ModelCalls ? new SseDecoder(this) : null;
    this.tracker = this.sse !== null ? new CallTracker() : null;
  }

  /** A JSON answer is held whole; its head waits with it. Returns true when the head was deferred. */
  deferHead(status: number, headers: string[]): boolean {
    if (this.isSse) return false;
    this.head = { status, headers };
    return true;
  }

  write(chunk: Buffer): Flow {
    if (this.state === St.Done) return Flow.Taken;
    if (!this.isSse) return this.take(chunk) ? Flow.Taken : Flow.Ended;
    if (this.watch === Watch.McpList) return this.mcpSse(chunk);
    this.sse!.write(chunk);
    if (this.state === St.Waiting) {
      // chunks undici had already read when it paused: withheld behind the call that waits
      if (!this.take(chunk)) return Flow.Ended;
      return Flow.Pause;
    }
    if (this.state === St.Passing && (this.tracker!.open.size > 0 || this.tracker!.done.length > 0)) this.state = St.Collecting;
    if (this.state === St.Passing) return Flow.Pass;
    if (!this.take(chunk)) return Flow.Ended;
    this.queue.push(...this.tracker!.done.splice(0));
    return this.advance();
  }

  /** The upstream finished. Pass: the exchange ends the response; Taken: the watch will (toolEnd). */
  end(): Flow {
    if (this.state === St.Done) return Flow.Taken;
    this.upstreamDone = true;
    if (!this.isSse) return this.finishWhole();
    if (this.watch === Watch.McpList) {
      if (this.partial !== null) { this.host.toolWrite(this.partial); this.partial = null; }
      this.release();
      return Flow.Pass;
    }
    this.sse!.end();
    this.tracker!.completeAll();
    if (this.state === St.Waiting) return Flow.Taken; // decided() ends it
    this.queue.push(...this.tracker!.done.splice(0));
    if (this.state === St.Passing && this.queue.length === 0) { this.release(); return Flow.Pass; }
    const f = this.advance();
    if (f === Flow.Ended || f === Flow.Pause) return Flow.Taken;
    this.release();
    return Flow.Pass;
  }

  /** The exchange is over (client gone, kill, error): a pending approval is withdrawn. */
  close(): void {
    this.state = St.Done;
    if (this.holdId !== null) this.gate.approvals.cancel(this.holdId);
    this.holdId = null;
    this.release();
  }

  bytes(): number {
    return 256 + this.heldBytes + this.eventBytes + (this.tracker?.bytes() ?? 0);
  }

  // ---- SseSink: one event's data, parsed only when it may carry a tool call ----------------------
  sseData(chunk: Buffer, start: number, end: number): void {
    if (this.eventBytes + (end - start) > this.gate.holdBytes) return; // judged too large below
    this.event.push(chunk.subarray(start, end));
    this.eventBytes += end - start;
  }

  sseDataNewline(): void {
    this.event.push(NEWLINE);
    this.eventBytes += 1;
  }

  sseEventEnd(): void {
    const data = this.event.length === 1 ? this.event[0] : Buffer.concat(this.event, this.eventBytes);
    this.event = [];
    this.eventBytes = 0;
    const t = this.tracker!;
    if (t.open.size === 0 && data.indexOf(MARK_TOOL) < 0 && data.indexOf(MARK_FUNCTION) < 0) return;
    const s = data.toString('utf8').trim();
    if (s === DONE) return t.completeAll();
    let parsed: unknown;
    try { parsed = JSON.parse(s); } catch { return; }
    t.event(parsed);
  }

  // ---- internals -----------------------------------------------------------------------------------
  private take(chunk: Buffer): boolean {
    if (this.heldBytes + chunk.length > this.gate.holdBytes) {
      this.fail(502, 'policy_violation', 'tool_check_too_large', `the answer holds more than ${this.gate.holdBytes} bytes before its tool call could be checked`);
      return false;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    this.account();
    return true;
  }

  /** Judges queued calls in order until one must wait. */
  private advance(): Flow {
    while (this.queue.length > 0) {
      const call = this.queue.shift()!;
      if ((call as { tooLarge?: boolean }).tooLarge) {
        this.fail(403, 'policy_violation', 'tool_call_too_large', `a tool call's arguments are over the size the gateway checks`);
        return Flow.Ended;
      }
      const v = this.gate.judgeCall(call.name, call.args, this.caller, 'response', Date.now());
      if (v.denied) {
        this.fail(403, 'policy_violation', 'tool_not_allowed', `the model called "${call.name}", which policy does not allow`);
        return Flow.Ended;
      }
      if (v.hits !== null && this.host.toolHits(v.hits, true)) {
        this.state = St.Done;
        this.release();
        return Flow.Ended;
      }
      if (v.holdRule !== null) {
        const h = this.gate.hold(call.name, call.args, v.holdRule.name, this.caller, this.heldBytes);
        if (h.id === null) {
          this.fail(403, 'approval_denied', 'approval_denied', 'too many tool calls of this session are waiting for approval');
          return Flow.Ended;
        }
        this.holdId = h.id;
        this.state = St.Waiting;
        h.decision.then((d) => this.decided(d), () => this.decided('denied'));
        return Flow.Pause;
      }
    }
    // nothing waits: what was withheld goes out once no call is still streaming
    if (this.tracker !== null && this.tracker.open.size > 0) return Flow.Taken;
    this.flushHeld();
    this.state = St.Passing;
    return Flow.Taken;
  }

  private decided(d: 'approved' | 'denied' | 'expired'): void {
    if (this.state !== St.Waiting) return;
    this.holdId = null;
    if (d !== 'approved') {
      this.fail(403, 'approval_denied', 'approval_denied', d === 'expired' ? 'the tool call was not approved in time' : 'the tool call was denied by an operator');
      return;
    }
    this.state = St.Collecting;
    if (this.tracker !== null) this.queue.push(...this.tracker.done.splice(0));
    const f = this.advance();
    if (f === Flow.Ended || f === Flow.Pause) return;
    if ((this.state as St) !== St.Passing) { if (!this.upstreamDone) this.host.toolResume(); return; }
    if (this.upstreamDone) {
      if (!this.isSse && this.head !== null) this.writeHead(-1);
      this.state = St.Done;
      this.release();
      this.host.toolEnd();
    } else {
      this.host.toolResume();
    }
  }

  private flushHeld(): void {
    if (!this.isSse && this.head !== null) this.writeHead(-1);
    for (const c of this.held) this.host.toolWrite(c);
    this.held = [];
    this.heldBytes = 0;
    this.account();
  }

  private writeHead(length: number): void {
    const h = this.head!;
    this.head = null;
    if (length >= 0) setContentLength(h.headers, length);
    this.host.toolWriteHead(h.status, h.headers);
  }

  /** A whole JSON answer is in: judge its calls (model) or filter its tools (MCP). */
  private finishWhole(): Flow {
    const body = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.heldBytes);
    let parsed: unknown;
    try { parsed = JSON.parse(body.toString('utf8')); } catch { parsed = undefined; }
    if (this.watch === Watch.McpList) {
      const out = parsed === undefined ? null : this.filterList(parsed);
      if (this.state === St.Done) return Flow.Taken;
      this.held = out === null ? [body] : [Buffer.from(JSON.stringify(out))];
      this.heldBytes = this.held[0].length;
      this.writeHead(out === null ? -1 : this.heldBytes);
      for (const c of this.held) this.host.toolWrite(c);
      this.release();
      return Flow.Pass;
    }
    this.held = [body];
    this.state = St.Collecting;
    if (parsed !== undefined) this.queue = callsInBody(parsed);
    const f = this.advance();
    if (f === Flow.Ended) return Flow.Taken;
    if (f === Flow.Pause) return Flow.Taken;
    this.release();
    return Flow.Pass;
  }

  /** An SSE-framed MCP answer: each complete event is rewritten if it is a tools/list result. */
  private mcpSse(chunk: Buffer): Flow {
    let buf = this.partial === null ? chunk : Buffer.concat([this.partial, chunk]);
    this.partial = null;
    let from = 0;
    for (;;) {
      const end = eventEnd(buf, from);
      if (end < 0) break;
      const ev = buf.subarray(from, end);
      this.host.toolWrite(this.rewriteEvent(ev));
      from = end;
    }
    if (from < buf.length) {
      buf = buf.subarray(from);
      if (buf.length > this.gate.holdBytes) {
        this.fail(502, 'policy_violation', 'tool_check_too_large', 'an MCP event is larger than the gateway checks');
        return Flow.Ended;
      }
      this.partial = Buffer.from(buf);
    }
    this.heldBytes = this.partial?.length ?? 0;
    this.account();
    return Flow.Taken;
  }

  private rewriteEvent(ev: Buffer): Buffer {
    const text = ev.toString('utf8');
    const lines = text.split(/\r?\n/);
    let changed = false;
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].startsWith('data:')) continue;
      let parsed: unknown;
      try { parsed = JSON.parse(lines[i].slice(5)); } catch { continue; }
      const out = this.filterList(parsed);
      if (out !== null) { lines[i] = `data: ${JSON.stringify(out)}`; changed = true; }
    }
    return changed ? Buffer.from(lines.join('\n')) : ev;
  }

  /** Removes denied and blocked-poisoned tools from a JSON-RPC tools/list result; null when unchanged. */
  private filterList(msg: unknown): unknown {
    if (Array.isArray(msg)) {
      let changed = false;
      const out = msg.map((m) => { const r = this.filterList(m); if (r !== null) changed = true; return r ?? m; });
      return changed ? out : null;
    }
    const result = (msg as { result?: { tools?: unknown } } | null)?.result;
    if (result === null || typeof result !== 'object' || !Array.isArray(result.tools)) return null;
    const kept: unknown[] = [];
    let hits: Hit[] | null = null;
    for (const def of result.tools) {
      const name = toolName(def);
      if (name !== null && !this.gate.permits(name, this.caller)) continue;
      const h = this.gate.descRules.length > 0 ? this.gate.describe(def, 'response') : null;
      if (h !== null) {
        for (const x of h) (hits ??= []).push(x);
        // `block` on a description removes that tool from the list; `flag` only records it
        if (!this.gate.audit && h.some((x) => x.action === 'block' || x.action === 'terminate')) continue;
      }
      kept.push(def);
    }
    if (hits !== null && this.host.toolHits(hits, false)) { this.state = St.Done; return null; }
    if (kept.length === result.tools.length) return null;
    return { ...(msg as object), result: { ...result, tools: kept } };
  }

  private fail(status: number, type: string, code: string, message: string): void {
    if (this.state === St.Done) return;
    this.state = St.Done;
    this.holdId = null;
    this.release();
    if (this.head !== null) this.head = null;
    this.host.toolFail(status, type, code, message);
  }

  private release(): void {
    this.held = [];
    this.heldBytes = 0;
    this.event = [];
    this.eventBytes = 0;
    this.account();
  }

  private account(): void {
    const b = this.heldBytes === 0 && this.eventBytes === 0 ? 0 : this.bytes();
    this.gate.watchBytes += b - this.accounted;
    this.accounted = b;
  }
}

const NEWLINE = Buffer.from('\n');

/** The index just past the blank line ending the first SSE event at or after `from`, or -1. */
function eventEnd(b: Buffer, from: number): number {
  for (let i = from; i < b.length; i++) {
    if (b[i] !== 10) continue;
    if (b[i + 1] === 10) return i + 2;
    if (b[i + 1] === 13 && b[i + 2] === 10) return i + 3;
  }
  return -1;
}

function setContentLength(headers: string[], n: number): void {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].toLowerCase() === 'content-length') { headers[i + 1] = String(n); return; }
  }
  headers.push('content-length', String(n));
}
