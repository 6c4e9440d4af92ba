// Turns policy hits into events and one verdict. In audit mode every block or terminate is
// recorded as a flag and nothing is refused; an operator's kill still applies (that path is not here).
import { eventId } from '../events.js';
import type { Direction } from '../events.js';
import type { Hit } from '../policy/types.js';
import type { ProxyContext } from './context.js';

export type Verdict =
  | { kind: 'block'; rule: string }
  /** the answer goes on with the matches of these hits' rules replaced (held answers only) */
  | { kind: 'redact'; rule: string }
  | { kind: 'terminate'; rule: string }
  | { kind: 'rate'; rule: string; retryAfter: number };

/**
 * `redactable`: the caller can rewrite what it holds (a held whole answer). Elsewhere a `redact`
 * rule refuses instead (a request is never rewritten: the model must read what the client sent;
 * a stream that cannot hold the text back is ended), and the event records `block`.
 */
export function applyHits(ctx: ProxyContext, slot: number, sessionId: string, hits: Hit[], direction: Direction, redactable = false): Verdict | null {
  const audit = ctx.cfg.mode === 'audit';
  const now = Date.now();
  let verdict: Verdict | null = null;
  for (const hit of hits) {
    const action = audit ? 'flag' : hit.action === 'redact' && !redactable ? 'block' : hit.action;
    ctx.sessions.addFlag(slot);
    ctx.onHit(hit.rule, action);
    ctx.bus.publish({
      kind: 'policy', id: eventId(now), session_id: sessionId, rule: hit.rule, severity: hit.severity,
      action, direction, excerpt: hit.excerpt, at: now,
      ...(hit.score !== undefined ? { score: hit.score, labels: hit.labels } : null),
      ...(hit.judge !== undefined ? { judge: hit.judge, judge_ms: hit.judge_ms } : null),
    });
    // a hold is the tools part's to carry out (tools/); here it is only recorded
    if (action === 'flag' || action === 'hold') continue;
    // The strongest wins: terminate > block > redact > rate limit.
    if (hit.retry_after !== undefined && action === 'block') {
      if (verdict === null) verdict = { kind: 'rate', rule: hit.rule, retryAfter: Math.max(1, Math.ceil(hit.retry_after)) };
    } else if (action === 'terminate') {
      verdict = { kind: 'terminate', rule: hit.rule };
    } else if (action === 'redact') {
      if (verdict === null || verdict.kind === 'rate') verdict = { kind: 'redact', rule: hit.rule };
    } else if (verdict === null || verdict.kind === 'rate' || verdict.kind === 'redact') {
      verdict = { kind: 'block', rule: hit.rule };
    }
  }
  return verdict;
}
