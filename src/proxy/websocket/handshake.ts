// The relay's own opening handshake towards the upstream (RFC 6455 §4). It is a transparent
// relay: the client's Sec-WebSocket-Key goes upstream unchanged, so the upstream's
// Sec-WebSocket-Accept is valid for the client and its 101 can be passed back as it is.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { UpstreamCredential } from '../headers.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Headers forwarded from the client's upgrade request, besides the WebSocket ones. */
const FORWARDED = ['authorization', 'origin', 'cookie', 'user-agent', 'x-session-id'] as const;

export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** Where on the upstream the request goes: the upstream path is a prefix that is not doubled. */
export function upstreamPath(base: URL, reqUrl: string): string {
  const prefix = base.pathname.replace(/\/+$/, '');
  const path = reqUrl.startsWith('/') ? reqUrl : `/${reqUrl}`;
  if (prefix === '' || path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`)) return path;
  return prefix + path;
}

/** Keeps the offered extensions minus permessage-deflate (unless enabled). Empty = none. */
export function filterExtensions(value: string | undefined, deflate: boolean): string {
  if (!value || deflate) return value ?? '';
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && !/^permessage-deflate\b/i.test(s))
    .join(', ');
}

/**
 * `cred`: the upstream's operator credential (auth/upstream-auth.ts), sent in place of the client's
 * Authorization; x-api-key is never forwarded from the client.
 */
export function buildUpstreamRequest(req: IncomingMessage, base: URL, deflate: boolean, clientIp: string, cred: UpstreamCredential | null = null): string {
  const h = req.headers;
  const defaultPort = base.protocol === 'https:' || base.protocol === 'wss:' ? '443' : '80';
  const host = base.port && base.port !== defaultPort ? `${base.hostname}:${base.port}` : base.hostname;
  let out = `GET ${upstreamPath(base, req.url ?? '/')} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
  out += `Sec-WebSocket-Key: ${h['sec-websocket-key']}\r\nSec-WebSocket-Version: ${h['sec-websocket-version']}\r\n`;
  if (h['sec-websocket-protocol']) out += `Sec-WebSocket-Protocol: ${h['sec-websocket-protocol']}\r\n`;
  const ext = filterExtensions(h['sec-websocket-extensions'], deflate);
  if (ext) out += `Sec-WebSocket-Extensions: ${ext}\r\n`;
  for (const name of FORWARDED) {
    const v = h[name];
    if (typeof v !== 'string') continue;
    if (name === 'authorization' && cred !== null && (cred.drop & 1) !== 0) continue;
    out += `${name}: ${v}\r\n`;
  }
  if (cred !== null && cred.name !== null) out += `${cred.name}: ${cred.value}\r\n`;
  const xff = h['x-forwarded-for'];
  out += `X-Forwarded-For: ${xff ? `${xff}, ${clientIp}` : clientIp}\r\n\r\n`;
  return out;
}

/** The upstream's answer, once its head is complete. */
export interface UpstreamReply {
  status: number;
  /** the head, up to but excluding the blank line that ends it */
  head: string;
  /** bytes after the head: the first WebSocket frames */
  rest: Buffer;
}

const HEAD_MAX = 16 * 1024;

/** Returns the reply once `buf` holds the whole head, null while incomplete, or an error string. */
export function parseReply(buf: Buffer): UpstreamReply | null | string {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length > HEAD_MAX ? 'upstream response head too large' : null;
  const head = buf.toString('latin1', 0, end);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!m) return 'malformed upstream response';
  return { status: Number(m[1]), head, rest: buf.subarray(end + 4) };
}

/** Checks a 101 against what was asked; returns null when it may be passed to the client. */
export function checkSwitch(head: string, key: string, deflate: boolean): string | null {
  const accept = headerValue(head, 'sec-websocket-accept');
  if (accept !== acceptFor(key)) return 'upstream sent a wrong Sec-WebSocket-Accept';
  const upgrade = headerValue(head, 'upgrade');
  if (!upgrade || upgrade.toLowerCase() !== 'websocket') return 'upstream did not upgrade to websocket';
  const ext = headerValue(head, 'sec-websocket-extensions');
  if (ext && !deflate) return 'upstream negotiated an extension that was not offered';
  return null;
}

export function headerValue(head: string, name: string): string | undefined {
  const re = new RegExp(`\\r\\n${name}:[ \\t]*([^\\r]*)`, 'i');
  const m = re.exec(head);
  return m ? m[1].trim() : undefined;
}
