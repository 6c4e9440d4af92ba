// One pino logger for the process: JSON lines to stdout. Writes are buffered and asynchronous
// (sonic-boom: lines written while a write is pending are batched into the next one; flushed on exit) so that the per-request access log stays off the hot path.
import { destination, pino, stdTimeFunctions, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'cordon'): Logger {
  const dest = destination({ dest: 1, sync: false });
  // Flush what is buffered when the process ends, also on process.exit() after a drain.
  process.once('exit', () => {
    try { dest.flushSync(); } catch { /* stdout already closed */ }
  });
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, dest);
}
