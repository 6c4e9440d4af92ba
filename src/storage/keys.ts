// API keys and agent kills in SQLite: written at once on the main connection (a key created or
// revoked, an agent killed, must survive a crash right after), read at start.
import type { Database as Db } from 'better-sqlite3';

export interface KeyRow {
  id: string;
  sha256: string;
  agent: string;
  team: string | null;
  /** JSON */
  budget: string | null;
  /** JSON */
  tools: string | null;
  created_at: number;
  revoked_at: number | null;
}

export class KeyTables {
  constructor(private readonly db: () => Db) {}

  keys(): KeyRow[] {
    return this.db().prepare('SELECT id, sha256, agent, team, budget, tools, created_at, revoked_at FROM api_keys').all() as KeyRow[];
  }

  insertKey(r: KeyRow): void {
    this.db().prepare('INSERT OR REPLACE INTO api_keys (id, sha256, agent, team, budget, tools, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.id, r.sha256, r.agent, r.team, r.budget, r.tools, r.created_at, r.revoked_at);
  }

  /** Marks a key revoked; a config key (no row yet) gets a row that only says so. */
  revokeKey(id: string, sha256: string, agent: string, at: number): void {
    const db = this.db();
    const n = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes;
    if (n === 0) {
      db.prepare('INSERT OR IGNORE INTO api_keys (id, sha256, agent, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)').run(id, sha256, agent, at, at);
    }
  }

  agentKills(): { agent: string; at: number }[] {
    return this.db().prepare('SELECT agent, at FROM agent_kills').all() as { agent: string; at: number }[];
  }

  setAgentKill(agent: string, killed: boolean, at: number): void {
    if (killed) this.db().prepare('INSERT OR REPLACE INTO agent_kills (agent, at) VALUES (?, ?)').run(agent, at);
    else this.db().prepare('DELETE FROM agent_kills WHERE agent = ?').run(agent);
  }
}
