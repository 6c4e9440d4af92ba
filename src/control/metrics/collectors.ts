// Metric objects backed by typed arrays. prom-client's Registry accepts any object with a `name`
// and a `get()` that returns `{ name, help, type, values }`; these give it that shape at scrape
// time while the hot path only does `cells[i] += 1`. prom-client's own Counter/Histogram hash a
// label object on every call, which is what we keep off the request path.

/** Buckets (seconds) for the gateway's own added time: sub-millisecond matters here. */
export const ADDED_LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** Buckets (seconds) for upstream time: LLM responses run from milliseconds to minutes. */
export const UPSTREAM_LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export interface MetricGet {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

function labelObject(names: readonly string[], values: readonly string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) o[names[i]] = values[i];
  return o;
}

export interface LabeledCounterSpec {
  name: string;
  help: string;
  labelNames: readonly string[];
  initialCells: number;
  /** label values of a cell index; only called at scrape time, for cells that are non-zero */
  labelsOf: (cell: number) => string[];
}

/** A counter whose series are cells of a Float64Array (exact to 2^53), grown on demand. */
export class LabeledCounterCells {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  private cells: Float64Array;

  constructor(private readonly spec: LabeledCounterSpec) {
    this.name = spec.name;
    this.help = spec.help;
    this.cells = new Float64Array(Math.max(1, spec.initialCells));
  }

  inc(cell: number): void {
    if (cell >= this.cells.length) this.grow(cell + 1);
    this.cells[cell]++;
  }

  value(cell: number): number {
    return cell < this.cells.length ? this.cells[cell] : 0;
  }

  private grow(min: number): void {
    const next = new Float64Array(Math.max(min, this.cells.length * 2));
    next.set(this.cells);
    this.cells = next;
  }

  get(): MetricGet {
    const values: MetricValue[] = [];
    const c = this.cells;
    for (let i = 0; i < c.length; i++) {
      if (c[i] !== 0) values.push({ labels: labelObject(this.spec.labelNames, this.spec.labelsOf(i)), value: c[i] });
    }
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }

  reset(): void {
    this.cells.fill(0);
  }
}

export interface HistogramSpec {
  name: string;
  help: string;
  buckets: readonly number[];
  labelNames: readonly string[];
  series: number;
  labelsOf: (series: number) => string[];
}

/**
 * A histogram per series, stored as non-cumulative bucket counts plus sum and count in one
 * Float64Array per field. Cumulated into Prometheus `le` buckets only when scraped.
 */
export class HistogramCells {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  private readonly bounds: Float64Array;
  /** (buckets + 1) cells per series; the last is +Inf */
  private counts: Float64Array;
  private sums: Float64Array;
  private series: number;

  constructor(private readonly spec: HistogramSpec) {
    this.name = spec.name;
    this.help = spec.help;
    this.bounds = Float64Array.from(spec.buckets);
    this.series = Math.max(1, spec.series);
    this.counts = new Float64Array(this.series * (this.bounds.length + 1));
    this.sums = new Float64Array(this.series);
  }

  ensureSeries(n: number): void {
    if (n <= this.series) return;
    const counts = new Float64Array(n * (this.bounds.length + 1));
    counts.set(this.counts);
    const sums = new Float64Array(n);
    sums.set(this.sums);
    this.counts = counts;
    this.sums = sums;
    this.series = n;
  }

  observe(series: number, v: number): void {
    if (series >= this.series) this.ensureSeries(series + 1);
    const b = this.bounds;
    let i = 0;
    // a linear scan: 13-15 bounds, and most observations stop in the first few
    while (i < b.length && v > b[i]) i++;
    this.counts[series * (b.length + 1) + i]++;
    this.sums[series] += v;
  }

  /** observations of one series (for tests and benches) */
  count(series: number): number {
    let n = 0;
    const w = this.bounds.length + 1;
    for (let i = 0; i < w; i++) n += this.counts[series * w + i];
    return n;
  }

  get(): MetricGet {
    const values: MetricValue[] = [];
    const w = this.bounds.length + 1;
    for (let s = 0; s < this.series; s++) {
      const total = this.count(s);
      if (total === 0) continue;
      const base = labelObject(this.spec.labelNames, this.spec.labelsOf(s));
      let cum = 0;
      for (let i = 0; i < w; i++) {
        cum += this.counts[s * w + i];
        values.push({ labels: { ...base, le: i < this.bounds.length ? this.bounds[i] : '+Inf' }, value: cum, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: base, value: this.sums[s], metricName: `${this.name}_sum` });
      values.push({ labels: base, value: total, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  reset(): void {
    this.counts.fill(0);
    this.sums.fill(0);
  }
}

/**
 * A gauge or counter read from a getter at scrape time. A getter that throws or returns
 * undefined yields no sample at all (an absent series), never a misleading 0.
 */
export class GetterMetric {
  constructor(
    readonly type: 'counter' | 'gauge',
    readonly name: string,
    readonly help: string,
    private readonly read: () => number | undefined,
  ) {}

  get(): MetricGet {
    let v: number | undefined;
    try {
      v = this.read();
    } catch {
      v = undefined;
    }
    const values = v === undefined || Number.isNaN(v) ? [] : [{ labels: {}, value: v }];
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }

  reset(): void {}
}

export type LabeledValues = Iterable<readonly [string, number]> | Partial<Record<string, number>>;

/** A gauge with one label, its series read from a getter at scrape time (bounded key sets only). */
export class GetterVec {
  readonly type = 'gauge';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label: string,
    private readonly read: () => LabeledValues | undefined,
  ) {}

  get(): MetricGet {
    const values: MetricValue[] = [];
    let v: LabeledValues | undefined;
    try {
      v = this.read();
    } catch {
      v = undefined;
    }
    if (v !== undefined) {
      const entries = Symbol.iterator in (v as object) ? (v as Iterable<readonly [string, number]>) : Object.entries(v);
      for (const [k, n] of entries) {
        if (typeof n === 'number' && !Number.isNaN(n)) values.push({ labels: { [this.label]: k }, value: n });
      }
    }
    return { name: this.name, help: this.help, type: 'gauge', values, aggregator: 'sum' };
  }

  reset(): void {}
}
