// The storage part's public surface.
export { openStore, Store, kDb, kWriterExec, kWriterKill, DB_FILE, type StoreOptions, type StoreStats, type StoreHealth, type KillState } from './store.js';
export { StorageError, type StorageErrorCode } from './errors.js';
export { CaptureWriter } from './capture.js';
export { QueryError, HISTORY_LIMIT_MAX, FLAGGED_LIMIT_MAX, type EndedSession, type FlaggedEvent, type HistoryPage, type HistoryQuery, type StoredEvent } from './queries.js';
export { RANKS, type RankName } from './queue.js';
