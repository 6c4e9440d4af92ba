// The tools part's one entry point for the proxy: allow/deny lists, tool_description rules, the
// loop guard and hold-for-approval, applied to a parsed request (here) and to the answer (watch.ts).
// Requests without tools, and MCP messages other than tools/list and tools/call, cost one property
// check and return null.
import type { Hit } from '../policy/types.js';
import { Approvals, callHash, type Decision } from './approvals.js';
import { permitted, ToolLists, type ToolListConfig } from './lists.js';
import { LoopGuard } from './loop-guard.js';
import { descriptionText, jsonRpcError, mcpMessage, removeTools, toolArrays, toolName } from './request.js';
import { allMatches, firstMatch, type PatternToolRule, type ToolRules } from './rules.js';

/** What the answer to a request must be watched for. */
export const enum Watch { None = 0, McpList = 1, ModelCalls = 2 }

export interface ToolRequestResult {
  /** the body with denied tools removed; null when unchanged */
  body: Buffer | null;
  hits: Hit[] | null;
  /** answer with this JSON-RPC error (HTTP 200) instead of forwarding */
  answer: string | null;
  /** forward only once this resolves 'approved' */
  hold: Promise<Decision> | null;
  holdId: string | null;
  /** the JSON-RPC id, when the request was an MCP message (errors answer in JSON-RPC) */
  mcp: boolean;
  mcpId: unknown;
  watch: Watch;
}

export interface ToolGateOptions {
  lists: ToolLists | null;
  rules: ToolRules;
  approvals: Approvals;
  mode: 'enforce' | 'audit';
  excerptBytes: number;
  /** bytes an answer may hold back while a tool call completes or waits (limits.stream_buffer-like) */
  holdBytes: number;
}

/** Who made the request, for per-key lists and the approvals listing. */
export interface ToolCaller {
  sessionId: string;
  agent: string | null;
  /** the key's own lists (auth keys' `tools`), narrowing the global ones */
  keyLists: ToolLists | null;
  /** told of each call held for approval (the request's trace span) */
  onHold?: { toolHeld(tool: string, approvalId: string): void };
}

export class ToolGate {
  readonly lists: ToolLists | null;
  readonly approvals: Approvals;
  readonly loops: LoopGuard | null;
  readonly holdRules: readonly PatternToolRule[];
  readonly descRules: readonly PatternToolRule[];
  readonly audit: boolean;
  readonly excerptBytes: number;
  readonly holdBytes: number;
  /** bytes held by open answer watches (withheld chunks, buffered bodies) */
  watchBytes = 0;
  /** a key's `tools` object → its compiled lists, made on first use and dropped with the key record */
  private readonly keyCache = new WeakMap<ToolListConfig, ToolLists | null>();
  /** lists or rules of its own (not only keys' lists): every request is read */
  private readonly global: boolean;

  constructor(opts: ToolGateOptions) {
    this.lists = opts.lists;
    this.approvals = opts.approvals;
    this.loops = opts.rules.loops.length > 0 ? new LoopGuard(opts.rules.loops) : null;
    this.holdRules = opts.rules.hold;
    this.descRules = opts.rules.descriptions;
    this.audit = opts.mode === 'audit';
    this.excerptBytes = opts.excerptBytes;
    this.holdBytes = opts.holdBytes;
    this.global = this.lists !== null || this.loops !== null || this.holdRules.length > 0 || this.descRules.length > 0;
  }

  /**
   * Whether a request needs the tools part: the gate's own lists or rules, or its key's lists. A gate
   * built only because keys exist leaves the body of every other request unparsed (BENCHMARKS.md,
   * bench:keys by instructions).
   */
  wants(keyTools: ToolListConfig | null | undefined): boolean {
    return this.global || (keyTools !== null && keyTools !== undefined);
  }

  /** Whether answers to requests that offer tools need watching (deny lists, holds, loops). */
  get watchesCalls(): boolean {
    return this.holdRules.length > 0 || this.loops !== null || this.lists !== null;
  }

  bytes(): number {
    return this.approvals.bytes() + (this.loops?.bytes() ?? 0) + this.watchBytes;
  }

  /**
   * A key's own lists (auth keys' `tools`), compiled once per key record. Globs of keys made at run
   * time are checked where the key is created; one that still does not compile denies every tool
   * (fail closed) rather than letting the key's narrowing lapse.
   */
  keyLists(tools: ToolListConfig | null | undefined): ToolLists | null {
    if (tools === null || tools === undefined) return null;
    let lists = this.keyCache.get(tools);
    if (lists === undefined) {
      try {
        lists = ToolLists.compile(tools, 'key.tools');
      } catch {
        lists = ToolLists.compile({ allow: [], deny: ['*'] }, 'key.tools');
      }
      this.keyCache.set(tools, lists);
    }
    return lists;
  }

  permits(name: string, caller: ToolCaller): boolean {
    return permitted(name, this.lists, caller.keyLists);
  }

  /** Applies the tools part to a parsed request body; null when it has nothing to do. */
  request(json: unknown, caller: ToolCaller): ToolRequestResult | null {
    if (json === null || typeof json !== 'object') return null;
    if (Array.isArray(json)) return this.batch(json, caller);
    const o = json as Record<string, unknown>;
    const mcp = mcpMessage(o);
    if (mcp !== null) {
      if (mcp.method === 'tools/list') return this.lists !== null || caller.keyLists !== null || this.descRules.length > 0 ? result(Watch.McpList, mcp.id) : null;
      if (mcp.tool === null) return null;
      return this.mcpCall(mcp.tool, mcp.args, mcp.id, caller);
    }
    const arrays = toolArrays(o);
    if (arrays === null) return null;
    const r = result(this.watchesCalls || caller.keyLists !== null ? Watch.ModelCalls : Watch.None, undefined);
    r.mcp = false;
    if (this.lists !== null || caller.keyLists !== null) {
      const removed = removeTools(o, (n) => this.permits(n, caller));
      if (removed !== null) r.body = Buffer.from(JSON.stringify(o));
    }
    if (this.descRules.length > 0) {
      for (const { list } of toolArrays(o) ?? []) {
        for (const def of list) r.hits = addHits(r.hits, this.describe(def, 'request'));
      }
    }
    return r.body === null && r.hits === null && r.watch === Watch.None ? null : r;
  }

  /** tool_description hits for one definition (request `tools` or an MCP tools/list entry). */
  describe(def: unknown, direction: 'request' | 'response'): Hit[] | null {
    const text = descriptionText(def);
    if (text.length === 0) return null;
    const found = allMatches(this.descRules, text);
    if (found === null) return null;
    const name = toolName(def) ?? '?';
    return found.map(({ rule, excerpt }) => ({
      rule: rule.name, severity: rule.severity, action: rule.action, direction,
      excerpt: `${name}: ${excerpt}`.slice(0, this.excerptBytes),
    }));
  }

  /**
   * One tool call (an MCP tools/call, or a model's call in an answer): the verdict of the lists,
   * the loop guard and the hold rules. `hold` is set when a hold rule matched (enforce mode).
   */
  judgeCall(tool: string, args: string, caller: ToolCaller, direction: 'request' | 'response', nowMs: number):
    { denied: boolean; hits: Hit[] | null; holdRule: PatternToolRule | null; holdExcerpt: string } {
    if (!this.permits(tool, caller)) return { denied: true, hits: null, holdRule: null, holdExcerpt: '' };
    let hits: Hit[] | null = null;
    if (this.loops !== null) {
      const h = this.loops.count(caller.sessionId, callHash(tool, args).slice(0, 16), tool, nowMs);
      if (h !== null) { for (const x of h) x.direction = direction; hits = h; }
    }
    let holdRule: PatternToolRule | null = null;
    let holdExcerpt = '';
    if (this.holdRules.length > 0) {
      const m = firstMatch(this.holdRules, [tool, args]);
      if (m !== null) {
        holdExcerpt = `${tool}: ${m.excerpt}`.slice(0, this.excerptBytes);
        // the hold itself is recorded as a policy event with action `hold` (`flag` in audit mode)
        (hits ??= []).push({ rule: m.rule.name, severity: m.rule.severity, action: 'hold', direction, excerpt: holdExcerpt });
        if (!this.audit) holdRule = m.rule;
      }
    }
    return { denied: false, hits, holdRule, holdExcerpt };
  }

  /** Holds a call for approval; resolves with the decision. */
  hold(tool: string, args: string, rule: string, caller: ToolCaller, heldBytes: number): { id: string | null; decision: Promise<Decision> } {
    const h = this.approvals.hold({ sessionId: caller.sessionId, agent: caller.agent, tool, args, rule, heldBytes });
    if (h.id !== null) caller.onHold?.toolHeld(tool, h.id);
    return h;
  }

  private mcpCall(tool: string, args: string, id: unknown, caller: ToolCaller): ToolRequestResult | null {
    const v = this.judgeCall(tool, args, caller, 'request', Date.now());
    const r = result(Watch.None, id);
    if (v.denied) {
      r.answer = jsonRpcError(id, 'policy_violation', 'tool_not_allowed', `the tool "${tool}" is not allowed by policy`);
      return r;
    }
    r.hits = v.hits;
    if (v.holdRule !== null) {
      const h = this.hold(tool, args, v.holdRule.name, caller, 0);
      r.hold = h.decision;
      r.holdId = h.id;
    }
    return r.hits === null && r.hold === null ? null : r;
  }

  /** A JSON-RPC batch: a denied tools/call refuses the whole batch; holds are not taken in batches. */
  private batch(list: unknown[], caller: ToolCaller): ToolRequestResult | null {
    let watch = Watch.None;
    for (const m of list) {
      if (m === null || typeof m !== 'object' || Array.isArray(m)) continue;
      const mcp = mcpMessage(m as Record<string, unknown>);
      if (mcp === null) continue;
      if (mcp.method === 'tools/list') watch = Watch.McpList;
      if (mcp.tool !== null && (!this.permits(mcp.tool, caller) || (!this.audit && firstMatch(this.holdRules, [mcp.tool, mcp.args]) !== null))) {
        const r = result(Watch.None, mcp.id);
        r.answer = jsonRpcError(mcp.id, 'policy_violation', 'tool_not_allowed', `the tool "${mcp.tool}" is not allowed in a batch by policy`);
        return r;
      }
    }
    return watch === Watch.None ? null : result(watch, null);
  }
}

function result(watch: Watch, mcpId: unknown): ToolRequestResult {
  return { body: null, hits: null, answer: null, hold: null, holdId: null, mcp: true, mcpId, watch };
}

function addHits(a: Hit[] | null, b: Hit[] | null): Hit[] | null {
  if (b === null) return a;
  if (a === null) return b;
  for (const h of b) a.push(h);
  return a;
}
