// Session identity (SPEC.md "Session identity"): the X-Session-ID header, else an agent client's
// own session header (X-Claude-Code-Session-Id), else the JSON body's `user` (OpenAI) or
// `metadata.user_id` (Anthropic), else a derived `client-<hash>` ID.
//
// A malformed header is the client's explicit mistake and gets 400. A body ID that is not a valid
// ID (an e-mail address, Claude Code's long `metadata.user_id`) is not: clients may put anything
// there, so it becomes the stable `u-<hash of it>`. Falling back to the hourly client hash instead
// would merge every agent behind one address into one session.
import { createHash } from 'node:crypto';

// IDs made only of dots (`.`, `..`, `...`) are refused: `.` and `..` are dot segments that every URL
// parser (fetch, browsers, curl) folds away, so /control/sessions/../kill could never address them;
// all-dots as a whole keeps the rule one short sentence (docs/contract-additions.md).
const ID_RE = /^(?!\.+$)[A-Za-z0-9._:-]{1,128}$/;

/** The rule in words, for every error message that refuses an ID. */
export const SESSION_ID_RULE = '1-128 characters of A-Z a-z 0-9 . _ : -, not only dots';

/** 1–128 characters of [A-Za-z0-9._:-], not all of them dots. */
export function validSessionId(s: unknown): s is string {
  return typeof s === 'string' && ID_RE.test(s);
}

/**
 * The session ID a parsed JSON request body names (`user`, else `metadata.user_id`), or undefined.
 * A non-empty string that is not a valid ID becomes `u-<hash>` (bodyIdOf).
 */
export function sessionIdFromJson(json: unknown): string | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  if (isBodyId(o.user)) return bodyIdOf(o.user);
  const md = o.metadata;
  if (md !== null && typeof md === 'object' && !Array.isArray(md)) {
    const uid = (md as Record<string, unknown>).user_id;
    if (isBodyId(uid)) return bodyIdOf(uid);
  }
  return undefined;
}

/** A body value that names a session: a non-empty string, not only dots (`..` names nothing). */
function isBodyId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && !DOTS_RE.test(v);
}

const DOTS_RE = /^\.+$/;

/**
 * A body ID as the session ID: itself when valid, else `u-` + 32 hex digits of its SHA-256
 * (128 bits: two distinct agents' IDs never meet in one session by accident).
 */
export function bodyIdOf(raw: string): string {
  if (ID_RE.test(raw)) return raw;
  return 'u-' + createHash('sha256').update(raw, 'utf8').digest('hex').slice(0, 32);
}

const HOUR_MS = 3_600_000;

/**
 * `client-` + 16 hex digits of FNV-1a 64 over (client IP, User-Agent, hour). Not cryptographic:
 * it groups one client's requests, it does not authenticate them. The hour bucket makes an
 * anonymous client's session roll over hourly, so one busy client never grows a single session forever.
 */
export function derivedSessionId(clientIp: string, userAgent: string, nowMs: number): string {
  H = 0xcbf29ce4;
  L = 0x84222325;
  feed(clientIp);
  feed(userAgent);
  feed(String(Math.floor(nowMs / HOUR_MS)));
  // Written into one buffer and read back as one flat string: `'client-' + a + b` would make a
  // rope (ConsString) that costs an extra 32+ bytes for as long as the table keeps the ID.
  hexInto(H, 7);
  hexInto(L, 15);
  return OUT.toString('latin1', 0, 23);
}

const OUT = Buffer.from('client-0000000000000000', 'latin1');
const HEX = '0123456789abcdef';
function hexInto(n: number, at: number): void {
  for (let i = 7; i >= 0; i--) {
    OUT[at + i] = HEX.charCodeAt(n & 0xf);
    n >>>= 4;
  }
}

/** FNV-1a 64 of the low bytes of a string's code units, as 16 hex digits (exported for tests). */
export function fnv1a64Hex(s: string): string {
  H = 0xcbf29ce4;
  L = 0x84222325;
  for (let i = 0; i < s.length; i++) step(s.charCodeAt(i) & 0xff);
  return hex8(H) + hex8(L);
}

// The running hash lives in two module variables so that hashing allocates nothing per byte.
let H = 0;
let L = 0;

function feed(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) step(c >>> 8);
    step(c & 0xff);
  }
  // a separator keeps ("a", "bc") and ("ab", "c") apart
  step(0x0a);
}

// One FNV-1a 64 round in two 32-bit halves: h ^= byte; h *= 2^40 + 0x1b3 (mod 2^64).
function step(byte: number): void {
  const lo = (L ^ byte) >>> 0;
  const t = lo * 0x1b3; // < 2^41: exact in a double
  const carry = Math.floor(t / 4294967296);
  H = (Math.imul(H, 0x1b3) + (lo << 8) + carry) >>> 0;
  L = (t % 4294967296) >>> 0;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export type IdentityResult =
  | { ok: true; id: string; source: 'header' | 'body' | 'derived' }
  | { ok: false; code: 'invalid_session_id'; message: string };

/**
 * The whole identity rule in one place for the proxy. `header` is the raw X-Session-ID value
 * (node gives a string, or an array when repeated; a repeated header is malformed).
 */
export function identify(
  header: string | string[] | undefined,
  json: unknown,
  clientIp: string,
  userAgent: string,
  nowMs: number,
): IdentityResult {
  return identifyScanned(header, sessionIdFromJson(json), clientIp, userAgent, nowMs);
}

/**
 * The same rule when the body was not parsed but scanned (BodyIdScanner.result(): an already
 * valid ID or undefined), or when there is no body.
 */
export function identifyScanned(
  header: string | string[] | undefined,
  bodyId: string | undefined,
  clientIp: string,
  userAgent: string,
  nowMs: number,
): IdentityResult {
  if (header !== undefined) {
    if (typeof header === 'string' && ID_RE.test(header)) return { ok: true, id: header, source: 'header' };
    return { ok: false, code: 'invalid_session_id', message: `X-Session-ID must be ${SESSION_ID_RULE}` };
  }
  if (bodyId !== undefined) return { ok: true, id: bodyId, source: 'body' };
  return { ok: true, id: derivedSessionId(clientIp, userAgent, nowMs), source: 'derived' };
}
