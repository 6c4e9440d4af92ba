// The one schema every setting passes through. YAML, env and flags are merged into one raw
// object first (see load.ts); this file turns it into a typed, normalised Config or a list
// of `path: message` problems. Every bound in the program comes from here.
import { z } from 'zod';
import { parseDuration, parseHostPort, parseSize, type HostPort } from './units.js';
import { httpUrl } from './url.js';
import { checkUpstreamModel, retrySchema, telemetrySchema, upstreamOperatingFields } from './operating.js';
import { globSource } from '../tools/glob.js';
import { authSchema, pricingSchema, teamsSchema, upstreamAuthFields } from './spend-schema.js';

const size = () =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = parseSize(v);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: `not a size (try 10MB, 512KiB, 1GB)` });
      return z.NEVER;
    }
    return n;
  });

/** The longest delay a Node timer takes: beyond it node fires after 1ms (with a warning) instead. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/**
 * A duration in milliseconds. `timer` for values that go to setTimeout/setInterval or undici
 * (at most TIMER_MAX_MS, about 24 days); `interval` for periods that must also not be 0, which
 * would make a timer fire every millisecond.
 */
const duration = (kind: 'any' | 'timer' | 'interval' = 'any') =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = parseDuration(v);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: `not a duration (try 500ms, 10s, 5m, 7d)` });
      return z.NEVER;
    }
    if (kind !== 'any' && n > TIMER_MAX_MS) {
      ctx.addIssue({ code: 'custom', message: 'must be at most 24d (2147483647ms)' });
      return z.NEVER;
    }
    if (kind === 'interval' && n < 1) {
      ctx.addIssue({ code: 'custom', message: 'must be at least 1ms' });
      return z.NEVER;
    }
    return n;
  });

const hostPort = z.string().transform((v, ctx): HostPort => {
  const hp = parseHostPort(v);
  if (!hp) {
    ctx.addIssue({ code: 'custom', message: `not HOST:PORT (got "${v}")` });
    return z.NEVER;
  }
  return hp;
});

/** `policy.judge`: an OpenAI-compatible guard model asked about doubtful requests (policy/judge/). */
export const judgeSchema = z.strictObject({
  url: httpUrl,
  model: z.string().min(1, 'must not be empty'),
  when: z.enum(['suspicious', 'all']).default('suspicious'),
  timeout: duration('timer').default(800).refine((n) => n >= 1 && n <= 60_000, { message: 'must be between 1ms and 60s' }),
  on_error: z.enum(['allow', 'block']).default('allow'),
});

export const upstreamSchema = z.strictObject({
  url: httpUrl,
  weight: z.number().int().min(1).max(1000).default(1),
  ...upstreamOperatingFields,
  ...upstreamAuthFields,
}).superRefine(checkUpstreamModel);

/** Tool-name globs (tools/glob.ts); a malformed one is `...allow[i]: why` and exit 2 at start. */
const globList = z.array(z.string().superRefine((g, ctx) => {
  try { globSource(g); } catch (err) { ctx.addIssue({ code: 'custom', message: (err as Error).message }); }
}));
/** `tools: {allow, deny}` in policy.tools and on a key (SPEC "Tools"). */
export const toolListsSchema = z.strictObject({ allow: globList.optional(), deny: globList.optional() });

export const ruleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -'),
  target: z.enum(['request', 'response', 'both', 'tool_call', 'tool_description']).default('both'),
  patterns: z.array(z.string().min(1, 'must not be empty')).min(1).optional(),
  literals: z.array(z.string().min(1, 'must not be empty')).optional(),
  severity: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
  // redact last: the SPEC's example message (must be one of flag, block, terminate) stays a prefix
  action: z.enum(['flag', 'block', 'terminate', 'hold', 'redact']).default('flag'),
  /** metric rules: at most `limit` of `metric` per `window` (window omitted = per session). */
  metric: z.enum(['requests', 'bytes', 'tokens', 'duration', 'tool_calls', 'repeated_tool_call', 'cost_usd']).optional(),
  limit: z.number().positive().optional(),
  window: duration().optional(),
  description: z.string().optional(),
}).superRefine((r, ctx) => {
  const hasPatterns = (r.patterns?.length ?? 0) + (r.literals?.length ?? 0) > 0;
  if (!hasPatterns && !r.metric) {
    ctx.addIssue({ code: 'custom', message: 'a rule needs patterns, literals or a metric', path: [] });
  }
  if (r.metric && r.limit === undefined) {
    ctx.addIssue({ code: 'custom', message: 'a metric rule needs a limit', path: ['limit'] });
  }
  if (r.action === 'hold' && (r.target !== 'tool_call' || r.metric)) {
    ctx.addIssue({ code: 'custom', message: 'hold applies to tool calls only: a pattern rule with target: tool_call', path: ['action'] });
  }
  if (r.action === 'redact' && (r.metric || r.target === 'request' || r.target === 'tool_description')) {
    ctx.addIssue({ code: 'custom', message: 'redact rewrites answers: a pattern rule with target response, both or tool_call', path: ['action'] });
  }
  if (r.metric === 'repeated_tool_call' && r.action === 'hold') {
    ctx.addIssue({ code: 'custom', message: 'repeated_tool_call takes flag, block or terminate', path: ['action'] });
  }
});

export const PROFILES = ['high-density', 'standard', 'forensics'] as const;
export const PRESETS = ['off', 'minimal', 'standard', 'strict'] as const;
export const BALANCES = ['round_robin', 'least_outstanding', 'weighted', 'sticky'] as const;

export const configSchema = z.strictObject({
  listen: hostPort.default({ host: '127.0.0.1', port: 8080 }),
  control_listen: hostPort.default({ host: '127.0.0.1', port: 9090 }),
  upstreams: z.preprocess((v) => v ?? [], z.array(upstreamSchema).min(1, 'at least one upstream is required (--upstream URL or CORDON_UPSTREAM)')),
  balance: z.enum(BALANCES).default('round_robin'),
  retry: retrySchema,
  telemetry: telemetrySchema,
  data_dir: z.string().min(1).default('./data'),
  profile: z.enum(PROFILES).default('standard'),
  mode: z.enum(['enforce', 'audit']).default('enforce'),
  memory_limit: size().optional(),
  max_body: size().default(10 * 1024 * 1024),
  limits: z.strictObject({
    /** bytes one stream may hold in the gateway's buffers before the other side stops being read */
    stream_buffer: size().refine((n) => n >= 4096, { message: 'must be at least 4KiB' }).default(64 * 1024),
  }).default({ stream_buffer: 64 * 1024 }),
  redis: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  drain_timeout: duration('timer').default(10_000),
  /** benchmark-only control endpoints (allocation profiling); never on in production */
  debug_endpoints: z.boolean().default(false),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  timeouts: z.strictObject({
    connect: duration('timer').default(5_000),
    headers: duration('timer').default(60_000),
    /** longest silence between two body chunks from the upstream */
    body: duration('timer').default(300_000),
    /** idle keep-alive sockets to an upstream are closed after this */
    keep_alive: duration('timer').default(30_000),
  }).default({ connect: 5_000, headers: 60_000, body: 300_000, keep_alive: 30_000 }),
  health: z.strictObject({
    eject_after: z.number().int().min(1).default(3),
    cooloff: duration().default(10_000),
    /** successive ejections last cooloff × times ejected, up to this (Envoy's max_ejection_time) */
    max_cooloff: duration().default(300_000),
    /** active check: GET this path on each upstream every `interval`; off when unset */
    path: z.string().startsWith('/').optional(),
    interval: duration('interval').default(5_000),
  }).default({ eject_after: 3, cooloff: 10_000, max_cooloff: 300_000, interval: 5_000 }),
  upstream_pool: z.strictObject({
    /** sockets per upstream; 0 = unlimited. Each live SSE stream holds one, so a cap queues streams. */
    connections: z.number().int().min(0).max(100_000).default(0),
    pipelining: z.number().int().min(1).max(64).default(1),
    tls_verify: z.boolean().default(true),
  }).default({ connections: 0, pipelining: 1, tls_verify: true }),
  sessions: z.strictObject({
    idle_timeout: duration().default(300_000),
    /** an idle session is completed and its slot freed after this much more silence */
    complete_after: duration().default(300_000),
    max: z.number().int().min(100).max(50_000_000).optional(),
  }).default({ idle_timeout: 300_000, complete_after: 300_000 }),
  storage: z.strictObject({
    retention: duration().default(7 * 86_400_000),
    flush_interval: duration('interval').default(50),
    queue_max: z.number().int().min(100).max(10_000_000).default(50_000),
  }).default({ retention: 7 * 86_400_000, flush_interval: 50, queue_max: 50_000 }),
  memory: z.strictObject({
    warning: z.number().gt(0).lt(1).default(0.8),
    critical: z.number().gt(0).lt(1).default(0.95),
    sample_interval: duration('interval').default(1_000),
  }).default({ warning: 0.8, critical: 0.95, sample_interval: 1_000 }).refine(
    (m) => m.warning < m.critical, { message: 'warning must be below critical' }),
  policy: z.strictObject({
    preset: z.enum(PRESETS).default('standard'),
    rules: z.array(ruleSchema).default([]),
    tools: toolListsSchema.optional(),
    /** a held tool call not decided within this is denied */
    approval_timeout: duration('timer').default(300_000),
    /** pending holds one session may have at once; the next held call is denied at once */
    max_pending_approvals: z.number().int().min(1).max(1000).default(16),
    judge: judgeSchema.optional(),
    /** a whole JSON answer is held up to this many bytes until scanned (block: 403; redact: rewritten) */
    hold_response_max: size().refine((n) => n >= 1024 && n <= 1024 * 1024 * 1024, { message: 'must be between 1KiB and 1GiB' }).default(1024 * 1024),
  }).default({ preset: 'standard', rules: [], approval_timeout: 300_000, max_pending_approvals: 16, hold_response_max: 1024 * 1024 }),
  websocket: z.strictObject({
    max_frame: size().default(1024 * 1024),
    permessage_deflate: z.boolean().default(false),
    idle_timeout: duration('timer').default(600_000),
  }).default({ max_frame: 1024 * 1024, permessage_deflate: false, idle_timeout: 600_000 }),
  fleet: z.strictObject({
    on_redis_down: z.enum(['serve', 'refuse']).default('serve'),
    instance_id: z.string().min(1).max(64).optional(),
    /**
     * how often counter deltas are written to Redis: the staleness of the fleet-wide counters, and
     * the write-behind's cost (one HINCRBY set per session touched per interval, on both sides)
     */
    flush_interval: duration('interval').default(1_000),
  }).default({ on_redis_down: 'serve', flush_interval: 1_000 }),
  control: z.strictObject({
    /** names (or name:port) besides the bound address and localhost that the control Host may be */
    // from a flag or env: a comma-separated list
    allowed_hosts: z.preprocess((v) => (typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v),
      z.array(z.string().min(1).max(253))).default([]),
  }).default({ allowed_hosts: [] }),
  auth: authSchema.default({ required: false, keys: [] }),
  teams: teamsSchema.default({}),
  pricing: pricingSchema.default({}),
  tls: z.strictObject({
    cert: z.string().min(1),
    key: z.string().min(1),
    sni: z.array(z.strictObject({ servername: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) })).default([]),
    cache_size: z.number().int().min(1).max(100_000).default(100),
  }).optional(),
});

export type RawConfig = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema> & { memory_limit: number };
export type RuleConfig = z.output<typeof ruleSchema>;
export type JudgeConfig = z.output<typeof judgeSchema>;
export type Profile = (typeof PROFILES)[number];
export type Preset = (typeof PRESETS)[number];
export type Balance = (typeof BALANCES)[number];
