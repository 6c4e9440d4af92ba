// The fleet's gauges on /metrics, read from fleet.stats() at scrape time.
import { Gauge, type Registry } from 'prom-client';
import type { FleetState, FleetStats } from '../../fleet/types.js';

const NUMERIC: (keyof FleetStats)[] = [
  'pending_sessions', 'dropped_deltas', 'flushes', 'flush_errors', 'kills_received', 'reconnects', 'redis_resets', 'swept_sessions',
];

/** Gauges read from fleet.stats() at scrape time: cordon_fleet_up and cordon_fleet_<stat>. */
export function registerFleetMetrics(registry: Registry, fleet: FleetState): void {
  new Gauge({
    name: 'cordon_fleet_up',
    help: '1 while the fleet store (Redis) is reachable and in sync, else 0; always 1 without --redis',
    registers: [registry],
    collect() { this.set(fleet.health().ok ? 1 : 0); },
  });
  for (const key of NUMERIC) {
    new Gauge({
      name: `cordon_fleet_${key}`,
      help: `fleet stats: ${key} (counts since start)`,
      registers: [registry],
      collect() { this.set(fleet.stats()[key] as number); },
    });
  }
}
