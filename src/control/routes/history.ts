// GET /control/history and GET /control/flagged: answered from storage (SPEC.md "Control listener").
import { SESSION_ID_RULE, validSessionId } from '../../sessions/identity.js';
import type { ServerResponse } from 'node:http';
import type { Router } from '../router.js';
import { sendError, sendJson } from '../reply.js';
import { FLAGGED_LIMIT_MAX, HISTORY_LIMIT_MAX, QueryError, type FlaggedEvent, type HistoryPage, type HistoryQuery } from '../../storage/index.js';
import { describeError } from '../../storage/errors.js';

/** What the routes need from the store; narrow so tests and other backends can stand in. */
export interface HistorySource {
  history(q: HistoryQuery): HistoryPage;
  flagged(opts: { limit?: number }): FlaggedEvent[];
}


export function registerHistoryRoutes(router: Router, store: HistorySource): void {
  router.get('/control/history', ({ res, query }) => {
    try {
      const q: HistoryQuery = {
        session_id: sessionIdParam(query.get('session_id')),
        since: timeParam('since', query.get('since')),
        limit: limitParam(query.get('limit'), HISTORY_LIMIT_MAX),
        cursor: query.get('cursor') ?? undefined,
      };
      sendJson(res, 200, store.history(q));
    } catch (err) {
      replyError(res, err);
    }
  });

  router.get('/control/flagged', ({ res, query }) => {
    try {
      const limit = limitParam(query.get('limit'), FLAGGED_LIMIT_MAX);
      sendJson(res, 200, { events: store.flagged({ limit }) });
    } catch (err) {
      replyError(res, err);
    }
  });
}

function replyError(res: ServerResponse, err: unknown): void {
  if (err instanceof QueryError) {
    sendError(res, 400, 'invalid_request', `bad_${err.param}`, err.message);
  } else {
    // The file went away or the disk failed: say so without a stack trace.
    sendError(res, 503, 'storage_unavailable', 'storage_unavailable', `storage cannot be read: ${describeError(err)}`);
  }
}

function sessionIdParam(v: string | null): string | undefined {
  if (v === null) return undefined;
  if (!validSessionId(v)) throw new QueryError('session_id', `session_id: must be ${SESSION_ID_RULE}`);
  return v;
}

/** ISO 8601 time or epoch milliseconds. */
export function timeParam(name: string, v: string | null): number | undefined {
  if (v === null) return undefined;
  let ms: number;
  if (/^\d{1,16}$/.test(v)) ms = Number(v);
  else if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) ms = Date.parse(v);
  else ms = NaN;
  if (!Number.isFinite(ms)) throw new QueryError(name, `${name}: must be an ISO 8601 time or epoch milliseconds (got "${v.slice(0, 64)}")`);
  return ms;
}

function limitParam(v: string | null, max: number): number | undefined {
  if (v === null) return undefined;
  const n = /^\d{1,7}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= max)) throw new QueryError('limit', `limit: must be an integer from 1 to ${max}`);
  return n;
}
