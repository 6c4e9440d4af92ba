// Leak watch: a least-squares trend over a sliding window of samples, for RSS and for each
// component. A series "leaks" when it grows steadily (good linear fit, growth above a floor)
// while the load signal over the same window is flat. Growth that follows load is just load.
import type { MemoryLog } from './types.js';

/** A fixed-capacity ring of (time, value) points with a linear fit. Nothing grows with time. */
export class TrendWindow {
  private readonly t: Float64Array;
  private readonly v: Float64Array;
  private head = 0;
  private n = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 3) throw new RangeError('a trend window needs at least 3 points');
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
  }

  get size(): number { return this.n; }
  get full(): boolean { return this.n === this.capacity; }

  push(tMs: number, value: number): void {
    this.t[this.head] = tMs;
    this.v[this.head] = value;
    this.head = (this.head + 1) % this.capacity;
    if (this.n < this.capacity) this.n++;
  }

  clear(): void { this.head = 0; this.n = 0; }

  /** Least-squares line through the points; null with fewer than 3 points or no time span. */
  fit(): TrendFit | null {
    const n = this.n;
    if (n < 3) return null;
    const start = (this.head - n + this.capacity) % this.capacity;
    const t0 = this.t[start];
    // Times are shifted to the first point so that epoch milliseconds do not cost precision.
    let st = 0, sv = 0;
    for (let i = 0; i < n; i++) {
      const k = (start + i) % this.capacity;
      st += this.t[k] - t0;
      sv += this.v[k];
    }
    const mt = st / n, mv = sv / n;
    let stt = 0, stv = 0, svv = 0;
    let last = t0;
    for (let i = 0; i < n; i++) {
      const k = (start + i) % this.capacity;
      const dt = this.t[k] - t0 - mt;
      const dv = this.v[k] - mv;
      stt += dt * dt;
      stv += dt * dv;
      svv += dv * dv;
      last = this.t[k];
    }
    if (stt === 0) return null;
    const slopePerMs = stv / stt;
    // r² of a flat series is taken as 0: there is no trend to explain.
    const r2 = svv === 0 ? 0 : (stv * stv) / (stt * svv);
    const spanMs = last - t0;
    return { slopePerSecond: slopePerMs * 1000, r2, mean: mv, spanMs, change: slopePerMs * spanMs, points: n };
  }
}

export interface TrendFit {
  /** fitted growth per second, in the series' unit */
  slopePerSecond: number;
  /** goodness of the linear fit, 0..1: near 1 means steady growth, not noise */
  r2: number;
  mean: number;
  spanMs: number;
  /** fitted change across the window (slope × span) */
  change: number;
  points: number;
}

export interface LeakWatchOptions {
  /** how far back the window reaches */
  windowMs: number;
  /** points kept per series; samples closer together than windowMs/points are skipped */
  points: number;
  /** growth over the window must exceed this fraction of the series' mean ... */
  minGrowthRatio: number;
  /** ... and this many bytes, so that small components do not cry wolf */
  minGrowthBytes: number;
  /** the fit must be at least this good: a steady climb, not a sawtooth */
  minR2: number;
  /** load is flat when its fitted change over the window is within this fraction of its mean (or of 1) */
  flatLoadRatio: number;
}

export const DEFAULT_LEAK_WATCH: Readonly<LeakWatchOptions> = {
  windowMs: 10 * 60_000,
  points: 60,
  minGrowthRatio: 0.05,
  minGrowthBytes: 1024 * 1024,
  minR2: 0.8,
  flatLoadRatio: 0.1,
};

/** A series currently suspected of leaking, as shown in /control/memory. */
export interface LeakSuspect {
  series: string;
  slope_bytes_per_s: number;
  growth_bytes: number;
  window_s: number;
  r2: number;
  /** epoch ms when it was first flagged */
  since: number;
}

export class LeakWatch {
  readonly options: Readonly<LeakWatchOptions>;
  private readonly series = new Map<string, TrendWindow>();
  private readonly load: TrendWindow;
  private readonly flagged = new Map<string, LeakSuspect>();
  private lastPointAt = -Infinity;
  private readonly stepMs: number;

  constructor(options: Partial<LeakWatchOptions> = {}, private readonly log?: MemoryLog) {
    this.options = { ...DEFAULT_LEAK_WATCH, ...options };
    this.stepMs = this.options.windowMs / this.options.points;
    this.load = new TrendWindow(this.options.points);
  }

  /**
   * Feeds one sample. Called at every governor sample; points are kept every windowMs/points so that
   * the window covers the configured time whatever the sampling rate. Returns true when it took the point.
   */
  observe(nowMs: number, load: number, values: ReadonlyMap<string, number>): boolean {
    if (nowMs - this.lastPointAt < this.stepMs) return false;
    this.lastPointAt = nowMs;
    this.load.push(nowMs, load);
    for (const [name, value] of values) {
      let w = this.series.get(name);
      if (!w) {
        w = new TrendWindow(this.options.points);
        this.series.set(name, w);
      }
      w.push(nowMs, value);
    }
    this.evaluate(nowMs);
    return true;
  }

  /** Series flagged now, worst first. */
  suspects(): LeakSuspect[] {
    return [...this.flagged.values()].sort((a, b) => b.growth_bytes - a.growth_bytes);
  }

  isSuspect(series: string): boolean { return this.flagged.has(series); }

  /** Drops a series that no longer exists (a component unregistered). */
  forget(series: string): void {
    this.series.delete(series);
    this.flagged.delete(series);
  }

  private loadIsFlat(): boolean {
    const f = this.load.fit();
    if (!f) return false;
    return Math.abs(f.change) <= this.options.flatLoadRatio * Math.max(Math.abs(f.mean), 1);
  }

  private evaluate(nowMs: number): void {
    if (!this.load.full) return;
    const flat = this.loadIsFlat();
    const o = this.options;
    for (const [name, w] of this.series) {
      let suspect = false;
      let fit: TrendFit | null = null;
      if (flat && w.full) {
        fit = w.fit();
        suspect = fit !== null && fit.r2 >= o.minR2
          && fit.change >= Math.max(o.minGrowthBytes, o.minGrowthRatio * Math.abs(fit.mean));
      }
      const was = this.flagged.get(name);
      if (suspect && fit) {
        const entry: LeakSuspect = {
          series: name,
          slope_bytes_per_s: Math.round(fit.slopePerSecond),
          growth_bytes: Math.round(fit.change),
          window_s: Math.round(fit.spanMs / 1000),
          r2: Math.round(fit.r2 * 1000) / 1000,
          since: was?.since ?? nowMs,
        };
        this.flagged.set(name, entry);
        if (!was) this.log?.warn({ leak: entry }, `memory: ${name} grows steadily while load is flat (possible leak)`);
      } else if (was && w.full) {
        // Cleared only on a full window that no longer shows the trend (or load that moved).
        this.flagged.delete(name);
        this.log?.info({ series: name }, `memory: ${name} no longer grows steadily`);
      }
    }
  }
}
