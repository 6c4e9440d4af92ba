// Request and response header rules: drop hop-by-hop headers (RFC 9110 §7.6.1 plus the ones
// named in Connection), set Host to the upstream's, append X-Forwarded-For.
// Works on flat raw header arrays, as node:http and undici hand them over, to avoid objects per request.

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'host', 'content-length',
]);

function connectionTokens(value: string | undefined): Set<string> | null {
  if (!value) return null;
  // The usual values name no header: answer without splitting.
  if (equalsLower(value, 'keep-alive') || equalsLower(value, 'close')) return null;
  let set: Set<string> | null = null;
  for (const t of value.split(',')) {
    const k = t.trim().toLowerCase();
    if (k && k !== 'close' && k !== 'keep-alive') (set ??= new Set()).add(k);
  }
  return set;
}

// Names dropped from a request, by length, so that most headers are passed on after one length
// check and none is lower-cased into a new string.
const REQUEST_DROP_BY_LENGTH: string[][] = [];
for (const name of [...HOP_BY_HOP, 'x-forwarded-for']) (REQUEST_DROP_BY_LENGTH[name.length] ??= []).push(name);

/** `name` equals `lower` (an all-lower-case header name) ignoring ASCII case. */
function equalsLower(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    // Header names are tokens: `| 0x20` folds A-Z onto a-z and maps no other token character onto a letter.
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function droppedFromRequest(name: string): boolean {
  const candidates = REQUEST_DROP_BY_LENGTH[name.length];
  if (candidates === undefined) return false;
  for (let i = 0; i < candidates.length; i++) if (equalsLower(name, candidates[i])) return true;
  return false;
}

/**
 * Builds the upstream request's headers as a flat [k, v, k, v] array from node's rawHeaders.
 * `connection` and `xff` are the request's Connection and X-Forwarded-For values as node joined
 * them (req.headers, which node builds for every request anyway). `contentLength` is the body
 * length we will send, or -1 to send none (no body).
 */
export function upstreamRequestHeaders(raw: string[], host: string, clientIp: string, contentLength: number,
  connection: string | undefined, xff: string | undefined, cred: UpstreamCredential | null = null): string[] {
  const extra = connectionTokens(connection);
  const out: string[] = ['host', host];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i];
    if (droppedFromRequest(k) || (extra !== null && extra.has(k.toLowerCase()))) continue;
    if (cred !== null && droppedCredential(k, cred.drop)) continue;
    out.push(k, raw[i + 1]);
  }
  if (cred !== null && cred.name !== null) out.push(cred.name, cred.value);
  out.push('x-forwarded-for', xff === undefined ? clientIp : `${xff}, ${clientIp}`);
  if (contentLength >= 0) out.push('content-length', String(contentLength));
  return out;
}

/**
 * The credential rule of one request (auth/upstream-auth.ts): which client credential headers to
 * drop (the client's cordon key, or every client credential when the operator's replaces it) and
 * the operator's header to send instead (name null: none).
 */
export interface UpstreamCredential {
  /** bit 1: authorization, bit 2: x-api-key */
  drop: number;
  name: string | null;
  value: string;
}

function droppedCredential(k: string, drop: number): boolean {
  if (k.length === 13) return (drop & 1) !== 0 && equalsLower(k, 'authorization');
  if (k.length === 9) return (drop & 2) !== 0 && equalsLower(k, 'x-api-key');
  return false;
}

const RESPONSE_DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'x-session-id']);

const enum NameKind { Keep, Drop, Connection, ContentType, ContentEncoding }

/**
 * Response header names as undici hands them over (Buffers), interned: an upstream sends the same
 * few names on every response, so a small table keyed by a hash of the bytes turns each into the
 * same string (and its kind) without a toString and a toLowerCase per header. A slot holds the last
 * name that hashed to it; a miss just converts and takes the slot.
 */
const NAME_SLOTS = 128;
const nameBytes: (Buffer | null)[] = new Array<Buffer | null>(NAME_SLOTS).fill(null);
const nameStr: string[] = new Array<string>(NAME_SLOTS).fill('');
const nameKind = new Uint8Array(NAME_SLOTS);
let slotOfLast = 0;

function internName(b: Buffer): string {
  const n = b.length;
  let h = n;
  for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + b[i]) | 0;
  const slot = (h >>> 0) & (NAME_SLOTS - 1);
  slotOfLast = slot;
  const known = nameBytes[slot];
  if (known !== null && known.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) if (known[i] !== b[i]) { same = false; break; }
    if (same) return nameStr[slot];
  }
  const str = b.toString('latin1');
  const lower = str.toLowerCase();
  nameBytes[slot] = Buffer.from(b); // a copy: undici may reuse the bytes behind `b`
  nameStr[slot] = str;
  nameKind[slot] = lower === 'connection' ? NameKind.Connection : RESPONSE_DROP.has(lower) ? NameKind.Drop
    : lower === 'content-type' ? NameKind.ContentType : lower === 'content-encoding' ? NameKind.ContentEncoding : NameKind.Keep;
  return str;
}

/** What the response phase reads from an answer's head. */
export interface AnswerHead { contentType: string | undefined; contentEncoding: string | undefined }

/** Removes every header of this (lower-case) name from a flat array. */
export function dropHeader(headers: string[], lower: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (equalsLower(headers[i], lower)) headers.splice(i, 2);
}

/**
 * Converts undici's raw response headers (Buffers) into a flat string array for res.writeHead,
 * dropping hop-by-hop headers, and adds X-Session-ID. Also reports the content type and coding,
 * which the response phase needs to choose its decoders.
 */
export function downstreamResponseHeaders(raw: Buffer[], sessionId: string, out: AnswerHead): string[] {
  out.contentType = undefined;
  out.contentEncoding = undefined;
  const headers: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const k = internName(raw[i]);
    const kind = nameKind[slotOfLast];
    if (kind === NameKind.Drop) continue; // its value is never turned into a string
    const v = raw[i + 1].toString('latin1');
    if (kind === NameKind.Connection) { connection = v; continue; }
    if (kind === NameKind.ContentType) out.contentType = v;
    else if (kind === NameKind.ContentEncoding) out.contentEncoding = out.contentEncoding === undefined ? v : `${out.contentEncoding}, ${v}`;
    headers.push(k, v);
  }
  const extra = connectionTokens(connection);
  if (extra !== null) {
    for (let i = headers.length - 2; i >= 0; i -= 2) {
      if (extra.has(headers[i].toLowerCase())) headers.splice(i, 2);
    }
  }
  headers.push('x-session-id', sessionId);
  return headers;
}

export function headerValue(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === name.length && raw[i].toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}
