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

/**
 * The logger shape a part needs (memory/, fleet/, storage): a subset of pino's Logger, so tests
 * can pass a recorder or silentLog.
 */
export interface PartLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLog: PartLog = { info() {}, warn() {}, error() {} };

export interface AccessLog {
  /** One line: the fields in the order they are written (positional, so a line allocates no object); `ms` already rounded. */
  write(session: string | null, method: string, path: string, status: number, upstream: string | null,
    bytesIn: number, bytesOut: number, ms: number, outcome: string): void;
}

const ACCESS_FLUSH_MS = 20;
const ACCESS_FLUSH_BYTES = 16 * 1024;
const ACCESS_BUFFER_BYTES = 64 * 1024;

interface FastAccess {
  /** `","pid":…,"name":…` (pino's bindings) then `,"session":` */
  readonly afterTime: Uint8Array;
  readonly dest: { write(s: string): boolean };
  /** lines not yet handed to the destination, as UTF-8 */
  readonly buf: Buffer;
  len: number;
  timer: NodeJS.Timeout | null;
}

const fast = new WeakMap<Logger, FastAccess>();

export function createLogger(level: string, name = 'cordon'): Logger {
  const dest = destination({ dest: 1, sync: false });
  const access: FastAccess = {
    afterTime: Buffer.from(`","pid":${process.pid},"name":${JSON.stringify(name)},"session":`, 'utf8'),
    dest,
    buf: Buffer.allocUnsafe(ACCESS_BUFFER_BYTES),
    len: 0,
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
        if (access.len !== 0) flushAccess(access);
        method.apply(this, args);
      },
    },
  }, dest);
  fast.set(log, access);
  return log;
}

/**
 * The access-log writer for `log`, or null when `info` is off. For a logger made by createLogger
 * the line is written by hand into a batch buffer (the same bytes `log.info({...}, 'request')`
 * would write, without building an object or a string per line); for any other logger (tests)
 * it falls back to log.info.
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
      // Room for the worst case: fixed parts, and 6 bytes per UTF-16 unit of the free-text fields (`\u00XX`).
      const need = 320 + 6 * (path.length + (upstream === null ? 0 : upstream.length) + outcome.length) + (session === null ? 0 : session.length);
      if (a.len + need > a.buf.length) flushAccess(a);
      if (need > a.buf.length) {
        a.dest.write(`{"level":"info","time":"${new Date().toISOString()}${Buffer.from(a.afterTime).toString('utf8')}${JSON.stringify(session)}` + `,"method":${JSON.stringify(method)},"path":${JSON.stringify(path)}` +
          `,"status":${status},"upstream":${JSON.stringify(upstream)},"bytes_in":${bytesIn},"bytes_out":${bytesOut},"ms":${ms},"outcome":${JSON.stringify(outcome)},"msg":"request"}\n`);
        return;
      }
      const now = Date.now();
      if (now !== lastMs) {
        lastMs = now;
        lastIso = new Date(now).toISOString();
      }
      const b = a.buf;
      let n = a.len;
      n = putBytes(b, n, K_HEAD);
      n = putAscii(b, n, lastIso);
      n = putBytes(b, n, a.afterTime);
      // Session IDs are validated ([A-Za-z0-9._:-]) and methods are HTTP tokens: neither needs escaping.
      if (session === null) n = putBytes(b, n, K_NULL);
      else { b[n++] = 0x22; n = putAscii(b, n, session); b[n++] = 0x22; }
      n = putBytes(b, n, K_METHOD);
      n = putAscii(b, n, method);
      n = putBytes(b, n, K_PATH);
      n = putJsonString(b, n, path);
      n = putBytes(b, n, K_STATUS);
      n = putUint(b, n, status);
      n = putBytes(b, n, K_UPSTREAM);
      n = upstream === null ? putBytes(b, n, K_NULL) : putJsonString(b, n, upstream);
      n = putBytes(b, n, K_BYTES_IN);
      n = putUint(b, n, bytesIn);
      n = putBytes(b, n, K_BYTES_OUT);
      n = putUint(b, n, bytesOut);
      n = putBytes(b, n, K_MS);
      n = Number.isInteger(ms) && ms >= 0 && ms < 2 ** 31 ? putUint(b, n, ms) : putAscii(b, n, String(ms));
      n = putBytes(b, n, K_OUTCOME);
      n = putJsonString(b, n, outcome);
      n = putBytes(b, n, K_TAIL);
      a.len = n;
      if (n >= ACCESS_FLUSH_BYTES) flushAccess(a);
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

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const K_HEAD = bytes('{"level":"info","time":"');
const K_NULL = bytes('null');
const K_METHOD = bytes(',"method":"');
const K_PATH = bytes('","path":');
const K_STATUS = bytes(',"status":');
const K_UPSTREAM = bytes(',"upstream":');
const K_BYTES_IN = bytes(',"bytes_in":');
const K_BYTES_OUT = bytes(',"bytes_out":');
const K_MS = bytes(',"ms":');
const K_OUTCOME = bytes(',"outcome":');
const K_TAIL = bytes(',"msg":"request"}\n');

function putBytes(b: Buffer, n: number, k: Uint8Array): number {
  for (let i = 0; i < k.length; i++) b[n + i] = k[i];
  return n + k.length;
}

/** For strings known to be printable ASCII. */
function putAscii(b: Buffer, n: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[n + i] = s.charCodeAt(i);
  return n + s.length;
}

function putUint(b: Buffer, n: number, v: number): number {
  if (v < 10) { b[n] = 0x30 + v; return n + 1; }
  let digits = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
  for (let i = n + digits - 1, t = v; i >= n; i--, t = Math.floor(t / 10)) b[i] = 0x30 + (t % 10);
  return n + digits;
}

/** A JSON string literal as JSON.stringify writes it, in UTF-8. */
function putJsonString(b: Buffer, n: number, s: string): number {
  const start = n;
  b[n++] = 0x22;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
      // Escapes or non-ASCII: rare in paths; let JSON.stringify and the UTF-8 encoder do it exactly.
      return start + b.write(JSON.stringify(s), start, 'utf8');
    }
    b[n++] = c;
  }
  b[n++] = 0x22;
  return n;
}

function onAccessTimer(a: FastAccess): void {
  a.timer = null;
  flushAccess(a);
}

function flushAccess(a: FastAccess): void {
  if (a.timer !== null) {
    clearTimeout(a.timer);
    a.timer = null;
  }
  if (a.len === 0) return;
  const s = a.buf.toString('utf8', 0, a.len);
  a.len = 0;
  a.dest.write(s);
}
