// Read side of the store: history of ended sessions with their events, flagged events, one ended
// session. Keyset paging (ended_at, rowid) so a page costs the same however deep it is.
import type { SessionSummary } from '../events.js';
import type { Database, Statement } from 'better-sqlite3';
import type { EventRecord } from './queue.js';

export class QueryError extends Error {
  override readonly name = 'QueryError';
  constructor(readonly param: string, message: string) {
    super(message);
  }
}

/** An event as the API lists it: the row as it was written, with its time in ISO 8601. */
export interface StoredEvent extends Omit<EventRow, 'direction' | 'at'> {
  direction: string | null;
  /** ISO 8601 */
  at: string;
}

/** The /control/flagged shape. */
export type FlaggedEvent = Omit<StoredEvent, 'kind'>;

export interface EndedSession {
  id: string;
  state: string;
  upstream: string | null;
  client_ip: string | null;
  started_at: string;
  last_seen_at: string;
  ended_at: string;
  requests: number;
  bytes_in: number;
  bytes_out: number;
  flags: number;
  agent: string | null;
  team: string | null;
  models: string[];
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  tokens_estimated: boolean;
  tool_calls: number;
  events: StoredEvent[];
  /** true when the session had more events than one answer lists */
  events_truncated: boolean;
}

export interface HistoryQuery {
  session_id?: string;
  /** epoch ms: sessions that ended at or after this */
  since?: number;
  limit?: number;
  cursor?: string;
}

export interface HistoryPage {
  sessions: EndedSession[];
  next_cursor: string | null;
}

export const HISTORY_LIMIT_MAX = 500;
export const FLAGGED_LIMIT_MAX = 1000;
/** events listed per session in one answer */
export const EVENTS_PER_SESSION = 200;

/** A stored session: the summary the table published, plus when it ended (models as JSON, the flag as 0/1). */
interface SessionRow extends Omit<SessionSummary, 'models' | 'tokens_estimated'> {
  rowid: number;
  ended_at: number;
  models: string | null;
  tokens_estimated: number;
}

/** A row of the events table: what the writer stored (queue.ts EventRecord), read back. */
type EventRow = Omit<EventRecord, 't'>;

const SESSION_COLS = 'rowid, id, state, upstream, client_ip, started_at, last_seen_at, ended_at, requests, bytes_in, bytes_out, flags, '
  + 'agent, team, models, tokens_in, tokens_out, cost_usd, tokens_estimated, tool_calls';
const EVENT_COLS = 'id, kind, session_id, rule, severity, action, direction, excerpt, at, detail';

export function encodeCursor(endedAt: number, rowid: number): string {
  return Buffer.from(`${endedAt}.${rowid}`).toString('base64url');
}

export function decodeCursor(cursor: string): { endedAt: number; rowid: number } {
  const m = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!m) throw new QueryError('cursor', 'cursor: not a cursor from a previous answer');
  return { endedAt: Number(m[1]), rowid: Number(m[2]) };
}

export class StoreQueries {
  private readonly historyAll: Statement;
  private readonly historyOne: Statement;
  private readonly sessionEvents: Statement;
  private readonly latestSession: Statement;
  private readonly flaggedStmt: Statement;

  constructor(db: Database) {
    const page = 'ended_at >= ? AND (ended_at < ? OR (ended_at = ? AND rowid < ?)) ORDER BY ended_at DESC, rowid DESC LIMIT ?';
    this.historyAll = db.prepare(`SELECT ${SESSION_COLS} FROM sessions WHERE ${page}`);
    this.historyOne = db.prepare(`SELECT ${SESSION_COLS} FROM sessions WHERE id = ? AND ${page}`);
    this.sessionEvents = db.prepare(`SELECT ${EVENT_COLS} FROM events WHERE session_id = ? AND at >= ? AND at <= ? ORDER BY at, rowid LIMIT ?`);
    this.latestSession = db.prepare(`SELECT ${SESSION_COLS} FROM sessions WHERE id = ? ORDER BY ended_at DESC, rowid DESC LIMIT 1`);
    this.flaggedStmt = db.prepare(`SELECT ${EVENT_COLS} FROM events WHERE kind = 'policy' ORDER BY at DESC, rowid DESC LIMIT ?`);
  }

  history(q: HistoryQuery): HistoryPage {
    const limit = clampLimit(q.limit, 50, HISTORY_LIMIT_MAX);
    const since = q.since ?? 0;
    let endedBefore = Number.MAX_SAFE_INTEGER;
    let rowBefore = Number.MAX_SAFE_INTEGER;
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      endedBefore = c.endedAt;
      rowBefore = c.rowid;
    }
    const rows = (q.session_id !== undefined
      ? this.historyOne.all(q.session_id, since, endedBefore, endedBefore, rowBefore, limit + 1)
      : this.historyAll.all(since, endedBefore, endedBefore, rowBefore, limit + 1)) as SessionRow[];
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const last = rows[rows.length - 1];
    return {
      sessions: rows.map((r) => this.withEvents(r)),
      next_cursor: more && last ? encodeCursor(last.ended_at, last.rowid) : null,
    };
  }

  /** The latest ended incarnation of a session ID, with its events; undefined if never stored. */
  session(id: string): EndedSession | undefined {
    const row = this.latestSession.get(id) as SessionRow | undefined;
    return row ? this.withEvents(row) : undefined;
  }

  flagged(limit?: number): FlaggedEvent[] {
    const rows = this.flaggedStmt.all(clampLimit(limit, 100, FLAGGED_LIMIT_MAX)) as EventRow[];
    return rows.map((r) => ({
      id: r.id, session_id: r.session_id, rule: r.rule, severity: r.severity, action: r.action,
      direction: r.direction, excerpt: r.excerpt, at: new Date(r.at).toISOString(), ...detailOf(r.detail),
    }));
  }

  private withEvents(r: SessionRow): EndedSession {
    const evs = this.sessionEvents.all(r.id, r.started_at, r.ended_at, EVENTS_PER_SESSION + 1) as EventRow[];
    const truncated = evs.length > EVENTS_PER_SESSION;
    if (truncated) evs.length = EVENTS_PER_SESSION;
    return {
      id: r.id, state: r.state, upstream: r.upstream, client_ip: r.client_ip,
      started_at: new Date(r.started_at).toISOString(),
      last_seen_at: new Date(r.last_seen_at).toISOString(),
      ended_at: new Date(r.ended_at).toISOString(),
      requests: r.requests, bytes_in: r.bytes_in, bytes_out: r.bytes_out, flags: r.flags,
      agent: r.agent ?? null, team: r.team ?? null, models: modelsOf(r.models), tokens_in: r.tokens_in ?? 0, tokens_out: r.tokens_out ?? 0,
      cost_usd: r.cost_usd ?? 0, tokens_estimated: r.tokens_estimated === 1, tool_calls: r.tool_calls ?? 0,
      events: evs.map((e) => ({
        id: e.id, kind: e.kind, session_id: e.session_id, rule: e.rule, severity: e.severity,
        action: e.action, direction: e.direction, excerpt: e.excerpt, at: new Date(e.at).toISOString(), ...detailOf(e.detail),
      })),
      events_truncated: truncated,
    };
  }
}

function clampLimit(v: number | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  return Math.max(1, Math.min(max, Math.floor(v)));
}

function modelsOf(json: string | null): string[] {
  if (!json) return [];
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((m): m is string => typeof m === 'string') : [];
  } catch {
    return [];
  }
}

/** The detection score and judge verdict stored with an event (none for most events). */
function detailOf(detail: string | null | undefined): Record<string, unknown> | null {
  if (!detail) return null;
  try {
    return JSON.parse(detail) as Record<string, unknown>;
  } catch {
    return null;
  }
}
