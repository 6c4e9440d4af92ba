// The options of a SessionTable (see table.ts).
import type { EventBus } from '../events.js';

export interface SessionTableOptions {
  /** upstream names (base URLs), indexed by the proxy's upstream number */
  upstreams: readonly string[];
  idleTimeoutMs: number;
  completeAfterMs: number;
  bus?: EventBus;
  /** most live sessions; resolve() returns -1 beyond it (kills are always taken) */
  max?: number;
  initialCapacity?: number;
  /** the clock, for tests */
  now?: () => number;
  /** how often start() sweeps; default idle_timeout / 4, within 250ms..5s */
  sweepIntervalMs?: number;
}
