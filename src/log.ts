// One pino logger for the process: JSON lines to stdout. Writes are buffered and asynchronous
// (sonic-boom: lines written while a write is pending are batched into the next one; flushed on exit) so that the per-request access log stays off the hot path.
//
// The access log (one line per proxied request) is the one line written at request rate, so it has
// its own cheaper path: the line is built by hand in exactly the shape pino would write, collected
// in a batch, and handed to the same destination at most every ACCESS_FLUSH_MS (or when the batch is
// large). Measured on the proxy benchmark, pino's generic path plus one asynchronous write per few
// requests cost about a third of the gateway's CPU per request. Any other log call first flushes the
// batch, so lines keep their order in the output.
import { destination, pino, stdTimeFunctions, type Logger } from 'pino';

export type { Logger };

export interface AccessLog {
  /** One line: the fields in the order they are written (positional, so a line allocates no object); `ms` already rounded. */
  write(session: string | null, method: string, path: string, status: number, upstream: string | null,
    bytesIn: number, bytesOut: number, ms: number, outcome: string): void;
}

const ACCESS_FLUSH_MS = 20;
const ACCESS_FLUSH_BYTES = 16 * 1024;

interface FastAccess {
  /** `{"level":"info","time":"` */
  readonly head: string;
  /** `","pid":…,"name":…` (pino's bindings) then `,"session":` */
  readonly afterTime: string;
  readonly dest: { write(s: string): boolean };
  pending: string;
  timer: NodeJS.Timeout | null;
}

const fast = new WeakMap<Logger, FastAccess>();

export function createLogger(level: string, name = 'cordon'): Logger {
  const dest = destination({ dest: 1, sync: false });
  const access: FastAccess = {
    head: '{"level":"info","time":"',
    afterTime: `","pid":${process.pid},"name":${JSON.stringify(name)},"session":`,
    dest,
    pending: '',
    timer: null,
  };
  // Flush what is buffered when the process ends, also on process.exit() after a drain.
  process.once('exit', () => {
    try {
      flushAccess(access);
      dest.flushSync();
    } catch { /* stdout already closed */ }
  });
  const log = pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      // Batched access lines go out before any other line, so the output stays in order.
      logMethod(args, method) {
        if (access.pending !== '') flushAccess(access);
        method.apply(this, args);
      },
    },
  }, dest);
  fast.set(log, access);
  return log;
}

/**
 * The access-log writer for `log`, or null when `info` is off. For a logger made by createLogger
 * the line is built by hand (same bytes as `log.info({...}, 'request')` would write); for any
 * other logger (tests) it falls back to log.info.
 */
export function createAccessLog(log: Logger): AccessLog | null {
  if (!log.isLevelEnabled('info')) return null;
  const a = fast.get(log);
  if (a === undefined) {
    return {
      write(session, method, path, status, upstream, bytesIn, bytesOut, ms, outcome) {
        log.info({ session, method, path, status, upstream, bytes_in: bytesIn, bytes_out: bytesOut, ms, outcome }, 'request');
      },
    };
  }
  return {
    write(session, method, path, status, upstream, bytesIn, bytesOut, ms, outcome) {
      const now = Date.now();
      if (now !== lastMs) {
        lastMs = now;
        lastIso = new Date(now).toISOString();
      }
      // Session IDs are validated ([A-Za-z0-9._:-]) and methods are HTTP tokens: neither needs escaping.
      a.pending += a.head + lastIso + a.afterTime + (session === null ? 'null' : `"${session}"`) +
        ',"method":"' + method + '","path":' + JSON.stringify(path) + ',"status":' + status +
        ',"upstream":' + (upstream === null ? 'null' : JSON.stringify(upstream)) +
        ',"bytes_in":' + bytesIn + ',"bytes_out":' + bytesOut + ',"ms":' + ms +
        ',"outcome":' + JSON.stringify(outcome) + ',"msg":"request"}\n';
      if (a.pending.length >= ACCESS_FLUSH_BYTES) flushAccess(a);
      else if (a.timer === null) {
        a.timer = setTimeout(onAccessTimer, ACCESS_FLUSH_MS, a);
        a.timer.unref();
      }
    },
  };
}

// ISO time of the last millisecond seen: consecutive lines within one ms share the string.
let lastMs = -1;
let lastIso = '';

function onAccessTimer(a: FastAccess): void {
  a.timer = null;
  flushAccess(a);
}

function flushAccess(a: FastAccess): void {
  if (a.timer !== null) {
    clearTimeout(a.timer);
    a.timer = null;
  }
  if (a.pending === '') return;
  const s = a.pending;
  a.pending = '';
  a.dest.write(s);
}
