// Size-classed buffer pools for the copies that cannot be avoided (reassembling a frame, a bounded
// scan tail). Prefer passing on the chunks the socket gave; take from here only when a copy is needed,
// and only when it is needed (lazily per connection), never at accept.
//
// Each buffer owns its ArrayBuffer (allocUnsafeSlow), so a released buffer can be recognised and reused
// without keeping a slab alive. Free lists are bounded; under pressure they shrink to nothing.
import type { MemoryComponent, PressureLevel } from './types.js';

export const SIZE_CLASSES = [4096, 16384, 65536] as const;

export interface BufferPoolOptions {
  /** bytes each class may keep on its free list at normal pressure (default 1MiB) */
  maxFreeBytesPerClass?: number;
}

export interface BufferPoolStats {
  hits: number;
  misses: number;
  /** requests above the largest class: allocated exactly and never pooled */
  oversize: number;
  /** releases of a buffer this pool did not hand out (or released twice), ignored */
  rejected: number;
  hit_rate: number;
  free_bytes: number;
  outstanding_bytes: number;
  outstanding: number;
}

export class BufferPool implements MemoryComponent {
  private readonly free: Buffer[][] = SIZE_CLASSES.map(() => []);
  private readonly capAtNormal: number[];
  private readonly cap: number[];
  /** buffers handed out and not yet released: guards against double release and foreign buffers */
  private readonly out = new WeakSet<Buffer>();
  private hits = 0;
  private misses = 0;
  private oversize = 0;
  private rejected = 0;
  private outstanding = 0;
  private outstandingBytes = 0;
  private freeBytes = 0;

  constructor(opts: BufferPoolOptions = {}) {
    const perClass = opts.maxFreeBytesPerClass ?? 1024 * 1024;
    this.capAtNormal = SIZE_CLASSES.map((c) => Math.floor(perClass / c));
    this.cap = [...this.capAtNormal];
  }

  /** A buffer of at least `size` bytes: its length is the class size (use subarray), or exactly `size` above 64KiB. */
  acquire(size: number): Buffer {
    if (!(size >= 0)) throw new RangeError(`buffer size must be a non-negative number (got ${size})`);
    const k = classIndex(size);
    if (k < 0) {
      this.oversize++;
      return Buffer.allocUnsafeSlow(size);
    }
    let buf = this.free[k].pop();
    if (buf) {
      this.hits++;
      this.freeBytes -= buf.length;
    } else {
      this.misses++;
      buf = Buffer.allocUnsafeSlow(SIZE_CLASSES[k]);
    }
    this.out.add(buf);
    this.outstanding++;
    this.outstandingBytes += buf.length;
    return buf;
  }

  /** Gives a buffer back (the one acquire returned, not a subarray of it). Returns false (and ignores it) when it was not handed out by this pool. */
  release(buf: Buffer): boolean {
    if (!this.out.has(buf)) {
      this.rejected++;
      return false;
    }
    this.out.delete(buf);
    this.outstanding--;
    this.outstandingBytes -= buf.length;
    const k = classIndex(buf.length);
    if (this.free[k].length < this.cap[k]) {
      this.free[k].push(buf);
      this.freeBytes += buf.length;
    }
    return true;
  }

  /** Drops free buffers down to `keep` of each class's cap (0..1). Returns the bytes let go. */
  trim(keep = 0): number {
    let dropped = 0;
    for (let k = 0; k < SIZE_CLASSES.length; k++) {
      const target = Math.floor(this.cap[k] * keep);
      const list = this.free[k];
      while (list.length > target) {
        dropped += list.pop()!.length;
      }
    }
    this.freeBytes -= dropped;
    return dropped;
  }

  /** Follows the ladder: full free lists at normal, a quarter at warning, none at critical. */
  setPressure(level: PressureLevel): void {
    const f = level === 'normal' ? 1 : level === 'warning' ? 0.25 : 0;
    for (let k = 0; k < SIZE_CLASSES.length; k++) this.cap[k] = Math.floor(this.capAtNormal[k] * f);
    if (level !== 'normal') this.trim(1);
  }

  bytes(): number { return this.freeBytes + this.outstandingBytes; }
  count(): number { return this.outstanding; }

  stats(): BufferPoolStats {
    const asked = this.hits + this.misses;
    return {
      hits: this.hits,
      misses: this.misses,
      oversize: this.oversize,
      rejected: this.rejected,
      hit_rate: asked === 0 ? 0 : Math.round((this.hits / asked) * 10_000) / 10_000,
      free_bytes: this.freeBytes,
      outstanding_bytes: this.outstandingBytes,
      outstanding: this.outstanding,
    };
  }

  details(): Record<string, number> {
    const s = this.stats();
    return { hit_rate: s.hit_rate, hits: s.hits, misses: s.misses, free_bytes: s.free_bytes };
  }
}

function classIndex(size: number): number {
  if (size <= SIZE_CLASSES[0]) return 0;
  if (size <= SIZE_CLASSES[1]) return 1;
  if (size <= SIZE_CLASSES[2]) return 2;
  return -1;
}
