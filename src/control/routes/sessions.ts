// /control/sessions: list with filters and cursor paging, one session, kill and resume (SPEC.md).
// Reads and acts only through the SessionControl interface; the table's internals stay its own.
import type { Router, RouteContext } from '../router.js';
import { sendError, sendJson } from '../reply.js';
import { SESSION_ID_RULE, validSessionId } from '../../sessions/identity.js';
import { BadCursorError, SESSION_STATES, type SessionControl, type SessionStateName } from '../../sessions/types.js';

/**
 * Finds a session that is no longer in the table (completed, in storage); answered as is.
 * Storage's `store.session(id)` fits: its EndedSession is a SessionView plus ended_at and events.
 */
export type EndedSessionLookup = (id: string) => object | undefined | Promise<object | undefined>;

export interface SessionRouteOptions {
  fallback?: EndedSessionLookup;
  /** page size when `limit` is absent; default 100 */
  defaultLimit?: number;
  /** the largest `limit` accepted; default 1000 */
  maxLimit?: number;
  /**
   * Kill and resume: the gateway passes its SessionGate (which also ends in-flight work and tells
   * the fleet); without it the table is changed directly.
   */
  end?: (id: string, state: 'killed' | 'active') => unknown;
}

const STATES: ReadonlySet<string> = new Set<string>(SESSION_STATES);

export function registerSessionRoutes(router: Router, table: SessionControl, opts: SessionRouteOptions = {}): void {
  const defaultLimit = opts.defaultLimit ?? 100;
  const maxLimit = opts.maxLimit ?? 1000;
  const fallback = opts.fallback;
  const end = opts.end ?? ((id: string, state: 'killed' | 'active') => (state === 'killed' ? table.kill(id) : table.resume(id)));

  router.get('/control/sessions', ({ res, query }) => {
    const state = query.get('state');
    if (state !== null && state !== '' && !STATES.has(state)) {
      sendError(res, 400, 'invalid_request', 'invalid_state', `state must be one of ${[...STATES].join(', ')}`);
      return;
    }
    let limit = defaultLimit;
    const rawLimit = query.get('limit');
    if (rawLimit !== null && rawLimit !== '') {
      if (!/^\d{1,7}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > maxLimit) {
        sendError(res, 400, 'invalid_request', 'invalid_limit', `limit must be an integer from 1 to ${maxLimit}`);
        return;
      }
      limit = Number(rawLimit);
    }
    const cursor = query.get('cursor') ?? undefined;
    try {
      const page = table.list({ state: state ? (state as SessionStateName) : undefined, limit, cursor });
      sendJson(res, 200, page);
    } catch (err) {
      if (err instanceof BadCursorError) {
        sendError(res, 400, 'invalid_request', 'invalid_cursor', 'cursor is not one this server gave out');
        return;
      }
      throw err;
    }
  });

  router.get('/control/sessions/:id', async ({ res, params }) => {
    const id = params.id;
    if (!checkId(res, id)) return;
    let view: object | undefined = table.get(id);
    if (view === undefined && fallback) view = await fallback(id);
    if (view === undefined) {
      sendError(res, 404, 'not_found', 'session_not_found', `no session ${id}`);
      return;
    }
    sendJson(res, 200, view);
  });

  router.post('/control/sessions/:id/kill', async (ctx: RouteContext) => {
    const id = ctx.params.id;
    if (!checkId(ctx.res, id)) return;
    await end(id, 'killed');
    sendJson(ctx.res, 200, { id, state: 'killed' });
  });

  // The answer is `active` whatever the session's sub-state: it says the session is no longer
  // refused. An unknown ID is answered the same way (idempotent; nothing to resume).
  router.post('/control/sessions/:id/resume', async (ctx: RouteContext) => {
    const id = ctx.params.id;
    if (!checkId(ctx.res, id)) return;
    await end(id, 'active');
    sendJson(ctx.res, 200, { id, state: 'active' });
  });
}

/** Answers 400 for a malformed session ID (shared by every route that takes one). */
export function checkId(res: RouteContext['res'], id: string): boolean {
  if (validSessionId(id)) return true;
  sendError(res, 400, 'invalid_request', 'invalid_session_id', `a session ID is ${SESSION_ID_RULE}`);
  return false;
}
