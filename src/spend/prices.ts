// USD per million tokens. The built-in table is dated: prices change, so an operator overrides or
// adds models with `pricing:` in the config. A model name matches its longest listed prefix at a
// `-` boundary, so the upstream's dated names (gpt-4o-2024-08-06, claude-sonnet-4-20250514) find
// their family. Unknown models cost 0 and are named in /metrics as such.
import type { PriceConfig } from '../config/spend-schema.js';

/** When the built-in table was checked against the providers' public price pages. */
export const PRICES_AS_OF = '2025-11-01';

export interface Price {
  input: number;
  output: number;
  /** cache reads: OpenAI cached_tokens, Anthropic cache_read_input_tokens */
  cachedInput: number;
  /** Anthropic cache_creation_input_tokens */
  cacheWrite: number;
}

// Sources: openai.com/api/pricing and docs.anthropic.com/en/docs/about-claude/pricing (standard
// tier, as of PRICES_AS_OF). [input, output, cached input, cache write]
const BUILT_IN: Record<string, [number, number, number, number]> = {
  'gpt-5': [1.25, 10, 0.125, 1.25],
  'gpt-5-mini': [0.25, 2, 0.025, 0.25],
  'gpt-5-nano': [0.05, 0.4, 0.005, 0.05],
  'gpt-4.1': [2, 8, 0.5, 2],
  'gpt-4.1-mini': [0.4, 1.6, 0.1, 0.4],
  'gpt-4.1-nano': [0.1, 0.4, 0.025, 0.1],
  'gpt-4o': [2.5, 10, 1.25, 2.5],
  'gpt-4o-mini': [0.15, 0.6, 0.075, 0.15],
  'gpt-4-turbo': [10, 30, 10, 10],
  'gpt-3.5-turbo': [0.5, 1.5, 0.5, 0.5],
  'o1': [15, 60, 7.5, 15],
  'o3': [2, 8, 0.5, 2],
  'o3-mini': [1.1, 4.4, 0.55, 1.1],
  'o4-mini': [1.1, 4.4, 0.275, 1.1],
  'claude-opus-4-5': [5, 25, 0.5, 6.25],
  'claude-opus-4-1': [15, 75, 1.5, 18.75],
  'claude-opus-4': [15, 75, 1.5, 18.75],
  'claude-sonnet-4-5': [3, 15, 0.3, 3.75],
  'claude-sonnet-4': [3, 15, 0.3, 3.75],
  'claude-haiku-4-5': [1, 5, 0.1, 1.25],
  'claude-3-7-sonnet': [3, 15, 0.3, 3.75],
  'claude-3-5-sonnet': [3, 15, 0.3, 3.75],
  'claude-3-5-haiku': [0.8, 4, 0.08, 1],
  'claude-3-haiku': [0.25, 1.25, 0.03, 0.3],
};

const CACHE_MAX = 1024;

export class PriceTable {
  private readonly table = new Map<string, Price>();
  private readonly resolved = new Map<string, Price | null>();

  constructor(overrides: Record<string, PriceConfig> = {}) {
    for (const [m, [i, o, c, w]] of Object.entries(BUILT_IN)) this.table.set(m, { input: i, output: o, cachedInput: c, cacheWrite: w });
    for (const [m, p] of Object.entries(overrides)) {
      this.table.set(m, { input: p.input, output: p.output, cachedInput: p.cached_input ?? p.input, cacheWrite: p.cache_write ?? p.input });
    }
  }

  /** The price of a model (exact name, else its longest listed prefix ending before a `-`), or null. */
  priceOf(model: string): Price | null {
    const hit = this.resolved.get(model);
    if (hit !== undefined) return hit;
    let found: Price | null = this.table.get(model) ?? null;
    if (found === null) {
      let best = 0;
      for (const [name, price] of this.table) {
        if (name.length > best && model.length > name.length && model.startsWith(name) && model.charCodeAt(name.length) === 0x2d) {
          best = name.length;
          found = price;
        }
      }
    }
    if (this.resolved.size >= CACHE_MAX) this.resolved.clear();
    this.resolved.set(model, found);
    return found;
  }

  /**
   * USD for one response. `input` counts uncached input; `cached` cache reads; `cacheWrite`
   * Anthropic cache writes.
   */
  cost(model: string | null, input: number, output: number, cached: number, cacheWrite: number): number {
    if (model === null) return 0;
    const p = this.priceOf(model);
    if (p === null) return 0;
    return (input * p.input + output * p.output + cached * p.cachedInput + cacheWrite * p.cacheWrite) / 1e6;
  }
}
