// The shrink-heap action (Envoy's `envoy.overload_actions.shrink_heap`): under pressure, ask V8 for a
// full collection so that the garbage of a burst is freed and its pages returned, instead of waiting
// for V8's own heuristics, which after a burst can keep RSS high for minutes with no allocation to
// trigger a GC; then malloc_trim (malloc-trim.ts) for the native side. A full GC blocks the loop for
// tens of milliseconds, so it is rate-limited and backs off while it frees little (the memory is
// live, not garbage).
import v8 from 'node:v8';
import vm from 'node:vm';
import { mallocTrim, v8MemoryPressure, V8_PRESSURE } from './malloc-trim.js';

let cached: (() => void) | null | undefined;

/** V8's gc(), exposed at run time when the process was not started with --expose-gc; null if unavailable. */
export function exposeGc(): (() => void) | null {
  if (cached !== undefined) return cached;
  try {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') {
      cached = g;
    } else {
      v8.setFlagsFromString('--expose-gc');
      // A fresh context is created after the flag, so it has `gc` as a global.
      cached = vm.runInNewContext('gc') as () => void;
    }
  } catch {
    cached = null;
  }
  return cached;
}

export interface HeapShrinkerOptions {
  /** shortest time between two collections */
  minIntervalMs?: number;
  /** longest back-off while collections free little */
  maxIntervalMs?: number;
  /** a collection that frees less than this share of the used heap doubles the interval */
  usefulRatio?: number;
  gc?: (() => void) | null;
  /** returns freed native memory to the OS after the collection; default malloc_trim when built */
  trim?: (() => unknown) | null;
  /**
   * V8's memory-pressure notification (native/pressure.cc), used in place of gc() when built: the
   * collection it runs also compacts and shrinks the new space (it costs 3-4 times a plain gc()).
   */
  pressure?: ((level: number) => unknown) | null;
  heapUsed?: () => number;
  /** the process's RSS: what the collection and the trim gave back to the OS counts as freed too */
  rss?: () => number;
  now?: () => number;
}

export class HeapShrinker {
  private readonly gc: (() => void) | null;
  private readonly trim: (() => unknown) | null;
  private readonly pressure: ((level: number) => unknown) | null;
  private readonly minInterval: number;
  private readonly maxInterval: number;
  private readonly usefulRatio: number;
  private readonly heapUsed: () => number;
  private readonly rss: () => number;
  private readonly now: () => number;
  private interval: number;
  private lastAt = -Infinity;
  runs = 0;
  freedBytes = 0;

  constructor(opts: HeapShrinkerOptions = {}) {
    // A gc passed in (tests) is used as given; otherwise V8's pressure call when the addon has it,
    // and gc() only without it (exposing gc at run time costs a V8 context, ~1 MiB).
    this.pressure = opts.pressure !== undefined ? opts.pressure : opts.gc !== undefined ? null : v8MemoryPressure();
    this.gc = opts.gc !== undefined ? opts.gc : this.pressure !== null ? null : exposeGc();
    this.trim = opts.trim === undefined ? mallocTrim() : opts.trim;
    this.minInterval = opts.minIntervalMs ?? 1000;
    // Kept short: when load ends, the garbage and the native pages it left must be returned within
    // seconds for pressure to fall back (the 15s recovery target). With a 4s ceiling the last step
    // down came at 14.8s in one overload run (bench/results/memory.md); a full GC every 2s costs
    // 1-2% of a core, and only while pressure is warning or worse.
    this.maxInterval = opts.maxIntervalMs ?? 2000;
    this.usefulRatio = opts.usefulRatio ?? 0.05;
    this.heapUsed = opts.heapUsed ?? (() => v8.getHeapStatistics().used_heap_size);
    this.rss = opts.rss ?? (() => process.memoryUsage.rss());
    this.now = opts.now ?? Date.now;
    this.interval = this.minInterval;
  }

  get available(): boolean { return this.gc !== null || this.pressure !== null; }

  /** Whether native memory is returned too (the malloc_trim addon was built). */
  get trims(): boolean { return this.trim !== null; }

  /** Collects if the interval allows. Returns the bytes freed, or -1 when it did not run. */
  shrink(): number {
    const gc = this.gc;
    const at = this.now();
    if (!this.available || at - this.lastAt < this.interval) return -1;
    this.lastAt = at;
    const before = this.heapUsed();
    const rssBefore = this.rss();
    if (this.pressure !== null) {
      // V8 collects only on the step to critical, so each shrink steps up and back down.
      this.pressure(V8_PRESSURE.critical);
      this.pressure(V8_PRESSURE.none);
    } else {
      gc!();
    }
    // ~1 ms after a burst (measured: 0.6-0.8 ms with a 90 MiB RSS); rate-limited with the collection.
    if (this.trim !== null) this.trim();
    // Freed: what left the heap, or what left the process (pages V8 or glibc returned), whichever is
    // more. After a burst the heap may be clean while RSS is still falling: that is still worth it.
    const freed = Math.max(0, before - this.heapUsed(), rssBefore - this.rss());
    this.runs++;
    this.freedBytes += freed;
    this.interval = freed < before * this.usefulRatio
      ? Math.min(this.maxInterval, this.interval * 2)
      : this.minInterval;
    return freed;
  }

  /** Back to the short interval: a new episode of pressure starts afresh. */
  reset(): void { this.interval = this.minInterval; }

  /**
   * Once, when the gateway starts listening: start-up leaves garbage and half-used pages (module
   * loading, config and presets) that V8 keeps committed; one reduce-memory collection returns them.
   */
  settle(): void {
    if (this.pressure === null) return;
    this.pressure(V8_PRESSURE.critical);
    if (this.trim !== null) this.trim();
    this.pressure(V8_PRESSURE.none);
  }

  /**
   * A plain full collection now, outside the pressure ladder (the caller rate-limits): it frees dead
   * Buffers' memory without the compaction of shrink(), which costs several times more.
   */
  collect(): void {
    const gc = this.gc ?? exposeGc();
    if (gc !== null) gc();
    if (this.trim !== null) this.trim();
  }


}

/**
 * Buffers die with their JS wrappers, and a wrapper that lived a while (a chunk queued for a slow
 * reader) is in the old generation: its backing store is freed only at a full collection, which V8
 * starts for external memory only once 64 MiB more than after the last one is held, whatever the
 * budget. Under a 128 MiB budget that much dead Buffer memory is half of it (measured: 100 paused SSE
 * readers, 21.7 MiB external of which 6.8 MiB live). This watch collects once external memory grew
 * by a sixteenth of the budget since the last collection (at most once per `minIntervalMs`).
 */
export class ExternalGarbageWatch {
  private base = -1;
  private lastAt = -Infinity;
  collections = 0;

  constructor(
    private readonly limitBytes: number,
    private readonly collect: () => void,
    private readonly external: () => number = () => (v8.getHeapStatistics() as { external_memory?: number }).external_memory ?? 0,
    private readonly now: () => number = Date.now,
    private readonly minIntervalMs = 1000,
  ) {}

  /** The growth that starts a collection: 1/16 of the budget, at least 4 MiB. */
  get stepBytes(): number { return Math.max(4 * 1024 * 1024, Math.floor(this.limitBytes / 16)); }

  /** At a sample, with the external bytes it read. Returns whether it collected. */
  check(externalNow: number): boolean {
    if (this.base < 0 || externalNow < this.base) this.base = externalNow;
    if (externalNow - this.base < this.stepBytes) return false;
    const at = this.now();
    if (at - this.lastAt < this.minIntervalMs) return false;
    this.lastAt = at;
    this.collect();
    this.collections++;
    this.base = this.external();
    return true;
  }
}
