// The config of keys, teams, budgets and prices (SPEC.md "Agents, keys and spend"). Kept apart from
// schema.ts so that the keys and spend parts own their settings; schema.ts only mounts them.
import { z } from 'zod';
import { parseDuration } from './units.js';

const NAME_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const NAME_MSG = 'must be 1-64 characters of A-Z a-z 0-9 . _ : -';

/** A budget window: at least a second (a smaller one is a rate limit, not a budget), at most a year. */
const windowMs = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseDuration(v);
  if (n === null || n < 1000 || n > 366 * 86_400_000) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration from 1s to 366d (try 1h, 1d, 30d)' });
    return z.NEVER;
  }
  return n;
});

/** A price or amount: a finite number >= 0 (YAML `"2.5"` or `-1` is refused, not coerced). */
const amount = (what: string) => z.unknown().transform((v, ctx) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    ctx.addIssue({ code: 'custom', message: `${what} must be a number >= 0` });
    return z.NEVER;
  }
  return v;
});

export const budgetSchema = z.strictObject({
  usd: z.number().positive('must be above 0').finite().optional(),
  tokens: z.number().int().positive('must be above 0').optional(),
  window: windowMs.optional(),
}).superRefine((b, ctx) => {
  if ((b.usd === undefined) === (b.tokens === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'a budget needs exactly one of usd or tokens', path: [] });
  }
  if (b.window === undefined) ctx.addIssue({ code: 'custom', message: 'a budget needs a window (e.g. 1d)', path: ['window'] });
}).transform((b) => ({ usd: b.usd, tokens: b.tokens, window: b.window as number }));

export const toolsSchema = z.strictObject({
  allow: z.array(z.string().min(1)).optional(),
  deny: z.array(z.string().min(1)).optional(),
});

export const keySchema = z.strictObject({
  id: z.string().regex(NAME_RE, NAME_MSG),
  key_sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (sha256 of the key)').transform((s) => s.toLowerCase()),
  agent: z.string().regex(NAME_RE, NAME_MSG),
  team: z.string().regex(NAME_RE, NAME_MSG).optional(),
  budget: budgetSchema.optional(),
  tools: toolsSchema.optional(),
});

export const authSchema = z.strictObject({
  required: z.boolean().default(false),
  keys: z.array(keySchema).default([]),
}).superRefine((a, ctx) => {
  const ids = new Set<string>();
  const hashes = new Set<string>();
  a.keys.forEach((k, i) => {
    if (ids.has(k.id)) ctx.addIssue({ code: 'custom', message: `duplicate key id "${k.id}"`, path: ['keys', i, 'id'] });
    if (hashes.has(k.key_sha256)) ctx.addIssue({ code: 'custom', message: 'the same key hash is listed twice', path: ['keys', i, 'key_sha256'] });
    ids.add(k.id);
    hashes.add(k.key_sha256);
  });
});

export const teamsSchema = z.record(z.string().regex(NAME_RE, NAME_MSG), z.strictObject({ budget: budgetSchema.optional() }));

export const priceSchema = z.strictObject({
  input: amount('input'),
  output: amount('output'),
  /** cache reads (OpenAI cached_tokens, Anthropic cache_read_input_tokens); default: input */
  cached_input: amount('cached_input').optional(),
  /** Anthropic cache writes (cache_creation_input_tokens); default: input */
  cache_write: amount('cache_write').optional(),
});

/** USD per million tokens, by model name (a prefix of the upstream's dated model names matches). */
export const pricingSchema = z.record(z.string().min(1).max(128), priceSchema);

export const upstreamAuthFields = {
  /** the environment variable holding the operator's credential for this upstream */
  api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name').optional(),
  auth_header: z.enum(['authorization', 'x-api-key']).default('authorization'),
};

export type BudgetConfig = z.output<typeof budgetSchema>;
export type KeyConfig = z.output<typeof keySchema>;
export type PriceConfig = z.output<typeof priceSchema>;

/** The body of POST /control/keys. */
export const newKeySchema = z.strictObject({
  agent: z.string().regex(NAME_RE, NAME_MSG),
  team: z.string().regex(NAME_RE, NAME_MSG).optional(),
  budget: budgetSchema.optional(),
  tools: toolsSchema.optional(),
});
