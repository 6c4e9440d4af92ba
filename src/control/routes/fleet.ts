// /control/fleet, and in Redis mode the fleet-wide session listing and one session. Kill and
// resume are not here: control/routes/sessions.ts answers them through the SessionGate, which
// tells the fleet.
import type { ServerResponse } from 'node:http';
import type { Router } from '../router.js';
import { sendError, sendJson } from '../reply.js';
import { SESSION_STATES, type SessionView } from '../../sessions/types.js';
import { checkId } from './sessions.js';
import type { FleetState } from '../../fleet/types.js';
const STATES: ReadonlySet<string> = new Set(SESSION_STATES);

/**
 * In Redis mode the session list and one session show fleet-wide counters and the instance holding
 * the session. Register before the session table's routes: the first match wins.
 */
export function registerFleetSessionRoutes(
  router: Router,
  fleet: FleetState,
  views: { local(id: string): SessionView | undefined; stored(id: string): unknown },
): void {
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
export async function sendFleetSessions(res: ServerResponse, fleet: FleetState, query: URLSearchParams): Promise<void> {
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
