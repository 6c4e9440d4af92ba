// The session table as the gateway starts it (gateway.ts): sized from the config, its bytes
// reported to the memory governor, and idle sessions evicted (LRU, a batch per sample) at warning
// pressure.
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events.js';
import type { Memory } from '../memory/setup.js';
import { SessionTable } from './table.js';

/** Idle sessions evicted per governor sample while pressure is warning or worse. */
const EVICT_BATCH = 1000;

export function createSessions(cfg: Config, p: { upstreams: readonly string[]; bus: EventBus; memory: Memory }): SessionTable {
  const sessions = new SessionTable({
    upstreams: p.upstreams, // append-only: a reload's new upstreams get new indices
    idleTimeoutMs: cfg.sessions.idle_timeout,
    completeAfterMs: cfg.sessions.complete_after,
    max: cfg.sessions.max,
    bus: p.bus,
  });
  p.memory.governor.register('sessions', { bytes: () => sessions.bytes(), count: () => sessions.size() });
  p.memory.actions.add('evict_idle_sessions', { level: 'warning', tick: () => { sessions.evictIdle(EVICT_BATCH); } });
  return sessions;
}
