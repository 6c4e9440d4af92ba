// GET /control/stats (SPEC.md): session counts, request counters and memory in one small answer.
import type { Router } from '../router.js';
import { sendJson } from '../reply.js';
import type { SessionControl } from '../../sessions/types.js';
import type { PressureLevel } from '../../memory/types.js';

export interface StatsDeps {
  sessions: Pick<SessionControl, 'stats' | 'bytesPerSession'>;
  /** the proxy's request counters; zeros until it is wired */
  requests?: () => { total: number; blocked: number };
  /** the memory part's current level; `normal` until it is wired */
  pressure?: () => PressureLevel;
}

export function registerStatsRoutes(router: Router, deps: StatsDeps): void {
  router.get('/control/stats', ({ res }) => {
    const mem = process.memoryUsage();
    const r = deps.requests ? deps.requests() : { total: 0, blocked: 0 };
    sendJson(res, 200, {
      sessions: deps.sessions.stats(),
      requests: { total: r.total, blocked: r.blocked },
      memory: {
        rss_bytes: mem.rss,
        heap_used_bytes: mem.heapUsed,
        bytes_per_session: deps.sessions.bytesPerSession(),
        pressure: deps.pressure ? deps.pressure() : 'normal',
      },
    });
  });
}
