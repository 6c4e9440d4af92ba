// Unsolicited `100 Continue` from an upstream. undici's HTTP/1.1 client destroys the socket on any
// 100 (it never sends `Expect`), so a backend that answers every POST with an interim 100 became a
// 502 for the client. RFC 9110 §15.2 says a client must be able to parse one it did not ask for.
// This connector marks each upstream socket so that the 100s undici would choke on are dropped
// before its parser sees them; other 1xx (102, 103) pass, undici skips them itself.
//
// Framing without a parser: with pipelining 1 undici writes a request head (one latin1 string that
// starts with the request line) only when no response is in progress, so a response begins right
// after such a write. From then on the reader looks at status lines: a 1xx head is passed or dropped
// up to its blank line, and the first final status line ends the watch until the next request head.
// Cost on the hot path: a string check per write and a state check per read.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { buildConnector as BuildConnector } from 'undici';

// undici's connector alone, not its index (which loads fetch and more: idle RSS, as in upstreams.ts).
const buildConnector = createRequire(import.meta.url)('undici/lib/core/connect.js') as typeof BuildConnector;

const kState = Symbol('cordon.interim');
const kRead = Symbol('cordon.interim.read');
const kWrite = Symbol('cordon.interim.write');

const PASS = 0; // inside a final response (or no request written yet)
const STATUS = 1; // a status line is due
const INTERIM_PASS = 2; // inside a 1xx head that undici handles (102, 103)
const INTERIM_DROP = 3; // inside a 100 head: dropped

interface Marked extends Socket {
  [kState]: { mode: number; held: Buffer | null; tail: number };
  [kRead]: Socket['read'];
  [kWrite]: Socket['write'];
}

type ConnectOptions = BuildConnector.BuildOptions;

/** A Pool `connect` function that drops unsolicited 100 Continue heads (pipelining 1 only). */
export function interimConnector(opts: ConnectOptions): BuildConnector.connector {
  const base = buildConnector(opts);
  return (options, callback) => base(options, (err, socket) => {
    if (err === null && socket !== null) mark(socket as Socket);
    (callback as (e: Error | null, s: unknown) => void)(err, socket);
  });
}

function mark(socket: Socket): void {
  const s = socket as Marked;
  s[kState] = { mode: PASS, held: null, tail: 0 };
  s[kRead] = s.read;
  s[kWrite] = s.write;
  s.read = markedRead;
  s.write = markedWrite as Socket['write'];
}

// Explicit parameters rather than a rest array: this runs for every write to an upstream.
function markedWrite(this: Marked, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  if (typeof chunk === 'string' && isRequestHead(chunk)) {
    const st = this[kState];
    st.mode = STATUS;
    st.held = null;
  }
  return (this[kWrite] as (c: unknown, e?: unknown, f?: unknown) => boolean).call(this, chunk, encoding, cb);
}

/** `METHOD SP target SP HTTP/1.1 CRLF`: undici's head, never a body it writes as a string. */
function isRequestHead(s: string): boolean {
  const sp = s.indexOf(' ');
  if (sp <= 0 || sp > 20) return false;
  const eol = s.indexOf('\r\n', sp);
  return eol > 0 && s.startsWith(' HTTP/1.1', eol - 9);
}

function markedRead(this: Marked, n?: number): Buffer | null {
  const st = this[kState];
  for (;;) {
    const chunk = this[kRead].call(this, n) as Buffer | null;
    if (st.mode === PASS) return chunk;
    if (chunk === null) return null;
    const out = filter(st, chunk);
    if (out !== null) return out;
    // everything was dropped or held: read on
  }
}

const CRLF2 = 0x0d0a0d0a;

/** The bytes to hand to undici from `chunk`, or null when all were dropped or held. */
function filter(st: Marked[typeof kState], chunk: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let buf = st.held === null ? chunk : Buffer.concat([st.held, chunk]);
  st.held = null;
  let at = 0;
  while (at < buf.length && st.mode !== PASS) {
    if (st.mode === STATUS) {
      if (buf.length - at < 12) { st.held = buf.subarray(at); buf = buf.subarray(0, at); break; }
      const interim = buf[at + 9] === 0x31 /* 1 */ && buf.toString('latin1', at, at + 7) === 'HTTP/1.';
      if (!interim) { st.mode = PASS; break; }
      st.mode = buf[at + 10] === 0x30 && buf[at + 11] === 0x30 ? INTERIM_DROP : INTERIM_PASS;
      st.tail = 0;
    }
    // find the blank line that ends this 1xx head, across chunks
    let end = -1;
    let tail = st.tail;
    for (let i = at; i < buf.length; i++) {
      tail = ((tail << 8) | buf[i]) >>> 0;
      if (tail === CRLF2) { end = i + 1; break; }
    }
    st.tail = tail;
    const stop = end < 0 ? buf.length : end;
    if (st.mode === INTERIM_PASS) parts.push(buf.subarray(at, stop));
    at = stop;
    if (end >= 0) st.mode = STATUS;
  }
  if (at === 0 && parts.length === 0) return buf.length === 0 ? null : buf; // the usual case: a final status first
  if (at < buf.length) parts.push(buf.subarray(at));
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
