// The paging cursor of SessionTable.list().
import { BadCursorError } from './types.js';

// A cursor is the next slot to look at: slots never move, so a session that lives through the
// whole paging is listed exactly once, whatever is inserted meanwhile.
export function encodeCursor(slot: number): string {
  return 's' + slot.toString(36);
}
export function decodeCursor(c: string): number {
  if (!/^s[0-9a-z]{1,7}$/.test(c)) throw new BadCursorError('cursor is not one this server gave out');
  return parseInt(c.slice(1), 36);
}
