// Per-stream accounts (Envoy's per-connection buffer limit and reset_high_memory_stream, in small).
// Every exchange and WebSocket that can hold bytes in the gateway's own buffers is listed here while
// it lives; it reports what it holds when asked (at a sample, or for /control/memory?top=N), never
// per chunk. The list is intrusive (prev/next fields on the stream), so listing allocates nothing.
//
// The bound itself is applied by the holder: the proxy stops reading the other side once its
// account reaches `limit` (undici pause, socket pause), so the other side's kernel window closes.
import type { MemoryComponent } from './types.js';

export type StreamKind = 'http' | 'sse' | 'upload' | 'websocket';

/** Why a stream was ended by memory/ (the label of cordon_stream_resets_total). */
export type ResetReason = 'memory_critical' | 'stalled_upload';

export interface AccountedStream {
  prevAcct: AccountedStream | null;
  nextAcct: AccountedStream | null;
  /** performance.now() when the stream was listed */
  acctOpenedAt: number;
  acctSessionId(): string | null;
  acctKind(): StreamKind;
  /** bytes held now in userland buffers: queued writes, body bytes not yet forwarded, decoder tails */
  bufferedBytes(): number;
  /** ms since the stream last made progress when the other side stopped sending (a stalled upload), else 0 */
  acctStalledMs?(now: number): number;
  /** ends the stream because memory is critical (SSE: `event: error` overloaded, others closed) */
  resetForMemory(): void;
}

export interface StreamRow {
  session_id: string | null;
  kind: StreamKind;
  buffered_bytes: number;
  age_ms: number;
}

/** Smallest and default per-stream limits (SPEC "Memory limits"), and the limit at warning. */
export const MIN_STREAM_BUFFER = 4 * 1024;
export const DEFAULT_STREAM_BUFFER = 64 * 1024;
export const PRESSURED_STREAM_BUFFER = 16 * 1024;

export class StreamAccounts implements MemoryComponent {
  /** the limit each stream is held to now: the configured one, lowered under pressure */
  limit: number;
  readonly configured: number;
  private head: AccountedStream | null = null;
  private n = 0;
  private readonly resetCounts = new Map<string, number>();
  private readonly resetListeners: Array<(kind: StreamKind, reason: ResetReason, bytes: number) => void> = [];

  constructor(limit: number) {
    this.limit = this.configured = limit;
  }

  add(s: AccountedStream): void {
    if (s.prevAcct !== null || this.head === s) return;
    s.acctOpenedAt = performance.now();
    s.nextAcct = this.head;
    if (this.head !== null) this.head.prevAcct = s;
    this.head = s;
    this.n++;
  }

  remove(s: AccountedStream): void {
    if (s.prevAcct !== null) s.prevAcct.nextAcct = s.nextAcct;
    else if (this.head === s) this.head = s.nextAcct;
    else return; // not listed
    if (s.nextAcct !== null) s.nextAcct.prevAcct = s.prevAcct;
    s.prevAcct = s.nextAcct = null;
    this.n--;
  }

  /** At warning the limit drops to PRESSURED_STREAM_BUFFER (never above the configured one). */
  setPressured(on: boolean): void {
    this.limit = on ? Math.min(this.configured, PRESSURED_STREAM_BUFFER) : this.configured;
  }

  count(): number { return this.n; }

  /** The sum of every account: the `buffers` component of /control/memory. */
  bytes(): number {
    let sum = 0;
    for (let s = this.head; s !== null; s = s.nextAcct) sum += s.bufferedBytes();
    return sum;
  }

  details(): Record<string, number> {
    let resets = 0;
    for (const v of this.resetCounts.values()) resets += v;
    return { limit_bytes: this.limit, resets };
  }

  /** The `n` streams holding the most, largest first. */
  top(n: number): StreamRow[] {
    const now = performance.now();
    const rows: StreamRow[] = [];
    for (let s = this.head; s !== null; s = s.nextAcct) {
      rows.push({ session_id: s.acctSessionId(), kind: s.acctKind(), buffered_bytes: s.bufferedBytes(), age_ms: Math.round(now - s.acctOpenedAt) });
    }
    rows.sort((a, b) => b.buffered_bytes - a.buffered_bytes);
    return rows.length > n ? rows.slice(0, n) : rows;
  }

  /**
   * Resets the streams holding the most, largest first, until their accounts add up to `needBytes`
   * or nothing holding at least `minBytes` is left. Returns the bytes their accounts held.
   */
  resetLargest(needBytes: number, minBytes: number, reason: ResetReason = 'memory_critical'): { streams: number; bytes: number } {
    const held: Array<{ s: AccountedStream; b: number }> = [];
    for (let s = this.head; s !== null; s = s.nextAcct) {
      const b = s.bufferedBytes();
      if (b >= minBytes) held.push({ s, b });
    }
    held.sort((a, b) => b.b - a.b);
    let freed = 0;
    let streams = 0;
    for (const { s, b } of held) {
      if (freed >= needBytes) break;
      this.reset(s, reason);
      freed += b;
      streams++;
    }
    return { streams, bytes: freed };
  }

  /** Resets the streams stalled for at least `stallMs` that hold at least `minBytes`. */
  resetStalled(stallMs: number, minBytes: number): { streams: number; bytes: number } {
    const now = performance.now();
    let stalled: AccountedStream[] | null = null;
    for (let s = this.head; s !== null; s = s.nextAcct) {
      if (s.acctStalledMs !== undefined && s.acctStalledMs(now) >= stallMs && s.bufferedBytes() >= minBytes) (stalled ??= []).push(s);
    }
    let bytes = 0;
    for (const s of stalled ?? []) bytes += this.reset(s, 'stalled_upload');
    return { streams: stalled?.length ?? 0, bytes };
  }

  private reset(s: AccountedStream, reason: ResetReason): number {
    const kind = s.acctKind();
    const b = s.bufferedBytes();
    this.remove(s);
    s.resetForMemory();
    const key = `${kind}:${reason}`;
    this.resetCounts.set(key, (this.resetCounts.get(key) ?? 0) + 1);
    for (const fn of this.resetListeners) fn(kind, reason, b);
    return b;
  }

  /** Resets so far by `kind:reason`. */
  resets(): ReadonlyMap<string, number> { return this.resetCounts; }

  onReset(fn: (kind: StreamKind, reason: ResetReason, bytes: number) => void): void {
    this.resetListeners.push(fn);
  }
}
