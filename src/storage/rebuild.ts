// After an unclean stop (SIGKILL, a crash, power loss) the sessions live at that moment have
// events but no summary. At the next open each such session gets a summary rebuilt from its
// events (times from the first and last event, flags from the policy events; request and byte
// counts are unknown and stored as 0), marked by a `session.completed` event that says so.
// A clean stop leaves a marker-free data dir and costs nothing here.
import type { Database as Db } from 'better-sqlite3';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';

/** The marker that says a gateway has this data dir open; left behind only by an unclean stop. */
export const RUNNING_FILE = 'cordon.running';
export const REBUILT_NOTE = 'rebuilt from events after an unclean stop';

/** True when the last run did not stop cleanly. Writes the marker for this run. */
export function markRunning(path: string): boolean {
  const unclean = existsSync(path);
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch { /* the dir was checked writable; a failure here only costs the next rebuild */ }
  return unclean;
}

export function markStopped(path: string): void {
  try {
    unlinkSync(path);
  } catch { /* already gone */ }
}

/** Writes a summary for every session whose latest events came after its latest summary. Returns how many. */
export function rebuildFromEvents(db: Db): number {
  const orphans = db.prepare(`
    SELECT e.session_id AS id, COALESCE(s.ended, -1) AS after
    FROM (SELECT session_id, MAX(at) AS last FROM events GROUP BY session_id) e
    LEFT JOIN (SELECT id, MAX(ended_at) AS ended FROM sessions GROUP BY id) s ON s.id = e.session_id
    WHERE s.ended IS NULL OR e.last > s.ended`).all() as { id: string; after: number }[];
  if (orphans.length === 0) return 0;
  const span = db.prepare(`SELECT MIN(at) AS first, MAX(at) AS last, SUM(kind = 'policy') AS flags FROM events WHERE session_id = ? AND at > ?`);
  const summary = db.prepare(`INSERT INTO sessions (id, state, upstream, client_ip, started_at, last_seen_at, ended_at, requests, bytes_in, bytes_out, flags)
    VALUES (?, 'completed', NULL, NULL, ?, ?, ?, 0, 0, 0, ?)`);
  const note = db.prepare(`INSERT INTO events (id, kind, session_id, rule, severity, action, direction, excerpt, at)
    VALUES (?, 'session', ?, 'session.completed', 'low', 'completed', NULL, ?, ?)`);
  const write = db.transaction(() => {
    for (const o of orphans) {
      const s = span.get(o.id, o.after) as { first: number; last: number; flags: number };
      summary.run(o.id, s.first, s.last, s.last, s.flags);
      note.run(`completed-${o.id}-${s.last}`, o.id, REBUILT_NOTE, s.last);
    }
  });
  write();
  return orphans.length;
}
