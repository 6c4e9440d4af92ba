// The floor under --memory-limit. A limit below what the process itself needs would put the gateway in
// critical pressure from its first second (every request 503) or get it killed by the OOM killer, so
// start refuses it and names the minimum.
import { formatBytes } from '../config/units.js';

const MiB = 1024 * 1024;

/**
 * RSS of cordon right after start-up, before any traffic.
 * Measured 2026-11-23 on Node 20.20 (x64 Linux): a process that imports every runtime dependency
 * (undici, better-sqlite3, pino, zod, prom-client, ws, re2, yaml, commander, redis), opens a SQLite
 * database and binds an HTTP listener reads 89–91MiB VmRSS (three runs; bare `node -e` reads 39MiB).
 * `cordon start` itself (main at 2026-11-23 11:29, with policy, storage and dashboard) reads 91.6MiB at its
 * first governor sample after binding. Rounded up to 96MiB. Re-measure (GET /control/memory → rss_bytes of an
 * idle gateway) when the dependencies change; checkMemoryLimit also uses the live RSS when that is higher.
 */
export const START_RSS_BYTES = 96 * MiB;

/** Room above start-up RSS for the first sessions, GC slack and the sampler to see pressure coming. */
export const START_HEADROOM_BYTES = 16 * MiB;

/** An error with a stable code; its message is one line the CLI prints before exiting 2. */
export class MemoryLimitError extends Error {
  readonly code = 'memory_limit_too_low';
  constructor(readonly limitBytes: number, readonly minimumBytes: number) {
    super(`memory_limit: ${formatBytes(limitBytes)} is below the ${formatBytes(minimumBytes)} cordon needs to start; `
      + `use --memory-limit ${Math.ceil(minimumBytes / MiB)}MB or more`);
    this.name = 'MemoryLimitError';
  }
}

/**
 * The smallest limit cordon accepts: start-up RSS plus headroom, rounded up to a MiB. When the
 * process already uses more than the measured constant (checked after modules load), that figure wins.
 */
export function minimumStartBytes(rssNow = 0): number {
  const need = Math.max(START_RSS_BYTES, rssNow) + START_HEADROOM_BYTES;
  return Math.ceil(need / MiB) * MiB;
}

/** Throws MemoryLimitError when the limit is below minimumStartBytes(). */
export function checkMemoryLimit(limitBytes: number, rssNow: number = process.memoryUsage.rss()): void {
  const min = minimumStartBytes(rssNow);
  if (!(limitBytes >= min)) throw new MemoryLimitError(limitBytes, min);
}
