// `metric: repeated_tool_call`: the same tool with the same arguments, counted per session in a
// fixed window per rule. Memory is bounded: one entry per (session, call) pair, at most maxEntries
// in all; when full, entries whose window has passed go first, then the oldest.
import type { Hit } from '../policy/types.js';
import type { LoopRule } from './rules.js';

interface Entry { start: number; count: number; reported: number }

/** Bytes an entry costs: the key string (session ID + 16 hex chars), the Map slot and the entry. */
const ENTRY_BYTES = 200;

export class LoopGuard {
  private readonly entries = new Map<string, Entry>();
  /** the longest window of the rules (0 = per session) */
  private readonly windowMs: number;

  constructor(private readonly rules: readonly LoopRule[], private readonly maxEntries = 50_000) {
    this.windowMs = rules.reduce((m, r) => (r.windowMs === 0 ? Number.POSITIVE_INFINITY : Math.max(m, r.windowMs)), 0);
  }

  get size(): number { return this.entries.size; }
  bytes(): number { return this.entries.size * ENTRY_BYTES; }

  /**
   * Counts one call (`callKey`: a hash of tool name and arguments) and returns the hits of rules
   * it takes past their limit (each rule reports once per window, not on every further call).
   */
  count(sessionId: string, callKey: string, tool: string, nowMs: number): Hit[] | null {
    const key = `${sessionId}\0${callKey}`;
    let e = this.entries.get(key);
    if (e === undefined || nowMs - e.start >= this.windowMs) {
      if (e === undefined && this.entries.size >= this.maxEntries) this.evict(nowMs);
      e = { start: nowMs, count: 0, reported: 0 };
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    e.count++;
    let hits: Hit[] | null = null;
    for (let i = 0; i < this.rules.length && i < 31; i++) {
      const r = this.rules[i];
      // a rule with a shorter window than the entry's counts only what falls in the current entry;
      // the entry restarts at the longest window, so short windows are approximated from above
      if (e.count <= r.limit || (e.reported & (1 << i)) !== 0) continue;
      e.reported |= 1 << i;
      (hits ??= []).push({
        rule: r.name, severity: r.severity, action: r.action, direction: 'response',
        excerpt: `${tool} called ${e.count} times with the same arguments`,
      });
    }
    return hits;
  }

  /** A session ended: its entries go. */
  forget(sessionId: string): void {
    const prefix = `${sessionId}\0`;
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  private evict(nowMs: number): void {
    // Map order is insertion order: the front holds the oldest windows
    let n = 0;
    for (const [k, e] of this.entries) {
      if (nowMs - e.start < this.windowMs && n > 0) break;
      this.entries.delete(k);
      if (++n >= 64) break;
    }
  }
}
