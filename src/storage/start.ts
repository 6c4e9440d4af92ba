// Storage as the gateway starts it (gateway.ts): the store opened from the config, its queue
// reported to the memory governor, captures shed at warning pressure, and the capture sink the
// proxy writes bodies to (forensics profile only).
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Memory } from '../memory/setup.js';
import type { CaptureWriter } from './capture.js';
import { openStore, type Store } from './store.js';
import type { Direction } from '../events.js';

/** what the proxy opens a body's capture with (proxy/context.ts CaptureSink) */
export interface CaptureOpener {
  open(sessionId: string, direction: Direction, requestSeq?: number): CaptureWriter | null;
}

export interface StoragePart {
  store: Store;
  /** null unless the profile is forensics */
  capture: CaptureOpener | null;
}

/** Throws StorageError (one line, exit 2) when the data dir cannot be used: before anything listens. */
export function startStorage(cfg: Config, log: Logger, memory: Memory): StoragePart {
  const store = openStore({
    dataDir: cfg.data_dir, retentionMs: cfg.storage.retention, flushIntervalMs: cfg.storage.flush_interval,
    queueMax: cfg.storage.queue_max, profile: cfg.profile, log,
  });
  memory.governor.register('storage_queue', { bytes: () => store.bytes(), count: () => store.queueDepth });
  // Warning: captures (forensics bodies) are shed, queued and new, until pressure is back.
  let shed = false;
  memory.actions.add('shed_captures', {
    level: 'warning',
    enter: () => { shed = true; store.shedCaptures(); },
    leave: () => { shed = false; },
  });
  const capture: CaptureOpener | null = cfg.profile === 'forensics'
    ? { open: (id, dir, seq) => (shed ? null : store.openCapture(id, dir, seq)) }
    : null;
  return { store, capture };
}
