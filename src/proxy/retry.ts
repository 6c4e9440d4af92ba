// Retries and fallback (SPEC.md "Operating it"): an attempt answered with a status in `retry.on`,
// or whose connection never reached the upstream, is sent to the next healthy upstream not yet
// tried, as long as no byte reached the client, attempts are left, and the request's deadline
// (timeouts.headers from its start) has not passed. The request body is already held whole
// (bounded by max_body) for the policy, so a replay costs nothing more.
import type { Config } from '../config/schema.js';
import type { Upstream, UpstreamSet } from './upstreams.js';

/** A discarded answer's body is drained, not read whole: past this it is cut instead. */
export const DISCARD_MAX_BYTES = 64 * 1024;

export class RetryRules {
  /** tries in all, the first included */
  readonly attempts: number;
  readonly onConnect: boolean;
  /** how long after its start a request may still be tried again */
  readonly deadlineMs: number;
  private readonly statuses: readonly number[];

  constructor(cfg: Pick<Config, 'retry' | 'timeouts'>) {
    this.attempts = cfg.retry.attempts;
    this.onConnect = cfg.retry.on.includes('connect');
    this.statuses = cfg.retry.on.filter((r): r is Exclude<typeof r, 'connect'> => r !== 'connect');
    this.deadlineMs = cfg.timeouts.headers;
  }

  /** an upstream status worth another upstream's try */
  onStatus(status: number): boolean {
    return status >= 429 && this.statuses.includes(status);
  }
}

/** The reason label of a retry (metrics, access log, trace): the status, or `connect`. */
export function retryReason(status: number): string {
  return status === 0 ? 'connect' : String(status);
}

/**
 * The next upstream for a retry: healthy and not tried yet, in the balancer's order first; null
 * when every healthy upstream was tried (then the answer in hand goes to the client).
 */
export function nextUpstream(ups: UpstreamSet, now: number, stickyKey: number, tried: readonly Upstream[]): Upstream | null {
  const first = ups.pick(now, stickyKey, tried[tried.length - 1]);
  if (first !== null && !tried.includes(first)) return first;
  for (const u of ups.list) if (u.healthy(now) && !tried.includes(u)) return u;
  return null;
}

/**
 * The body with its top-level `model` replaced (`upstreams[].model`), or the body unchanged when
 * it is not a JSON object naming a model. The one re-serialisation on the request path, taken
 * only for upstreams that rewrite the model.
 */
export function rewriteModel(body: Buffer | null, model: string): Buffer | null {
  if (body === null || body.length === 0) return body;
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return body;
  const obj = json as Record<string, unknown>;
  if (typeof obj.model !== 'string' || obj.model === model) return body;
  obj.model = model;
  return Buffer.from(JSON.stringify(obj), 'utf8');
}
