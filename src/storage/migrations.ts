// Versioned schema. PRAGMA user_version holds how many migrations have been applied and
// PRAGMA application_id marks the file as cordon's, so a foreign SQLite file is refused
// instead of being written into. Migrations only ever get appended.
import type { Database } from 'better-sqlite3';
import { StorageError } from './errors.js';

/** 'cord' in ASCII, as a signed 32-bit integer. */
export const APPLICATION_ID = 0x636f7264;

export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE sessions (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    state TEXT NOT NULL,
    upstream TEXT,
    client_ip TEXT,
    started_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    flags INTEGER NOT NULL
  );
  -- history pages by end time; session(id) finds the latest end of one ID
  CREATE INDEX sessions_ended ON sessions (ended_at, rowid);
  CREATE INDEX sessions_id_ended ON sessions (id, ended_at);

  CREATE TABLE kills (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('killed', 'terminated')),
    at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE events (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('policy', 'session')),
    session_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    action TEXT NOT NULL,
    direction TEXT,
    excerpt TEXT NOT NULL DEFAULT '',
    at INTEGER NOT NULL
  );
  -- a session's events in time order; flagged = newest policy events; retention by time
  CREATE INDEX events_session_at ON events (session_id, at);
  CREATE INDEX events_kind_at ON events (kind, at);
  CREATE INDEX events_at ON events (at);

  CREATE TABLE captures (
    rowid INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    request_seq INTEGER NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('request', 'response')),
    chunk_seq INTEGER NOT NULL,
    -- 1 when chunks before this one were dropped under queue pressure
    gap INTEGER NOT NULL DEFAULT 0,
    -- 1 on the last chunk of a body that ended normally
    fin INTEGER NOT NULL DEFAULT 0,
    at INTEGER NOT NULL,
    bytes BLOB NOT NULL
  );
  CREATE INDEX captures_body ON captures (session_id, request_seq, direction, chunk_seq);
  CREATE INDEX captures_at ON captures (at);
  `,
  // 2: a detection hit's score and labels and a judge's verdict, as JSON (null for other events)
  `
  ALTER TABLE events ADD COLUMN detail TEXT;
  `,
  // 3: API keys (hashes only) and kills by agent (src/auth)
  `
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    agent TEXT NOT NULL,
    team TEXT,
    budget TEXT,
    tools TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) WITHOUT ROWID;

  CREATE TABLE agent_kills (
    agent TEXT PRIMARY KEY,
    at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 4: a session's spend in its summary (agent, team, models as a JSON array, tokens, cost)
  `
  ALTER TABLE sessions ADD COLUMN agent TEXT;
  ALTER TABLE sessions ADD COLUMN team TEXT;
  ALTER TABLE sessions ADD COLUMN models TEXT;
  ALTER TABLE sessions ADD COLUMN tokens_in INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN tokens_out INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN tokens_estimated INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN tool_calls INTEGER NOT NULL DEFAULT 0;
  `,
];

/**
 * Brings the schema to the current version. Throws StorageError for a file that is not
 * cordon's, or whose schema is newer than this build knows.
 */
export function migrate(db: Database, file: string): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (appId !== 0 && appId !== APPLICATION_ID) {
    throw new StorageError('foreign_database', file, `not a cordon database (application_id ${appId}); move it away or choose another --data-dir`);
  }
  if (appId === 0) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    if (tables.n > 0 || version !== 0) {
      throw new StorageError('foreign_database', file, 'not a cordon database (it already holds other tables); move it away or choose another --data-dir');
    }
  }
  if (version > MIGRATIONS.length) {
    throw new StorageError('schema_too_new', file, `schema version ${version} is newer than this cordon supports (${MIGRATIONS.length}); upgrade cordon`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
      if (v === 0) db.pragma(`application_id = ${APPLICATION_ID}`);
    })();
  }
}
