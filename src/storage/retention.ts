// Retention: rows older than `storage.retention` are deleted in small batches with a yield to the
// event loop between batches, so a large backlog (first start after a long stop) never holds the
// loop or the writer for more than one batch. Operator kills are kept until resumed: a kill is
// an instruction, not history. Rule terminations expire like other history.
import type { Database, Statement } from 'better-sqlite3';
import { setImmediate as yieldLoop } from 'node:timers/promises';

export const RETENTION_BATCH = 500;

export class Retention {
  private readonly steps: Statement[];

  constructor(db: Database, private readonly batch = RETENTION_BATCH) {
    const del = (table: string, col: string, extra = '', key = 'rowid') =>
      db.prepare(`DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${col} < ? ${extra} LIMIT ${this.batch})`);
    this.steps = [
      del('events', 'at'),
      del('captures', 'at'),
      del('sessions', 'ended_at'),
      del('kills', 'at', "AND state = 'terminated'", 'id'),
    ];
  }

  /**
   * Deletes everything older than `cutoff` (epoch ms), one batch per event-loop turn.
   * `stop()` returning true ends the run early (store closing). Returns rows deleted.
   */
  async run(cutoff: number, stop: () => boolean): Promise<number> {
    let total = 0;
    for (const step of this.steps) {
      for (;;) {
        if (stop()) return total;
        const n = step.run(cutoff).changes;
        total += n;
        if (n < this.batch) break;
        await yieldLoop();
      }
    }
    return total;
  }
}
