// Content-Encoding of bodies the policy must read: gzip, deflate and br are decoded with node:zlib,
// bounded (decoded bytes count against the limit, so a decompression bomb stops at it); any other
// coding is refused for requests. Several codings apply in order, so they are undone last first.
import * as zlib from 'node:zlib';

export type Coding = 'gzip' | 'deflate' | 'br';

/** The codings of a Content-Encoding value, in the order applied; null when one is not readable. */
export function parseCodings(value: string | undefined): Coding[] | null | undefined {
  if (value === undefined) return undefined;
  let out: Coding[] | undefined;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'identity') continue;
    const c: Coding | null = t === 'gzip' || t === 'x-gzip' ? 'gzip' : t === 'deflate' ? 'deflate' : t === 'br' ? 'br' : null;
    if (c === null) return null;
    (out ??= []).push(c);
  }
  return out;
}

export type DecodeResult = { ok: true; body: Buffer } | { ok: false; reason: 'too_large' | 'malformed' };

/** Decodes a whole request body (already bounded by max_body as sent) into at most `limit` bytes. */
export function decodeBody(body: Buffer, codings: Coding[], limit: number, done: (r: DecodeResult) => void): void {
  step(body, codings, codings.length - 1, limit, done);
}

function step(buf: Buffer, codings: Coding[], i: number, limit: number, done: (r: DecodeResult) => void): void {
  if (i < 0) return done({ ok: true, body: buf });
  const opts = { maxOutputLength: Math.max(1, limit) };
  const next = (err: Error | null, out: Buffer): void => {
    if (err !== null) {
      return done({ ok: false, reason: (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError ? 'too_large' : 'malformed' });
    }
    step(out, codings, i - 1, limit, done);
  };
  const c = codings[i];
  if (c === 'gzip') zlib.gunzip(buf, opts, next);
  else if (c === 'br') zlib.brotliDecompress(buf, opts, next);
  else inflateEither(buf, opts, next);
}

/** `deflate` means zlib-wrapped (RFC 9110), but some clients send raw deflate: take either. */
function inflateEither(buf: Buffer, opts: zlib.ZlibOptions, next: (err: Error | null, out: Buffer) => void): void {
  const raw = buf.length > 0 && (buf[0] & 0x0f) !== 8;
  (raw ? zlib.inflateRaw : zlib.inflate)(buf, opts, next);
}

/** Accept-Encoding for the upstream: the client's codings the policy can read, else none. */
export function readableAcceptEncoding(value: string | undefined): string | null {
  if (value === undefined) return null;
  const keep: string[] = [];
  for (const raw of value.split(',')) {
    const t = raw.trim();
    const name = t.split(';')[0].trim().toLowerCase();
    if (name === '*') keep.push('gzip, deflate, br');
    else if (name === 'gzip' || name === 'x-gzip' || name === 'deflate' || name === 'br' || name === 'identity') keep.push(t);
  }
  return keep.length > 0 ? keep.join(', ') : null;
}

/**
 * Adjusts the upstream request's flat header array in place: a request body sent decoded loses its
 * Content-Encoding; when the policy reads responses, Accept-Encoding offers only what it can decode
 * (the client's own preference kept, other codings dropped; none left means no header: identity).
 */
export function fixCodingHeaders(headers: string[], decodedBody: boolean, readsResponses: boolean): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    const k = headers[i];
    if (k.length === 16 && decodedBody && k.toLowerCase() === 'content-encoding') headers.splice(i, 2);
    else if (k.length === 15 && readsResponses && k.toLowerCase() === 'accept-encoding') {
      const v = readableAcceptEncoding(headers[i + 1]);
      if (v === null) headers.splice(i, 2);
      else headers[i + 1] = v;
    }
  }
}
