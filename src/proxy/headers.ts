// Request and response header rules: drop hop-by-hop headers (RFC 9110 §7.6.1 plus the ones
// named in Connection), set Host to the upstream's, append X-Forwarded-For.
// Works on flat raw header arrays, as node:http and undici hand them over, to avoid objects per request.

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'host', 'content-length',
]);

function connectionTokens(value: string | undefined): Set<string> | null {
  if (!value) return null;
  let set: Set<string> | null = null;
  for (const t of value.split(',')) {
    const k = t.trim().toLowerCase();
    if (k && k !== 'close' && k !== 'keep-alive') (set ??= new Set()).add(k);
  }
  return set;
}

export interface ForwardHeaderInput {
  raw: string[];
  host: string;
  clientIp: string;
  /** body length we will send, or -1 to keep none (no body) */
  contentLength: number;
}

/** Builds the upstream request's headers as a flat [k, v, k, v] array. */
export function upstreamRequestHeaders(input: ForwardHeaderInput): string[] {
  const { raw } = input;
  let connection: string | undefined;
  let xff: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (k === 'connection') connection = raw[i + 1];
    else if (k === 'x-forwarded-for') xff = xff === undefined ? raw[i + 1] : `${xff}, ${raw[i + 1]}`;
  }
  const extra = connectionTokens(connection);
  const out: string[] = ['host', input.host];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k) || k === 'x-forwarded-for' || (extra !== null && extra.has(k))) continue;
    out.push(raw[i], raw[i + 1]);
  }
  out.push('x-forwarded-for', xff === undefined ? input.clientIp : `${xff}, ${input.clientIp}`);
  if (input.contentLength >= 0) out.push('content-length', String(input.contentLength));
  return out;
}

const RESPONSE_DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'x-session-id']);

/**
 * Converts undici's raw response headers (Buffers) into a flat string array for res.writeHead,
 * dropping hop-by-hop headers, and adds X-Session-ID. Also reports the content type, which the
 * response phase needs to choose a decoder.
 */
export function downstreamResponseHeaders(raw: Buffer[], sessionId: string, out: { contentType: string | undefined }): string[] {
  const headers: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toString('latin1');
    const v = raw[i + 1].toString('latin1');
    const lk = k.toLowerCase();
    if (lk === 'connection') connection = v;
    if (RESPONSE_DROP.has(lk)) continue;
    if (lk === 'content-type') out.contentType = v;
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
