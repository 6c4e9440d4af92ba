// The options of openStore() (store.ts).
import type { Profile } from '../config/schema.js';
import type { Logger } from '../log.js';

export interface StoreOptions {
  dataDir: string;
  /** rows older than this are deleted (at start and every retentionIntervalMs) */
  retentionMs: number;
  flushIntervalMs: number;
  /** most records the queue holds before it starts dropping the lowest-value ones */
  queueMax: number;
  profile: Profile;
  log?: Logger;
  /** byte bound of the queue (capture chunks dominate); default 32MiB */
  queueMaxBytes?: number;
  /** a flush starts early at this depth, and one transaction writes at most this many rows; default 500 (about 5ms of main-thread work per transaction, bench/results/storage.md) */
  batchRows?: number;
  /** default: a tenth of the retention, between 1s and 10min */
  retentionIntervalMs?: number;
  /**
   * Where the batch transaction runs. Default: 'worker' for the forensics profile (capture bytes
   * would otherwise cost the serving loop most of a core at tens of MiB/s), 'main' otherwise.
   */
  writer?: 'main' | 'worker';
}
