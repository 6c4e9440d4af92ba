// Memory series that the control part's Metrics (src/control/metrics.ts, fed by
// `metrics.bind({ memory: () => governor.snapshot() })`) does not already export: transitions, the
// heap, the leak watch and the per-stream accounts. Collected when scraped; no timers of their own.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { StreamAccounts } from './streams.js';
import type { MemoryGovernor } from './governor.js';
import { LEVELS } from './types.js';

export function registerMemoryMetrics(registry: Registry, governor: MemoryGovernor, streams?: StreamAccounts): void {
  const registers = [registry];
  new Gauge({
    name: 'cordon_memory_heap_used_bytes', help: 'V8 heap in use at the last sample.', registers,
    collect() { this.set(governor.heapUsedBytes); },
  });
  new Gauge({
    name: 'cordon_memory_leak_suspects', help: 'Series growing steadily while load is flat (leak watch).', registers,
    collect() { this.set(governor.snapshot().leak_suspects.length); },
  });
  const transitions = new Counter({
    name: 'cordon_memory_pressure_transitions_total', help: 'Pressure transitions, by the level entered.',
    labelNames: ['to'], registers,
  });
  for (const l of LEVELS) transitions.inc({ to: l }, 0);
  governor.onPressure((level) => transitions.inc({ to: level }));
  if (streams) {
    new Gauge({
      name: 'cordon_stream_buffer_limit_bytes', help: 'Bytes one stream may hold before the other side stops being read (lowered under pressure).', registers,
      collect() { this.set(streams.limit); },
    });
    const resets = new Counter({
      name: 'cordon_stream_resets_total', help: 'Streams ended by memory/, by kind and reason.', labelNames: ['kind', 'reason'], registers,
    });
    for (const kind of ['http', 'sse', 'upload', 'websocket']) resets.inc({ kind, reason: 'memory_critical' }, 0);
    resets.inc({ kind: 'upload', reason: 'stalled_upload' }, 0);
    streams.onReset((kind, reason) => resets.inc({ kind, reason }));
  }
}
