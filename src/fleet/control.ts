// The fleet's own control route and metrics. The control server and /metrics registry are built
// by the gateway; this part only registers what it owns on them.
import { Gauge, type Registry } from 'prom-client';
import type { Router } from '../control/router.js';
import { sendError, sendJson } from '../control/reply.js';
import type { SessionView } from '../sessions/types.js';
import { checkId } from '../control/routes/sessions.js';
import type { FleetState, FleetStats } from './types.js';
const STATES: ReadonlySet<string> = new Set(['active', 'idle', 'killed', 'terminated', 'completed']);

/**
 * Kill and resume through the fleet (stored in Redis and published, so every instance ends the
 * session's work); in Redis mode the session list and one session show fleet-wide counters and the
 * instance holding the session. Register before the session table's routes: the first match wins.
 */
export function registerFleetSessionRoutes(
  router: Router,
  fleet: FleetState,
  views: { local(id: string): SessionView | undefined; stored(id: string): unknown },
): void {
  router.post('/control/sessions/:id/kill', async ({ res, params }) => {
    if (!checkId(res, params.id)) return;
    await fleet.kill(params.id);
    sendJson(res, 200, { id: params.id, state: 'killed' });
  });
  router.post('/control/sessions/:id/resume', async ({ res, params }) => {
    if (!checkId(res, params.id)) return;
    await fleet.resume(params.id);
    sendJson(res, 200, { id: params.id, state: 'active' });
  });
  if (fleet.mode !== 'redis') return;
  router.get('/control/sessions', ({ res, query }) => sendFleetSessions(res, fleet, query));
  router.get('/control/sessions/:id', async ({ res, params }) => {
    if (!checkId(res, params.id)) return;
    const local = views.local(params.id);
    let f;
    try { f = await fleet.getSession(params.id); } catch { /* Redis down: answer from the local view */ }
    if (!f) {
      const view = local ?? views.stored(params.id);
      return view ? sendJson(res, 200, view) : sendError(res, 404, 'not_found', 'session_not_found', `no session ${params.id}`);
    }
    const at = (ms: number) => new Date(ms).toISOString();
    sendJson(res, 200, {
      ...(local ?? { id: params.id, state: f.state, upstream: null, client_ip: null, started_at: at(f.last_seen_ms), flags: 0 }),
      last_seen_at: at(Math.max(f.last_seen_ms, local ? Date.parse(local.last_seen_at) : 0)),
      requests: f.requests, bytes_in: f.bytes_in, bytes_out: f.bytes_out, instance: f.instance ?? undefined,
    });
  });
}

/** GET /control/fleet → {mode, instance_id, health, instances, stats}. */
export function registerFleetRoutes(router: Router, fleet: FleetState): void {
  router.get('/control/fleet', async ({ res }) => {
    let instances: string[] = [fleet.instanceId];
    try {
      instances = await fleet.listInstances();
    } catch {
      // Redis down: this instance only; health says why
    }
    sendJson(res, 200, { mode: fleet.mode, instance_id: fleet.instanceId, health: fleet.health(), instances, stats: fleet.stats() });
  });
}

/**
 * The fleet part of GET /control/sessions: a page of sessions from every instance. Query: limit (1-1000,
 * default 100), cursor. The gateway calls this instead of the local table when fleet.mode === 'redis'.
 * Answers 503 `fleet_unavailable` while Redis is unreachable (the local table can still be listed).
 */
export async function sendFleetSessions(res: import('node:http').ServerResponse, fleet: FleetState, query: URLSearchParams): Promise<void> {
  // The same checks and codes as the local listing: one endpoint answers alike in both modes
  // (parseInt took "5abc" as 5 and an unknown state filtered everything out silently).
  const rawLimit = query.get('limit');
  const limit = rawLimit === null || rawLimit === '' ? 100 : /^\d{1,7}$/.test(rawLimit) ? Number(rawLimit) : NaN;
  if (!(limit >= 1 && limit <= 1000)) {
    sendError(res, 400, 'invalid_request', 'invalid_limit', 'limit must be an integer from 1 to 1000');
    return;
  }
  const stateFilter = query.get('state');
  if (stateFilter !== null && stateFilter !== '' && !STATES.has(stateFilter)) {
    sendError(res, 400, 'invalid_request', 'invalid_state', `state must be one of ${[...STATES].join(', ')}`);
    return;
  }
  try {
    const page = await fleet.listSessions({ limit, cursor: query.get('cursor') });
    const sessions = page.sessions
      .filter((s) => !stateFilter || s.state === stateFilter)
      .map((s) => ({
        id: s.id,
        state: s.state,
        last_seen_at: s.last_seen_ms ? new Date(s.last_seen_ms).toISOString() : null,
        requests: s.requests,
        bytes_in: s.bytes_in,
        bytes_out: s.bytes_out,
        tokens: s.tokens,
        instance: s.instance,
        instances: s.instances,
      }));
    sendJson(res, 200, { sessions, next_cursor: page.next_cursor });
  } catch {
    sendError(res, 503, 'fleet_unavailable', 'redis_unreachable', fleet.health().ok ? 'the fleet store did not answer' : (fleet.health() as { reason: string }).reason);
  }
}

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
