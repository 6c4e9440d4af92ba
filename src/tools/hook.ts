// The proxy exchange's side of tool governance, as a base class so that exchange.ts keeps only
// three one-line hooks (request, response head, chunk) and the tools logic stays in this folder.
// Holds for approval wait here (an MCP tools/call before dispatch; a model's call in the answer
// through ToolWatch); a kill or a client that goes away withdraws the pending approval.
import type { ServerResponse } from 'node:http';
import type { ProxyContext } from '../proxy/context.js';
import { sendProxyError, sseErrorEvent, type ProxyError } from '../errors/index.js';
import { applyHits, type Verdict } from '../proxy/verdict.js';
import type { Hit } from '../policy/types.js';
import type { Decision } from './approvals.js';
import { Watch, type ToolCaller, type ToolGate, type ToolRequestResult } from './gate.js';
import type { ToolListConfig } from './lists.js';
import { jsonRpcError } from './request.js';
import { ToolWatch, type WatchHost } from './watch.js';

/** What the tools part reads from an API key record (auth keys, SPEC "Agents, keys and spend"). */
export interface ToolKey {
  readonly agent: string;
  readonly tools: ToolListConfig | null;
}

export abstract class ToolHook implements WatchHost {
  abstract slot: number;
  abstract readonly res: ServerResponse;
  protected abstract readonly ctx: ProxyContext;
  protected abstract body: Buffer | null;
  protected abstract resumeUpstream: (() => void) | null;
  /** past the request filters: fleet rate rules, then the upstream */
  protected abstract pastRequestFilters(): void;
  protected abstract fail(err: ProxyError): void;
  protected abstract finish(outcome: string): void;
  /** the refusal a policy verdict makes (a terminate also ends the session) */
  protected abstract verdictError(v: Verdict): ProxyError;
  /** a call of this exchange waits for approval (the exchange's trace span records it) */
  abstract toolHeld(tool: string, approvalId: string): void;

  protected toolWatch: ToolWatch | null = null;
  /** the tools part answered the request or holds it: the request phase stops there */
  protected toolsTook = false;
  private toolKind: Watch = Watch.None;
  private toolCaller: ToolCaller | null = null;
  private holdId: string | null = null;
  private mcpId: unknown = null;
  private toolSession = '';
  private toolSse = false;
  /** the gate in force when the request came in: a reload mid-request does not switch it */
  private toolGate: ToolGate | null = null;

  /**
   * Request hook: true when the tools part answered or holds the request (the caller stops).
   * `key` is the request's API key record (agent, and its own tool lists), when keys are in use.
   */
  protected toolsRequest(gate: ToolGate, json: unknown, sessionId: string, key: ToolKey | null = null): boolean {
    const caller: ToolCaller = { sessionId, agent: key?.agent ?? null, keyLists: gate.keyLists(key?.tools), onHold: this };
    const t = gate.request(json, caller);
    if (t === null) return false;
    this.toolGate = gate;
    this.toolCaller = caller;
    this.toolSession = sessionId;
    return this.applyTools(t);
  }

  private applyTools(t: ToolRequestResult): boolean {
    this.toolKind = t.watch;
    this.mcpId = t.mcpId;
    if (t.body !== null) this.body = t.body;
    if (t.hits !== null) {
      const v = applyHits(this.ctx, this.slot, this.toolSession, t.hits, 'request');
      if (v !== null) {
        if (t.holdId !== null) this.toolGate?.approvals.cancel(t.holdId);
        this.fail(this.verdictError(v));
        return true;
      }
    }
    if (t.answer !== null) {
      this.ctx.counters.blocked++;
      this.answerRpc(t.answer, 'tool_not_allowed');
      return true;
    }
    if (t.hold === null) return false;
    if (t.holdId === null) {
      this.answerRpc(jsonRpcError(t.mcpId, 'approval_denied', 'approval_denied', 'too many tool calls of this session are waiting for approval'), 'approval_denied');
      return true;
    }
    this.holdId = t.holdId;
    // listed as in flight while it waits, so that a kill of the session ends it
    this.ctx.inflight.add(this as never);
    t.hold.then((d) => this.heldDecided(d), () => this.heldDecided('denied'));
    return true;
  }

  private heldDecided(d: Decision): void {
    if (this.holdId === null) return; // the exchange ended meanwhile
    this.holdId = null;
    this.ctx.inflight.remove(this as never);
    if (d === 'approved') return this.pastRequestFilters();
    const msg = d === 'expired' ? 'the tool call was not approved in time' : 'the tool call was denied by an operator';
    this.answerRpc(jsonRpcError(this.mcpId, 'approval_denied', 'approval_denied', msg), 'approval_denied');
  }

  /** A JSON-RPC answer from the gateway itself: HTTP 200, as MCP clients expect errors in the body. */
  private answerRpc(body: string, outcome: string): void {
    const res = this.res;
    if (!res.headersSent) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-session-id': this.toolSession });
      res.end(body);
    } else {
      res.destroy();
    }
    this.ctx.onReject(outcome === 'approval_denied' ? 'approval_denied' : 'policy_violation');
    this.finish(outcome);
  }

  /** the answer will be read by a tool watch (so it must be readable: decoded) */
  protected get toolsWatch(): boolean {
    return this.toolKind !== Watch.None;
  }

  /** Response-head hook: true when the head was taken (deferred until the body is judged). */
  protected toolsHead(status: number, headers: string[], contentType: string | undefined, isSse: boolean, sessionId: string): boolean {
    const gate = this.toolGate;
    if (this.toolKind === Watch.None || gate === null || status < 200 || status >= 300) return false;
    if (!isSse && (contentType === undefined || !contentType.includes('json'))) return false;
    this.toolCaller ??= { sessionId, agent: null, keyLists: null, onHold: this };
    this.toolSse = isSse;
    this.toolWatch = new ToolWatch(gate, this, this.toolCaller, this.toolKind, isSse);
    return this.toolWatch.deferHead(status, headers);
  }

  /** Exchange ended: withdraw a pending approval, release a watch. */
  protected toolsDone(): void {
    if (this.holdId !== null) {
      const id = this.holdId;
      this.holdId = null;
      this.ctx.inflight.remove(this as never);
      this.toolGate?.approvals.cancel(id);
    }
    if (this.toolWatch !== null) {
      this.toolWatch.close();
      this.toolWatch = null;
    }
  }

  // ---- WatchHost ---------------------------------------------------------------------------------
  toolWriteHead(status: number, headers: string[]): void {
    this.res.writeHead(status, headers);
  }

  toolWrite(chunk: Buffer): void {
    this.res.write(chunk);
  }

  toolResume(): void {
    this.resumeUpstream?.();
  }

  toolEnd(): void {
    this.res.end();
    this.finish('ok');
  }

  toolFail(status: number, type: string, code: string, message: string): void {
    const res = this.res;
    this.ctx.counters.blocked++;
    this.ctx.onReject(type as ProxyError['type']);
    if (!res.headersSent) {
      sendProxyError(res, { status, type: type as ProxyError['type'], code, message }, this.toolSession || null);
    } else if (this.toolSse) {
      res.end(sseErrorEvent({ status, type: type as ProxyError['type'], code, message }));
    } else {
      res.destroy();
    }
    this.finish(code);
  }

  toolHits(hits: Hit[], enforce: boolean): boolean {
    const v = applyHits(this.ctx, this.slot, this.toolSession, hits, 'response');
    if (v === null || v.kind === 'rate') return false;
    if (v.kind === 'terminate') {
      this.ctx.gate.terminate(this.slot, v.rule);
      if (!this.res.writableEnded) this.toolFail(403, 'session_terminated', 'session_terminated', 'this session was ended by a policy rule');
      return true;
    }
    if (!enforce) return false;
    this.toolFail(403, 'policy_violation', v.rule, `the answer was blocked by policy rule "${v.rule}"`);
    return true;
  }
}
