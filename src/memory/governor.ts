// The memory governor: Envoy's overload manager in small. A monitor (sampled RSS, the ground truth)
// is compared with one budget; thresholds turn the ratio into a pressure level; actions subscribe to
// levels (actions.ts). Components report their bytes so that RSS is explained, not just watched.
//
// The hot path reads `pressure` (a field), never samples. Sampling runs on an unref'd timer.
import v8 from 'node:v8';
import { LeakWatch, type LeakSuspect, type LeakWatchOptions } from './trend.js';
import {
  LEVEL_RANK, REQUIRED_COMPONENTS, silentLog,
  type MemoryComponent, type MemoryLog, type MemorySample, type MemorySampler, type PressureLevel,
} from './types.js';

export interface GovernorOptions {
  /** the one budget, in bytes (Config.memory_limit) */
  limitBytes: number;
  /** ratio of the limit at which pressure becomes warning (Config.memory.warning, default 0.8) */
  warning?: number;
  /** ratio at which it becomes critical (Config.memory.critical, default 0.95) */
  critical?: number;
  /** a level is left only once the ratio is this far below its threshold (default 0.05) */
  hysteresis?: number;
  /** sampling period at normal pressure (Config.memory.sample_interval, default 1000) */
  sampleIntervalMs?: number;
  /**
   * sampling period while not normal, or normal but within `approach` of warning: faster, so that a
   * burst is caught before it overshoots and recovery is seen sooner (default min(100, sampleIntervalMs))
   */
  pressuredIntervalMs?: number;
  /** how far below warning (as a ratio of the limit) fast sampling starts (default 0.15) */
  approach?: number;
  log?: MemoryLog;
  /** where readings come from; tests inject a fake */
  sampler?: MemorySampler;
  /** clock in epoch ms; tests inject a fake */
  now?: () => number;
  /** bytes of the runtime itself (code, V8, modules); default: RSS minus components at the first sample */
  baselineBytes?: number;
  /** leak watch settings, or false to turn it off */
  leakWatch?: Partial<LeakWatchOptions> | false;
  /** the load signal the leak watch compares with; default: count() of sessions plus websockets */
  load?: () => number;
  /** Retry-After seconds for the 503 `overloaded` answered at critical */
  retryAfterSeconds?: number;
}

export type PressureListener = (level: PressureLevel, prev: PressureLevel) => void;
export type SampleListener = (level: PressureLevel) => void;

/** The JSON of GET /control/memory (SPEC.md), plus figures that help an operator. */
export interface MemorySnapshot {
  limit_bytes: number;
  rss_bytes: number;
  pressure: PressureLevel;
  components: Record<string, ComponentFigures>;
  heap_used_bytes: number;
  heap_total_bytes: number;
  external_bytes: number;
  peak_rss_bytes: number;
  usage_ratio: number;
  thresholds: { warning: number; critical: number; hysteresis: number };
  transitions: { total: number; to_normal: number; to_warning: number; to_critical: number };
  last_transition: { from: PressureLevel; to: PressureLevel; at: string } | null;
  sampled_at: string | null;
  leak_suspects: LeakSuspect[];
}

export interface ComponentFigures {
  bytes: number;
  count?: number;
  [extra: string]: number | undefined;
}

/** Reads RSS cheaply (process.memoryUsage.rss avoids walking the heap) and V8's heap figures. */
export const processSampler: MemorySampler = () => {
  const h = v8.getHeapStatistics();
  return {
    rss: process.memoryUsage.rss(),
    heapUsed: h.used_heap_size,
    heapTotal: h.total_heap_size,
    external: (h as { external_memory?: number }).external_memory ?? 0,
  };
};

/**
 * The next level for a usage ratio. Rising is immediate; falling leaves a level only once the ratio
 * is `hysteresis` below that level's threshold, so that a ratio hovering at a threshold does not flap.
 */
export function nextLevel(current: PressureLevel, ratio: number, warning: number, critical: number, hysteresis: number): PressureLevel {
  const raw: PressureLevel = ratio >= critical ? 'critical' : ratio >= warning ? 'warning' : 'normal';
  if (LEVEL_RANK[raw] >= LEVEL_RANK[current]) return raw;
  if (current === 'critical' && ratio >= critical - hysteresis) return 'critical';
  return ratio >= warning - hysteresis ? 'warning' : 'normal';
}

const UNATTRIBUTED = 'unattributed';
const RUNTIME = 'runtime';

export class MemoryGovernor {
  readonly limitBytes: number;
  readonly warning: number;
  readonly critical: number;
  readonly hysteresis: number;
  readonly sampleIntervalMs: number;
  readonly pressuredIntervalMs: number;
  readonly approach: number;
  readonly retryAfterSeconds: number;

  private level: PressureLevel = 'normal';
  private readonly components = new Map<string, MemoryComponent>();
  private readonly pressureListeners: PressureListener[] = [];
  private readonly sampleListeners: SampleListener[] = [];
  private readonly log: MemoryLog;
  private readonly sampler: MemorySampler;
  private readonly now: () => number;
  private readonly leakWatch: LeakWatch | null;
  private readonly loadSignal: () => number;
  private baseline: number | null;
  private last: MemorySample | null = null;
  private lastAt: number | null = null;
  private peakRss = 0;
  private readonly entered = { normal: 0, warning: 0, critical: 0 };
  private lastTransition: MemorySnapshot['last_transition'] = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly failing = new Set<string>();

  constructor(opts: GovernorOptions) {
    const warning = opts.warning ?? 0.8;
    const critical = opts.critical ?? 0.95;
    if (!(opts.limitBytes > 0)) throw new RangeError('memory limit must be a positive number of bytes');
    if (!(warning > 0 && warning < critical && critical < 1 + 1e-9)) {
      throw new RangeError('thresholds must satisfy 0 < warning < critical <= 1');
    }
    this.limitBytes = opts.limitBytes;
    this.warning = warning;
    this.critical = critical;
    this.hysteresis = opts.hysteresis ?? 0.05;
    this.sampleIntervalMs = opts.sampleIntervalMs ?? 1000;
    // Reading RSS costs microseconds (one read of /proc/self/stat), so sampling at 100ms is cheap.
    this.pressuredIntervalMs = opts.pressuredIntervalMs ?? Math.min(100, this.sampleIntervalMs);
    this.approach = opts.approach ?? 0.15;
    this.retryAfterSeconds = opts.retryAfterSeconds ?? 5;
    this.log = opts.log ?? silentLog;
    this.sampler = opts.sampler ?? processSampler;
    this.now = opts.now ?? Date.now;
    this.baseline = opts.baselineBytes ?? null;
    this.leakWatch = opts.leakWatch === false ? null : new LeakWatch(opts.leakWatch ?? {}, this.log);
    this.loadSignal = opts.load ?? (() => this.countOf('sessions') + this.countOf('websockets'));
  }

  /** The current level: a field read, for the hot path. */
  get pressure(): PressureLevel { return this.level; }
  /** True at critical: new sessions and requests get 503 `overloaded` with Retry-After. */
  get overloaded(): boolean { return this.level === 'critical'; }
  get rssBytes(): number { return this.last?.rss ?? 0; }
  get heapUsedBytes(): number { return this.last?.heapUsed ?? 0; }
  /** V8's external memory (Buffer backing stores) at the last sample */
  get externalBytes(): number { return this.last?.external ?? 0; }

  /** Adds a component under a name (the SPEC names: sessions, buffers, scanners, captures, websockets, storage_queue, upstreams). */
  register(name: string, component: MemoryComponent): () => void {
    if (name === UNATTRIBUTED || name === RUNTIME) throw new Error(`"${name}" is derived and cannot be registered`);
    if (this.components.has(name)) throw new Error(`memory component "${name}" is already registered`);
    this.components.set(name, component);
    return () => {
      if (this.components.get(name) === component) {
        this.components.delete(name);
        this.leakWatch?.forget(name);
      }
    };
  }

  /** Called with (level, prev) on every transition. Listeners must be quick and must not throw. */
  onPressure(fn: PressureListener): () => void {
    this.pressureListeners.push(fn);
    return () => remove(this.pressureListeners, fn);
  }

  /** Called after every sample with the (possibly unchanged) level. */
  onSample(fn: SampleListener): () => void {
    this.sampleListeners.push(fn);
    return () => remove(this.sampleListeners, fn);
  }

  /** Takes the first sample (which fixes the runtime baseline) and starts the timer. Call once the gateway listens. */
  start(): void {
    if (this.timer) return;
    this.sampleNow();
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const near = this.level !== 'normal' || this.rssBytes >= (this.warning - this.approach) * this.limitBytes;
    const ms = near ? this.pressuredIntervalMs : this.sampleIntervalMs;
    this.timer = setTimeout(this.tick, ms);
    this.timer.unref();
  }

  // A bound field, not a closure per tick.
  private readonly tick = (): void => {
    try {
      this.sampleNow();
    } catch (err) {
      this.log.error({ err }, 'memory: sampling failed');
    }
    if (this.timer) this.schedule();
  };

  /** Reads memory now, moves the ladder, feeds the leak watch. Returns the level. */
  sampleNow(): PressureLevel {
    const s = this.sampler();
    const at = this.now();
    this.last = s;
    this.lastAt = at;
    if (s.rss > this.peakRss) this.peakRss = s.rss;
    const figures = this.leakWatch || this.baseline === null ? this.componentBytes() : null;
    if (this.baseline === null) {
      let sum = 0;
      for (const v of figures!.values()) sum += v;
      this.baseline = Math.max(0, s.rss - sum);
    }
    const prev = this.level;
    const next = nextLevel(prev, s.rss / this.limitBytes, this.warning, this.critical, this.hysteresis);
    if (next !== prev) this.transition(prev, next, s.rss, at);
    if (this.leakWatch && figures) {
      figures.set('rss', s.rss);
      figures.set('heap_used', s.heapUsed);
      let load = 0;
      try { load = this.loadSignal(); } catch { load = 0; }
      this.leakWatch.observe(at, load, figures);
    }
    for (const fn of this.sampleListeners) {
      try { fn(this.level); } catch (err) { this.log.error({ err }, 'memory: a sample listener threw'); }
    }
    return this.level;
  }

  private transition(prev: PressureLevel, next: PressureLevel, rss: number, at: number): void {
    this.level = next;
    this.entered[next]++;
    this.lastTransition = { from: prev, to: next, at: new Date(at).toISOString() };
    const fields = { from: prev, to: next, rss_bytes: rss, limit_bytes: this.limitBytes, ratio: round4(rss / this.limitBytes) };
    if (LEVEL_RANK[next] > LEVEL_RANK[prev]) this.log.warn(fields, `memory pressure ${prev} -> ${next}`);
    else this.log.info(fields, `memory pressure ${prev} -> ${next}`);
    for (const fn of this.pressureListeners) {
      try { fn(next, prev); } catch (err) { this.log.error({ err }, 'memory: a pressure listener threw'); }
    }
  }

  /** bytes of each registered component; a component that throws counts 0 and is logged once. */
  private componentBytes(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, c] of this.components) out.set(name, this.safe(name, c, 'bytes'));
    return out;
  }

  private safe(name: string, c: MemoryComponent, what: 'bytes' | 'count'): number {
    try {
      const fn = c[what];
      const v = fn ? fn.call(c) : 0;
      return Number.isFinite(v) && v > 0 ? v : 0;
    } catch (err) {
      if (!this.failing.has(name)) {
        this.failing.add(name);
        this.log.error({ err, component: name }, `memory: component ${name} failed to report`);
      }
      return 0;
    }
  }

  private countOf(name: string): number {
    const c = this.components.get(name);
    return c?.count ? this.safe(name, c, 'count') : 0;
  }

  /** The /control/memory document. Every required component is present, registered or not. */
  snapshot(): MemorySnapshot {
    const rss = this.rssBytes;
    const components: Record<string, ComponentFigures> = {};
    let sum = 0;
    for (const name of REQUIRED_COMPONENTS) components[name] = { bytes: 0 };
    for (const [name, c] of this.components) {
      const entry: ComponentFigures = { bytes: this.safe(name, c, 'bytes') };
      if (c.count) entry.count = this.safe(name, c, 'count');
      if (c.details) {
        try {
          for (const [k, v] of Object.entries(c.details())) if (k !== 'bytes' && k !== 'count') entry[k] = v;
        } catch { /* details are optional; bytes and count stand */ }
      }
      components[name] = entry;
      sum += entry.bytes;
    }
    const runtime = this.baseline ?? 0;
    components[RUNTIME] = { bytes: runtime };
    components[UNATTRIBUTED] = { bytes: Math.max(0, rss - runtime - sum) };
    return {
      limit_bytes: this.limitBytes,
      rss_bytes: rss,
      pressure: this.level,
      components,
      heap_used_bytes: this.last?.heapUsed ?? 0,
      heap_total_bytes: this.last?.heapTotal ?? 0,
      external_bytes: this.last?.external ?? 0,
      peak_rss_bytes: this.peakRss,
      usage_ratio: round4(rss / this.limitBytes),
      thresholds: { warning: this.warning, critical: this.critical, hysteresis: this.hysteresis },
      transitions: {
        total: this.entered.normal + this.entered.warning + this.entered.critical,
        to_normal: this.entered.normal,
        to_warning: this.entered.warning,
        to_critical: this.entered.critical,
      },
      last_transition: this.lastTransition,
      sampled_at: this.lastAt === null ? null : new Date(this.lastAt).toISOString(),
      leak_suspects: this.leakWatch?.suspects() ?? [],
    };
  }
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
