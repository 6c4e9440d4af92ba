// What response-side hits do to the answer in flight (SPEC "What the policy sees, and what it
// does"): `block` ends that response only (an SSE stream's last event is `event: error` with
// policy_violation and the rule as code; the session stays active), `terminate` ends the session
// through the gate. The chunk that completed the match is withheld in both cases.
import type { Span } from '@opentelemetry/api';
import type { Hit } from '../../policy/types.js';
import { spanPolicy } from '../../telemetry/request-span.js';
import type { ProxyContext } from '../context.js';
import { applyHits } from '../verdict.js';

export interface ResponseVerdict {
  kind: 'block' | 'terminate';
  rule: string;
}

/**
 * Records the hits; returns what must end the response, or null when it goes on. `rewritten`: the
 * inspector holds back and already replaced the matches of its `redact` hits (sse-hold.ts);
 * otherwise a redact hit refuses, as the stream cannot be rewritten.
 */
export function responseVerdict(ctx: ProxyContext, slot: number, sessionId: string, hits: Hit[], span: Span | null, rewritten: boolean): ResponseVerdict | null {
  const v = applyHits(ctx, slot, sessionId, hits, 'response', rewritten);
  if (v === null || v.kind === 'rate' || v.kind === 'redact') {
    if (v?.kind !== 'rate' && span !== null) spanPolicy(span, v === null ? 'flag' : 'redact', hits[0].rule);
    return null;
  }
  if (span !== null) spanPolicy(span, v.kind, v.rule);
  ctx.counters.blocked++;
  if (v.kind === 'terminate') ctx.gate.terminate(slot, v.rule);
  return { kind: v.kind, rule: v.rule };
}
