// Errors the store raises at open time. The CLI turns a StorageError into exit 2 with its
// message, which always starts with the path at fault, so an operator sees what to fix and
// never a stack trace.

export type StorageErrorCode =
  | 'data_dir_unusable'
  | 'not_a_database'
  | 'foreign_database'
  | 'schema_too_new'
  | 'open_failed';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(readonly code: StorageErrorCode, readonly path: string, reason: string) {
    super(`${path}: ${reason}`);
  }
}

/** A short, stable description of a thrown value: `SQLITE_FULL: database or disk is full`. */
export function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown };
    const msg = typeof e.message === 'string' ? e.message : String(err);
    return typeof e.code === 'string' && !msg.startsWith(e.code) ? `${e.code}: ${msg}` : msg;
  }
  return String(err);
}
