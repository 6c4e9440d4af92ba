// Metric rules that enforce per session: requests, bytes, tokens, tool calls per window (or per
// session when no window is set) and session duration. Each windowed counter is the two-counter
// sliding window (previous and current fixed windows, the previous weighted by how much of it still
// overlaps), as NGINX and Cloudflare count rates: three numbers, never a list of timestamps.
// State lives in a lazy side map keyed by session slot, created on first use, dropped on release.
import type { Direction } from '../events.js';
import type { CompiledRule, Metric } from './compile.js';
import type { Hit } from './types.js';

/** per rule: window start (ms), previous window's count, current window's count */
const W = 3;

export class MetricTable {
  private readonly state = new Map<number, Float64Array>();
  private readonly started = new Map<number, number>();
  readonly has: Record<Metric, boolean>;

  constructor(private readonly rules: readonly CompiledRule[]) {
    // cost_usd rules are the spend part's (spend/budgets.ts); the gateway does not pass them here
    this.has = { requests: false, bytes: false, tokens: false, duration: false, tool_calls: false, repeated_tool_call: false, cost_usd: false };
    for (const r of rules) this.has[r.metric!] = true;
  }

  get size(): number {
    return this.rules.length;
  }

  bytes(): number {
    // Map entry ~40B + typed array header ~100B + 8B a number
    return this.state.size * (140 + this.rules.length * W * 8) + this.started.size * 40;
  }

  release(slot: number): void {
    this.state.delete(slot);
    this.started.delete(slot);
  }

  private row(slot: number, now: number): Float64Array {
    let st = this.state.get(slot);
    if (!st) {
      st = new Float64Array(this.rules.length * W);
      for (let k = 0; k < this.rules.length; k++) st[k * W] = now;
      this.state.set(slot, st);
    }
    return st;
  }

  /** Moves rule k's window forward to `now`. */
  private roll(st: Float64Array, k: number, now: number): void {
    const w = this.rules[k].windowMs;
    if (w <= 0) return;
    const b = k * W;
    const elapsed = now - st[b];
    if (elapsed < w) return;
    st[b + 1] = elapsed >= 2 * w ? 0 : st[b + 2];
    st[b + 2] = 0;
    st[b] += Math.floor(elapsed / w) * w;
  }

  /** The current count of rule k: weighted previous window plus the current one. */
  private estimate(st: Float64Array, k: number, now: number): number {
    const w = this.rules[k].windowMs;
    const b = k * W;
    if (w <= 0) return st[b + 2];
    const frac = Math.min(1, (now - st[b]) / w);
    return st[b + 1] * (1 - frac) + st[b + 2];
  }

  /** Milliseconds until `need` more fits under rule k's limit (0 if it fits; -1 if never, per-session rules). */
  private waitMs(st: Float64Array, k: number, now: number, need: number): number {
    const r = this.rules[k];
    const w = r.windowMs;
    const b = k * W;
    if (this.estimate(st, k, now) + need <= r.limit) return 0;
    if (w <= 0) return -1;
    const e = now - st[b];
    const prev = st[b + 1];
    const cur = st[b + 2];
    const room = r.limit - need - cur;
    if (room >= 0 && prev > 0) return Math.max(0, w * (1 - room / prev) - e);
    if (r.limit - need < 0) return 2 * w;
    const t2 = cur > 0 ? w * (1 - (r.limit - need) / cur) : 0;
    return w - e + Math.max(0, t2);
  }

  private hit(k: number, direction: Direction, value: number, waitMs: number): Hit {
    const r = this.rules[k];
    const per = r.windowMs > 0 ? `per ${r.windowMs / 1000}s` : 'per session';
    const hit: Hit = {
      rule: r.name, severity: r.severity, action: r.action, direction,
      excerpt: `${r.metric}: ${Math.round(value)} over the limit of ${r.limit} ${per}`,
    };
    if (waitMs > 0 && r.action !== 'flag') hit.retry_after = Math.max(1, Math.ceil(waitMs / 1000));
    return hit;
  }

  /**
   * Before a request goes upstream: counts it (unless refused) and its bytes, and refuses it when a
   * request rate, bytes, tokens or tool-call budget is spent, or the session is older than its limit.
   */
  checkRequest(slot: number, bodyBytes: number, mcpToolCall: boolean, now: number): Hit[] | null {
    if (this.rules.length === 0) return null;
    const st = this.row(slot, now);
    let out: Hit[] | null = null;
    if (this.has.duration && !this.started.has(slot)) this.started.set(slot, now);
    for (let k = 0; k < this.rules.length; k++) {
      const r = this.rules[k];
      this.roll(st, k, now);
      let h: Hit | null = null;
      switch (r.metric) {
        case 'requests': {
          const wait = this.waitMs(st, k, now, 1);
          if (wait !== 0) h = this.hit(k, 'request', this.estimate(st, k, now) + 1, wait);
          else st[k * W + 2] += 1;
          break;
        }
        case 'bytes':
          st[k * W + 2] += bodyBytes;
          if (this.estimate(st, k, now) > r.limit) h = this.hit(k, 'request', this.estimate(st, k, now), this.waitMs(st, k, now, 0));
          break;
        case 'tokens':
          if (this.estimate(st, k, now) >= r.limit) h = this.hit(k, 'request', this.estimate(st, k, now), this.waitMs(st, k, now, 1));
          break;
        case 'tool_calls':
          if (mcpToolCall) {
            const wait = this.waitMs(st, k, now, 1);
            if (wait !== 0) h = this.hit(k, 'request', this.estimate(st, k, now) + 1, wait);
            else st[k * W + 2] += 1;
          } else if (this.estimate(st, k, now) >= r.limit) {
            h = this.hit(k, 'request', this.estimate(st, k, now), this.waitMs(st, k, now, 1));
          }
          break;
        case 'duration': {
          const secs = (now - (this.started.get(slot) ?? now)) / 1000;
          if (secs > r.limit) h = this.hit(k, 'request', secs, -1);
          break;
        }
        default:
          break;
      }
      if (h) (out ??= []).push(h);
    }
    return out;
  }

  /** Adds to a metric's current window (response bytes as they stream, tokens and tool calls at the end). */
  add(slot: number, metric: Metric, amount: number, now: number): void {
    if (!this.has[metric] || amount <= 0) return;
    const st = this.row(slot, now);
    for (let k = 0; k < this.rules.length; k++) {
      if (this.rules[k].metric !== metric) continue;
      this.roll(st, k, now);
      st[k * W + 2] += amount;
    }
  }

  /** Mid-stream: rules of this metric that `extra` not yet added would put over the limit. */
  checkStream(slot: number, metric: Metric, extra: number, now: number, reported: number[] | null): Hit[] | null {
    if (!this.has[metric]) return null;
    const st = this.row(slot, now);
    let out: Hit[] | null = null;
    for (let k = 0; k < this.rules.length; k++) {
      const r = this.rules[k];
      if (r.metric !== metric || (reported && reported.includes(k))) continue;
      this.roll(st, k, now);
      const v = this.estimate(st, k, now) + extra;
      if (v > r.limit) (out ??= []).push(this.hit(k, 'response', v, 0));
    }
    return out;
  }

  /** Index of a rule by name among metric rules, for once-per-stream bookkeeping. */
  indexOf(name: string): number {
    return this.rules.findIndex((r) => r.name === name);
  }
}
