// Per-session latency percentiles in a fixed-size sketch: 24 logarithmic buckets (each 1.6× the
// last, 1ms to ~50s; a percentile is off by at most ±26%) for the time to the first byte and 24 for
// the total, one byte a bucket: 48 bytes a session, whatever its number of requests. A bucket that
// reaches 255 halves all of its sketch, so old requests weigh less than recent ones.
// Sketches live in pages of 1024 sessions, created when a session of the page first records:
// a session that never got an answer costs nothing here.
import type { Percentiles } from '../sessions/types.js';

const BUCKETS = 24;
const PER_SLOT = BUCKETS * 2;
const PAGE_SHIFT = 10;
const PAGE = 1 << PAGE_SHIFT;
const LOG_BASE = Math.log(1.6);

function bucketOf(ms: number): number {
  if (!(ms > 1)) return 0;
  const b = Math.ceil(Math.log(ms) / LOG_BASE);
  return b >= BUCKETS ? BUCKETS - 1 : b;
}

/** The middle (geometric) of a bucket, in ms, rounded to 0.1. */
function valueOf(b: number): number {
  return b === 0 ? 1 : Math.round(Math.pow(1.6, b - 0.5) * 10) / 10;
}

export class LatencySketches {
  private readonly pages: (Uint8Array | undefined)[] = [];

  record(slot: number, ttfbMs: number, totalMs: number): void {
    const p = slot >>> PAGE_SHIFT;
    const page = this.pages[p] ??= new Uint8Array(PAGE * PER_SLOT);
    const at = (slot & (PAGE - 1)) * PER_SLOT;
    bump(page, at, bucketOf(ttfbMs));
    bump(page, at + BUCKETS, bucketOf(totalMs));
  }

  clear(slot: number): void {
    const page = this.pages[slot >>> PAGE_SHIFT];
    if (page === undefined) return;
    const at = (slot & (PAGE - 1)) * PER_SLOT;
    page.fill(0, at, at + PER_SLOT);
  }

  /** [time to first byte, total], or null before the first answer. */
  percentiles(slot: number): [Percentiles, Percentiles] | null {
    const page = this.pages[slot >>> PAGE_SHIFT];
    if (page === undefined) return null;
    const at = (slot & (PAGE - 1)) * PER_SLOT;
    const ttfb = pct(page, at);
    return ttfb === null ? null : [ttfb, pct(page, at + BUCKETS)!];
  }

  bytes(): number {
    let n = 0;
    for (const p of this.pages) if (p !== undefined) n += p.byteLength;
    return n;
  }
}

function bump(page: Uint8Array, at: number, b: number): void {
  if (page[at + b] === 255) for (let i = 0; i < BUCKETS; i++) page[at + i] >>>= 1;
  page[at + b]++;
}

function pct(page: Uint8Array, at: number): Percentiles | null {
  let total = 0;
  for (let i = 0; i < BUCKETS; i++) total += page[at + i];
  if (total === 0) return null;
  const want = [0.5, 0.95, 0.99].map((q) => Math.max(1, Math.ceil(q * total)));
  const out = [0, 0, 0];
  let seen = 0;
  let k = 0;
  for (let i = 0; i < BUCKETS && k < 3; i++) {
    seen += page[at + i];
    while (k < 3 && seen >= want[k]) out[k++] = valueOf(i);
  }
  return { p50: out[0], p95: out[1], p99: out[2] };
}
