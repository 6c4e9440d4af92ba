// What a proxied request (or a WebSocket connection) records on its span: the OpenTelemetry GenAI
// attributes, the session, the agent, the policy outcome, each retry, and the events a session's
// end leaves. Functions over the SDK span the proxy holds, so no wrapper object is made per
// request; nothing here loads the SDK (types only, and the numbers of its two enums inline).
import type { Span } from './types.js';

/** SpanStatusCode.ERROR (@opentelemetry/api), inlined so that this file loads nothing. */
const STATUS_ERROR = 2;

export type PolicyOutcome = 'allow' | 'flag' | 'block' | 'redact' | 'terminate' | 'hold';

/**
 * The answer's tokens as the spend meter charged them to the session (spend/service.ts Meter: the
 * upstream's usage, or the tokenizer's estimate), and the model the upstream's answer named.
 */
export interface MeteredUsage {
  /** -1 when nothing was charged */
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly responseModel: string | null;
  /** the tokenizer is still counting: the tokens are set when this resolves */
  readonly pending: Promise<void> | null;
}

/** Which GenAI system and operation a request path names; null for what is not an LLM call (MCP, …). */
export function genAiOf(path: string): { system: string; operation: string } | null {
  if (path.includes('/messages')) return { system: 'anthropic', operation: 'chat' };
  if (path.includes('/chat/completions') || path.includes('/responses')) return { system: 'openai', operation: 'chat' };
  if (path.includes('/completions')) return { system: 'openai', operation: 'text_completion' };
  if (path.includes('/embeddings')) return { system: 'openai', operation: 'embeddings' };
  return null;
}

/** The request's identity: session, method and path, and the GenAI system and model when it is an LLM call. */
export function spanRequest(span: Span, sessionId: string, method: string, path: string, json: unknown): void {
  span.setAttribute('session.id', sessionId);
  span.setAttribute('cordon.policy.outcome', 'allow'); // until a rule says otherwise
  span.setAttribute('http.request.method', method);
  span.setAttribute('url.path', path);
  const ai = genAiOf(path);
  if (ai === null) return;
  span.setAttribute('gen_ai.system', ai.system);
  span.setAttribute('gen_ai.operation.name', ai.operation);
  const model = json !== null && typeof json === 'object' ? (json as { model?: unknown }).model : undefined;
  if (typeof model === 'string') {
    span.setAttribute('gen_ai.request.model', model);
    span.updateName(`${ai.operation} ${model}`);
  } else {
    span.updateName(ai.operation);
  }
}

export function spanAgent(span: Span, agent: string | undefined): void {
  if (agent !== undefined) span.setAttribute('cordon.agent', agent);
}

/** One try on an upstream; the model actually sent when `upstreams[].model` rewrote it. */
export function spanAttempt(span: Span, upstream: string, attempt: number, model: string | undefined): void {
  span.setAttribute('server.address', upstream);
  if (attempt > 1) span.setAttribute('cordon.attempts', attempt);
  if (model !== undefined) span.setAttribute('gen_ai.request.model', model);
}

/** A try that is abandoned for another upstream (its status, or `connect`). */
export function spanRetry(span: Span, upstream: string, reason: string): void {
  span.addEvent('cordon.retry', { 'cordon.retry.reason': reason, 'server.address': upstream });
}

export function spanPolicy(span: Span, outcome: PolicyOutcome, rule: string | undefined): void {
  span.setAttribute('cordon.policy.outcome', outcome);
  if (rule !== undefined) span.setAttribute('cordon.policy.rule', rule);
}

/** A kill or a terminate ended the request or connection. */
export function spanSessionEnd(span: Span, type: 'session_killed' | 'session_terminated' | 'agent_killed', rule?: string): void {
  const name = type === 'session_killed' ? 'cordon.session.killed' : type === 'agent_killed' ? 'cordon.agent.killed' : 'cordon.session.terminated';
  span.addEvent(name, rule === undefined ? undefined : { 'cordon.policy.rule': rule });
}

/** A tool call held for an operator's approval. */
export function spanToolHeld(span: Span, tool: string, approvalId: string): void {
  span.addEvent('cordon.tool_call.held', { 'gen_ai.tool.name': tool, 'cordon.approval.id': approvalId });
}

/**
 * Ends the span with the status, the outcome, and the answer's usage and model from its meter.
 * An answer whose tokens the tokenizer is still counting ends its span when the count is in (the
 * end time is the one given, so the span's duration is the request's).
 */
export function spanEnd(span: Span, status: number, outcome: string, usage: MeteredUsage | null, endMs: number): void {
  if (usage !== null && usage.pending !== null) {
    usage.pending.then(() => spanEndNow(span, status, outcome, usage, endMs), () => spanEndNow(span, status, outcome, null, endMs));
    return;
  }
  spanEndNow(span, status, outcome, usage, endMs);
}

function spanEndNow(span: Span, status: number, outcome: string, usage: MeteredUsage | null, endMs: number): void {
  if (status > 0) span.setAttribute('http.response.status_code', status);
  span.setAttribute('cordon.outcome', outcome);
  if (usage !== null) {
    if (usage.tokensIn >= 0) {
      span.setAttribute('gen_ai.usage.input_tokens', usage.tokensIn);
      span.setAttribute('gen_ai.usage.output_tokens', usage.tokensOut);
    }
    if (usage.responseModel !== null) span.setAttribute('gen_ai.response.model', usage.responseModel);
  }
  if (status >= 500 || (outcome !== 'ok' && status === 0)) span.setStatus({ code: STATUS_ERROR, message: outcome });
  span.end(performance.timeOrigin + endMs);
}

/** Sets or replaces the `traceparent` of a flat [k, v, …] header list sent upstream. */
export function setTraceparent(headers: string[], value: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    const k = headers[i];
    if (k.length === 11 && k.toLowerCase() === 'traceparent') {
      headers[i + 1] = value;
      return;
    }
  }
  headers.push('traceparent', value);
}
