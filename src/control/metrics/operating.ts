// Metrics for operating cordon: retries by reason, config reloads and the loaded config's hash,
// and the trace exporter's queue and drops. Retries and reloads are rare, so plain prom-client
// counters do (the per-request counters live in typed-array cells, ../metrics.ts).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TracingCounts } from '../../telemetry/types.js';

export interface OperatingSources {
  /** reloads that applied, and the hash of the config now in force */
  reload: () => { count: number; failed: number; hash: string };
  tracing: () => Readonly<TracingCounts> | null;
}

export interface OperatingMetrics {
  retried(reason: string): void;
}

export function registerOperatingMetrics(registry: Registry, src: OperatingSources): OperatingMetrics {
  const retries = new Counter({
    name: 'cordon_upstream_retries_total',
    help: 'Upstream attempts set aside for a retry on another upstream, by reason (a status in retry.on, or connect).',
    labelNames: ['reason'],
    registers: [registry],
  });
  new Gauge({
    name: 'cordon_config_reloads_total',
    help: 'Config reloads (SIGHUP or POST /control/reload), by result.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      const r = src.reload();
      this.set({ result: 'applied' }, r.count);
      this.set({ result: 'rejected' }, r.failed);
    },
  });
  new Gauge({
    name: 'cordon_config_info',
    help: 'The config in force: its hash (sha256 of the file text, first 16 hex digits) as a label; value 1.',
    labelNames: ['hash'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ hash: src.reload().hash }, 1);
    },
  });
  new Gauge({
    name: 'cordon_telemetry_spans',
    help: 'Trace spans by state: queued (waiting for export), and totals exported, failed (the collector refused or timed out) and dropped (the queue was full).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const c = src.tracing();
      if (c === null) return;
      this.set({ state: 'queued' }, c.queued);
      this.set({ state: 'exported' }, c.exported);
      this.set({ state: 'failed' }, c.failed);
      this.set({ state: 'dropped' }, c.dropped);
    },
  });
  return { retried: (reason) => retries.inc({ reason }) };
}
