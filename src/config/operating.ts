// Config sections for operating cordon (SPEC.md "Operating it"): telemetry, retries, and the
// per-upstream model rewrite. Kept apart from schema.ts, which includes them.
import { z } from 'zod';
import { parseDuration } from './units.js';
import { httpUrl } from './url.js';

/** Why an attempt may be retried: an upstream status, or a connection that never reached it. */
export const RETRY_REASONS = [429, 502, 503, 504, 'connect'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

const retryReason = z.union([z.number(), z.string()]).transform((v, ctx): RetryReason => {
  // YAML may hand a status over as a number or as a quoted string.
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  const found = RETRY_REASONS.find((r) => r === n);
  if (found === undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown retry reason ${JSON.stringify(v)} (one of ${RETRY_REASONS.join(', ')})` });
    return z.NEVER;
  }
  return found;
});

export const retrySchema = z.strictObject({
  on: z.array(retryReason).default(['connect']),
  /** tries in all, the first included: 2 = one retry */
  attempts: z.number().int().min(1).max(10).default(2),
}).default({ on: ['connect'], attempts: 2 });

/** What an upstream speaks; a model rewrite needs a JSON LLM API. */
export const UPSTREAM_APIS = ['openai', 'anthropic', 'mcp', 'other'] as const;
export type UpstreamApi = (typeof UPSTREAM_APIS)[number];

export const upstreamOperatingFields = {
  /** rewrites the request's `model` for this upstream (a fallback to another model or provider) */
  model: z.string().min(1).max(256).optional(),
  api: z.enum(UPSTREAM_APIS).default('openai'),
};

/** Refinement for an upstream entry: `model` only where the body is an LLM JSON request. */
export function checkUpstreamModel(u: { model?: string; api: UpstreamApi }, ctx: z.RefinementCtx): void {
  if (u.model !== undefined && u.api !== 'openai' && u.api !== 'anthropic') {
    ctx.addIssue({ code: 'custom', path: ['model'], message: `a model rewrite needs a JSON LLM API (api: openai or anthropic), not ${u.api}` });
  }
}

const otlpUrl = httpUrl.transform((u) => {
  // The collector's base URL (port 4318) or the full traces URL; spans go to .../v1/traces.
  const base = u.href.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
});

export const telemetrySchema = z.strictObject({
  /** the OTLP/HTTP collector: its base URL (http://host:4318) or the traces URL itself */
  otlp_endpoint: otlpUrl,
  service_name: z.string().min(1).max(128).default('cordon'),
  /** fraction of new traces recorded (a continued trace follows its parent's sampled flag) */
  sample: z.number().min(0).max(1).default(1),
  /** spans waiting for export at most; past it new spans are dropped and counted */
  queue_max: z.number().int().min(16).max(100_000).default(2048),
  /** spans per export request */
  batch_size: z.number().int().min(1).max(10_000).default(512),
  /** how long an export may take before it is given up (and its spans counted as dropped) */
  export_timeout: z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = parseDuration(v);
    if (n === null || n < 1 || n > 60_000) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration from 1ms to 60s (try 2s)' });
      return z.NEVER;
    }
    return n;
  }).default(2_000),
  /** extra headers on each export (a collector's auth token) */
  headers: z.record(z.string(), z.string()).default({}),
}).optional();
