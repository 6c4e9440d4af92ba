// The /control/memory figures as Prometheus metrics, collected when scraped (no timers of their own).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BufferPool } from './buffer-pool.js';
import type { MemoryGovernor } from './governor.js';
import { LEVEL_RANK, LEVELS } from './types.js';

export function registerMemoryMetrics(registry: Registry, governor: MemoryGovernor, pool?: BufferPool): void {
  const registers = [registry];
  new Gauge({
    name: 'cordon_memory_limit_bytes', help: 'The memory budget (--memory-limit).', registers,
    collect() { this.set(governor.limitBytes); },
  });
  new Gauge({
    name: 'cordon_memory_rss_bytes', help: 'Resident set size at the last sample.', registers,
    collect() { this.set(governor.rssBytes); },
  });
  new Gauge({
    name: 'cordon_memory_heap_used_bytes', help: 'V8 heap in use at the last sample.', registers,
    collect() { this.set(governor.heapUsedBytes); },
  });
  new Gauge({
    name: 'cordon_memory_pressure', help: 'Pressure level: 0 normal, 1 warning, 2 critical.', registers,
    collect() { this.set(LEVEL_RANK[governor.pressure]); },
  });
  new Gauge({
    name: 'cordon_memory_component_bytes', help: 'Bytes each component reports; unattributed is RSS minus runtime and components.',
    labelNames: ['component'], registers,
    collect() {
      const snap = governor.snapshot();
      this.reset();
      for (const [name, c] of Object.entries(snap.components)) this.set({ component: name }, c.bytes);
    },
  });
  new Gauge({
    name: 'cordon_memory_leak_suspects', help: 'Series growing steadily while load is flat.', registers,
    collect() { this.set(governor.snapshot().leak_suspects.length); },
  });
  // A counter fed from the governor's own tallies: prom-client counters only go up, which these do.
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
