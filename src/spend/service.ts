// The spend part: who (agent, team), what (models, tokens, cost) and how fast (latency) per
// session, and the budgets that stop spending. The proxy calls admit() once a request is tied to a
// session, open() when an answer starts and settle() when it ends; everything else is read by the
// control API, /metrics and the dashboard.
import type { Config } from '../config/schema.js';
import type { KeyRecord } from '../auth/keys.js';
import type { SessionExtension, SessionView } from '../sessions/types.js';
import type { BudgetTicket, FleetBudgets } from '../fleet/budget-types.js';
import { Agents, roundUsd } from './agents.js';
import { budgetOf, Ledger, type Budget, type Refusal } from './budgets.js';
import { estimateInput, responseText, tokenCounter } from './estimate.js';
import { LatencySketches } from './latency.js';
import { NameIndex, OTHER } from './names.js';
import { PriceTable } from './prices.js';
import { UsageScanner } from './usage-scan.js';

/** Models named in /metrics and on sessions; past this many, `other`. */
const MAX_MODELS = 32;
/** Response bytes kept to count the tokens of an answer that will carry no usage. */
const ESTIMATE_CAPTURE = 64 * 1024;

/** What the spend part needs of the session table. */
export interface SpendTable {
  addUsage(slot: number, tokensIn: number, tokensOut: number, costUsd: number, model: number, estimated: boolean, toolCalls: number): boolean;
  spendOf(slot: number): { agent: number; model: number; meta: number; tokensIn: number; tokensOut: number; cost: number; toolCalls: number };
  costOf(slot: number): number;
  idOf(slot: number): string;
}

/** One answer being metered: the scanner, and until its usage shows, what estimating it would need. */
export class Meter {
  readonly scan: UsageScanner;
  firstByteAt = 0;
  /** the answer's chunks (references, up to ESTIMATE_CAPTURE bytes) while no usage was seen */
  kept: Buffer[] | null = null;
  keptBytes = 0;
  bytes = 0;
  /** what settle() charged: the upstream's usage or the tokenizer's estimate; -1 until then */
  tokensIn = -1;
  tokensOut = -1;
  /** settle() is counting with the tokenizer: the tokens are set when this resolves */
  pending: Promise<void> | null = null;

  /**
   * `reqModel`: the request's model, the fallback when the answer names none. `reqBody`/`reqJson`:
   * the request of an LLM call, held (with the answer's first chunks) only until the answer shows
   * its usage: an answer that ends without any is counted with the tokenizer from them.
   */
  constructor(readonly startedAt: number, readonly reqModel: string | null, public reqBody: Buffer | null, public reqJson: unknown,
    countTools = true) {
    this.scan = new UsageScanner(countTools);
    if (reqBody !== null) this.kept = [];
  }

  /** The model the upstream's answer named (JSON `model`, a chunk's, Anthropic `message.model`). */
  get responseModel(): string | null {
    return this.scan.model;
  }

  write(chunk: Buffer): void {
    if (this.firstByteAt === 0) this.firstByteAt = performance.now();
    this.bytes += chunk.length;
    this.scan.write(chunk);
    if (this.kept === null) return;
    if (this.scan.seen) {
      // the upstream reports usage: nothing to estimate, let go of the request and the chunks
      this.kept = null;
      this.reqBody = null;
      this.reqJson = undefined;
    } else if (this.keptBytes < ESTIMATE_CAPTURE) {
      this.kept.push(chunk);
      this.keptBytes += chunk.length;
    }
  }
}

export interface SessionRule {
  name: string;
  limit: number;
  windowMs: number;
  /** the rule as a budget (scope `session:<rule>`) and its totals by session ID */
  budget: Budget;
  ledger: Ledger;
}

export class Spend implements SessionExtension {
  readonly agents = new Agents();
  readonly models = new NameIndex(MAX_MODELS);
  readonly latency = new LatencySketches();
  readonly ledger = new Ledger();
  prices: PriceTable;
  private readonly teamBudgets = new Map<string, Budget>();
  /** a key's own and its team's budgets, built once per key record and config */
  private keyBudgets = new WeakMap<KeyRecord, Budget[]>();
  private sessionRules: SessionRule[] = [];
  /** slot → models after the first (rare: a session that switches model) */
  private readonly moreModels = new Map<number, Set<number>>();
  /** tokens and USD by agent and model number, for /metrics: key agent * 64 + model */
  readonly byAgentModel = new Map<number, { tokensIn: number; tokensOut: number; usd: number }>();
  /** budgets shared by the fleet (Redis mode): admission takes a place in them, settle gives it back with the cost */
  fleet: FleetBudgets | null = null;
  private charges = 0;

  constructor(cfg: Config, private readonly table: SpendTable) {
    this.prices = new PriceTable(cfg.pricing);
    this.reconfigure(cfg);
  }

  /** Prices, team budgets and session cost rules from a config (at start, and on a reload). */
  reconfigure(cfg: Config): void {
    this.prices = new PriceTable(cfg.pricing);
    this.teamBudgets.clear();
    for (const [team, t] of Object.entries(cfg.teams)) if (t.budget) this.teamBudgets.set(team, budgetOf(`team:${team}`, t.budget));
    this.keyBudgets = new WeakMap();
    const before = new Map(this.sessionRules.map((r) => [r.name, r.ledger]));
    this.sessionRules = cfg.policy.rules.filter((r) => r.metric === 'cost_usd').map((r) => {
      const limit = r.limit ?? 0;
      const windowMs = r.window ?? 0;
      const budget: Budget = { scope: `session:${r.name}`, cls: `session:${r.name}`, limit, unit: 'usd', windowMs: windowMs > 0 ? windowMs : 1 };
      // a reload keeps what sessions spent under a rule of the same name
      return { name: r.name, limit, windowMs, budget, ledger: before.get(r.name) ?? new Ledger() };
    });
  }

  /** A key's own and its team's budgets (cached: admission and settlement read them per request). */
  private budgetsOfKey(key: KeyRecord): Budget[] {
    let list = this.keyBudgets.get(key);
    if (list === undefined) {
      list = [];
      if (key.budget !== null) list.push(budgetOf(`key:${key.id}`, key.budget));
      if (key.team !== null) {
        const t = this.teamBudgets.get(key.team);
        if (t !== undefined) list.push(t);
      }
      this.keyBudgets.set(key, list);
    }
    return list;
  }

  /** Every budget that applies to a request. */
  budgetsFor(key: KeyRecord | null, sessionId: string): Budget[] {
    const out: Budget[] = key === null ? [] : [...this.budgetsOfKey(key)];
    for (const r of this.sessionRules) {
      if (r.windowMs > 0) out.push({ scope: `session:${r.name}:${sessionId}`, cls: `session:${r.name}`, limit: r.limit, unit: 'usd', windowMs: r.windowMs });
    }
    return out;
  }

  /** null when the request may spend, else the budget that is used up. */
  admit(slot: number, key: KeyRecord | null, sessionId: string, nowMs: number): Refusal | null {
    for (const r of this.sessionRules) {
      // a session rule without a window limits the session's whole life
      if (r.windowMs === 0) {
        if (this.table.costOf(slot) >= r.limit) return { scope: `session:${r.name}`, retryAfter: 0 };
        continue;
      }
      const no = r.ledger.check(r.budget, nowMs, sessionId);
      if (no !== null) return no;
    }
    if (key === null) return null;
    for (const b of this.budgetsOfKey(key)) {
      const no = this.ledger.check(b, nowMs);
      if (no !== null) return no;
    }
    return null;
  }

  /** The budgets the fleet must be asked about before the request goes upstream, or null for none. */
  fleetAsks(key: KeyRecord | null, sessionId: string): Budget[] | null {
    if (this.fleet === null || (key === null && this.sessionRules.length === 0)) return null;
    const asks = this.budgetsFor(key, sessionId);
    return asks.length === 0 ? null : asks;
  }

  /**
   * A meter for an answer. `body` is the request: for an LLM call (OpenAI chat or completions,
   * Anthropic messages, Responses; streamed or not) it is held with the answer's first bytes until
   * usage shows, so an answer without any (an OpenAI stream without `stream_options.include_usage`,
   * a compatible backend that reports none) is still counted.
   * `toolsCounted`: the policy's inspector counts the answer's tool calls (settle gets its count).
   */
  open(startedAt: number, body: Buffer | null, json: unknown, target: string, toolsCounted = false): Meter {
    const estimate = body !== null && body.length <= ESTIMATE_BODY_MAX && isLlmCall(target);
    return new Meter(startedAt, requestModel(json, null), estimate ? body : null, estimate ? json : undefined, !toolsCounted);
  }

  /**
   * The answer ended (completed, cut, or failed mid-way): charge its usage to the session, agent,
   * budgets and metrics. `toolCalls` from the policy inspector when it ran, else the meter's count.
   * What was charged is left on the meter (tokensIn/Out, or `pending` while the tokenizer counts)
   * for the request's trace span: one owner for the number.
   */
  settle(slot: number, agent: number, key: KeyRecord | null, sessionId: string, m: Meter | null, endedAt: number, toolCalls: number,
    ticket: BudgetTicket | null = null): void {
    if (m === null) {
      // refused or failed before an answer began: nothing spent, the fleet's places are given back
      if (ticket !== null) this.fleet?.settle(ticket, 0, 0);
      return;
    }
    const reqBody = m.reqBody;
    const s = m.scan;
    const ttfb = (m.firstByteAt === 0 ? endedAt : m.firstByteAt) - m.startedAt;
    this.latency.record(slot, ttfb, endedAt - m.startedAt);
    const calls = toolCalls >= 0 ? toolCalls : s.toolCalls;
    let modelName = s.model;
    if (s.seen) {
      if (modelName === null) modelName = m.reqModel;
      const uncached = Math.max(0, s.input - s.cached);
      const cost = this.prices.cost(modelName, uncached, s.output, s.cached + s.cacheRead, s.cacheWrite);
      m.tokensIn = s.inputTotal;
      m.tokensOut = s.output;
      this.account(slot, agent, key, sessionId, modelName, s.inputTotal, s.output, cost, false, calls, ticket);
      return;
    }
    if (reqBody === null || m.bytes === 0) {
      // no usage and nothing kept to count: an answer that is not an LLM's (a GET, /models, an
      // error), or an upstream that reports none on an API that always does
      if (calls > 0) this.table.addUsage(slot, 0, 0, 0, 0, false, calls);
      if (ticket !== null) this.fleet?.settle(ticket, 0, 0);
      return;
    }
    // No usage came: count with the tokenizer (loaded on first need), off the request's path.
    const kept = m.kept === null ? null : Buffer.concat(m.kept, m.keptBytes);
    const bytes = m.bytes;
    const keptBytes = m.keptBytes;
    const id = this.table.idOf(slot);
    m.pending = tokenCounter(modelName ?? m.reqModel).then((count) => {
      let json = m.reqJson;
      if (json === undefined) { try { json = JSON.parse(reqBody.toString('utf8')); } catch { json = null; } }
      if (json === null || typeof json !== 'object') { if (ticket !== null) this.fleet?.settle(ticket, 0, 0); return; }
      modelName ??= m.reqModel ?? requestModel(json, null);
      const tin = estimateInput(count, json, modelName);
      let tout: number;
      if (kept !== null) {
        tout = count(responseText(kept.toString('utf8')));
        if (bytes > keptBytes) tout = Math.round(tout * (bytes / keptBytes));
      } else {
        tout = Math.ceil(bytes / 4);
      }
      const cost = this.prices.cost(modelName, tin, tout, 0, 0);
      m.tokensIn = tin;
      m.tokensOut = tout;
      // the slot may have been freed and reused meanwhile: charge it only if it is the same session
      if (this.table.idOf(slot) === id) this.account(slot, agent, key, sessionId, modelName, tin, tout, cost, true, calls, ticket);
      else if (ticket !== null) this.fleet?.settle(ticket, cost, tin + tout);
    }, () => { if (ticket !== null) this.fleet?.settle(ticket, 0, 0); });
  }

  private account(slot: number, agent: number, key: KeyRecord | null, sessionId: string, model: string | null,
    tin: number, tout: number, usd: number, estimated: boolean, calls: number, ticket: BudgetTicket | null): void {
    const mn = model === null ? 0 : this.models.number(model);
    const first = this.table.addUsage(slot, tin, tout, usd, mn, estimated, calls);
    if (!first && mn !== 0) {
      const cur = this.table.spendOf(slot).model;
      if (cur !== mn) {
        let set = this.moreModels.get(slot);
        if (set === undefined) { set = new Set(); this.moreModels.set(slot, set); }
        set.add(mn);
      }
    }
    if (agent !== 0) this.agents.usage(agent, tin, tout, usd);
    const k = agent * 64 + mn;
    const row = this.byAgentModel.get(k);
    if (row === undefined) this.byAgentModel.set(k, { tokensIn: tin, tokensOut: tout, usd });
    else { row.tokensIn += tin; row.tokensOut += tout; row.usd += usd; }
    const now = Date.now();
    // every few thousand charges, windows that ended are dropped (O(scopes), amortized)
    if ((++this.charges & 4095) === 0) {
      this.ledger.sweep(now);
      for (const r of this.sessionRules) r.ledger.sweep(now);
    }
    if (key !== null) for (const b of this.budgetsOfKey(key)) this.ledger.charge(b, usd, tin + tout, now);
    for (const r of this.sessionRules) if (r.windowMs > 0) r.ledger.charge(r.budget, usd, tin + tout, now, sessionId);
    // the fleet's total too: with the places the request held, or (admitted while Redis was away) without
    if (this.fleet !== null) {
      const asks = ticket?.asks ?? this.budgetsFor(key, sessionId);
      if (asks.length > 0) this.fleet.settle(ticket ?? { asks, windows: null, run: '' }, usd, tin + tout);
    }
  }

  // ---- SessionExtension: the session view's spend fields -------------------------------------

  view(slot: number, v: SessionView): void {
    const s = this.table.spendOf(slot);
    v.agent = this.agents.names.name(s.agent);
    v.team = s.agent === 0 ? null : (this.agents.list().find((a) => a.agent === v.agent)?.team ?? null);
    const models: string[] = [];
    const first = this.models.name(s.model);
    if (first !== null) models.push(first);
    for (const n of this.moreModels.get(slot) ?? []) { const name = this.models.name(n); if (name !== null) models.push(name); }
    v.models = models;
    v.tokens_in = s.tokensIn;
    v.tokens_out = s.tokensOut;
    v.cost_usd = roundUsd(s.cost);
    v.tokens_estimated = (s.meta & 1) !== 0;
    v.tool_calls = s.toolCalls;
    const p = this.latency.percentiles(slot);
    v.latency_ms = p === null ? null : p[1];
    v.ttfb_ms = p === null ? null : p[0];
  }

  free(slot: number): void {
    this.latency.clear(slot);
    this.moreModels.delete(slot);
  }

  /** Bytes of the side tables (latency pages, extra models, budget ledger), for /control/memory. */
  bytes(): number {
    let scopes = this.ledger.size;
    for (const r of this.sessionRules) scopes += r.ledger.size;
    return this.latency.bytes() + this.moreModels.size * 120 + scopes * 150;
  }

  /** Model label for /metrics: the name, `other` past the bound, `unknown` when none was seen. */
  modelLabel(n: number): string {
    return n === 0 ? 'unknown' : (this.models.name(n) ?? OTHER);
  }
}

/** An OpenAI chat stream whose usage will not come (no stream_options.include_usage). */
/** @internal A streamed chat request that did not ask for usage; from the parsed body when the request phase parsed it. */
export function wantsEstimate(body: Buffer, json: unknown): boolean {
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const j = json as { stream?: unknown; messages?: unknown; stream_options?: { include_usage?: unknown } | null };
    if (j.stream !== true || j.messages === undefined) return false;
    const so = j.stream_options;
    return !(so !== null && typeof so === 'object' && so.include_usage === true);
  }
  if (body.length > 4 * 1024 * 1024) return false;
  // Searched in the bytes: a latin1 copy of the whole body cost as much heap as the body (issue 15).
  return valueAfterKey(body, '"stream"', 'true') && valueAfterKey(body, '"messages"', '') && !valueAfterKey(body, '"include_usage"', 'true');
}

/** Whether `key`, blanks, a colon and blanks are followed by `value` somewhere in the body. */
function valueAfterKey(b: Buffer, key: string, value: string): boolean {
  for (let i = b.indexOf(key, 0, 'latin1'); i >= 0; i = b.indexOf(key, i + 1, 'latin1')) {
    let j = skipBlanks(b, i + key.length);
    if (b[j] !== 0x3a /* : */) continue;
    j = skipBlanks(b, j + 1);
    if (b.toString('latin1', j, j + value.length) === value) return true;
  }
  return false;
}

function skipBlanks(b: Buffer, j: number): number {
  while (j < b.length && (b[j] === 0x20 || b[j] === 0x09 || b[j] === 0x0a || b[j] === 0x0d)) j++;
  return j;
}

/**
 * Requests larger than this are not held for an estimate (their answer's usage is taken as it
 * comes): the tokenizer runs on the event loop, and a 4 MB body took seconds of it.
 */
const ESTIMATE_BODY_MAX = 64 * 1024;

/** The APIs whose answers report token usage (or should): chat, completions, messages, responses. */
function isLlmCall(target: string): boolean {
  return target.includes('/completions') || target.includes('/messages') || target.includes('/responses');
}

function requestModel(json: unknown, body: Buffer | null): string | null {
  if (json !== null && typeof json === 'object' && typeof (json as { model?: unknown }).model === 'string') {
    return (json as { model: string }).model.slice(0, 128);
  }
  if (body === null) return null;
  const m = /"model"\s*:\s*"([A-Za-z0-9._:/@-]{1,128})"/.exec(body.toString('latin1', 0, Math.min(body.length, 65536)));
  return m === null ? null : m[1];
}
