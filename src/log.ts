// One pino logger for the process. JSON lines to stdout; the access log is one line per request.
import { pino, stdTimeFunctions, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'cordon'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
