// Memory series that the control part's Metrics (src/control/metrics.ts, fed by
// `metrics.bind({ memory: () => governor.snapshot() })`) does not already export: transitions, the
// heap, the leak watch and the buffer pool. Collected when scraped; no timers of their own.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BufferPool } from './buffer-pool.js';
import type { MemoryGovernor } from './governor.js';
import { LEVELS } from './types.js';

export function registerMemoryMetrics(registry: Registry, governor: MemoryGovernor, pool?: BufferPool): void {
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
  if (pool) {
    new Gauge({
      name: 'cordon_buffer_pool_hit_ratio', help: 'Share of buffer acquisitions served from a free list.', registers,
      collect() { this.set(pool.stats().hit_rate); },
    });
    new Gauge({
      name: 'cordon_buffer_pool_bytes', help: 'Bytes held by the buffer pool.', labelNames: ['state'], registers,
      collect() {
        const s = pool.stats();
        this.set({ state: 'free' }, s.free_bytes);
        this.set({ state: 'outstanding' }, s.outstanding_bytes);
      },
    });
  }
}
