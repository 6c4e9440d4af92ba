// The credential a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>` (SPEC.md).
// Pure header parsing; what the key means is the ring's business (keys.ts).
import type { IncomingHttpHeaders } from 'node:http';
import type { KeyLookup, KeyRing } from './keys.js';

/** Longer than any real key; a bigger value is refused before it is hashed. */
const KEY_MAX = 512;

const NONE: KeyLookup = { kind: 'none' };
const MALFORMED_AUTH: KeyLookup = { kind: 'bad', header: 'authorization', why: 'malformed' };
const MALFORMED_XKEY: KeyLookup = { kind: 'bad', header: 'x-api-key', why: 'malformed' };

/**
 * Finds and checks a request's key. `Authorization` is read first; a request may carry both (the
 * Anthropic SDK sends x-api-key, a wrapper may add a bearer) and the first that is one of ours wins.
 */
export function lookupCredential(headers: IncomingHttpHeaders, ring: KeyRing): KeyLookup {
  const auth = headers.authorization;
  const xkey = headers['x-api-key'];
  let first: KeyLookup = NONE;
  if (auth !== undefined) {
    const key = bearerToken(auth);
    if (key === null) first = MALFORMED_AUTH;
    else {
      const r = ring.lookup(key);
      if (r !== undefined && r !== 'revoked') return { kind: 'key', record: r, header: 'authorization' };
      first = { kind: 'bad', header: 'authorization', why: r === 'revoked' ? 'revoked' : 'unknown' };
    }
  }
  if (xkey !== undefined) {
    if (typeof xkey !== 'string' || xkey.length === 0 || xkey.length > KEY_MAX) return first.kind === 'none' ? MALFORMED_XKEY : first;
    const r = ring.lookup(xkey.trim());
    if (r !== undefined && r !== 'revoked') return { kind: 'key', record: r, header: 'x-api-key' };
    if (first.kind === 'none' || r === 'revoked') first = { kind: 'bad', header: 'x-api-key', why: r === 'revoked' ? 'revoked' : 'unknown' };
  }
  return first;
}

/** The token of `Bearer <token>` (scheme case-insensitive), or null when the value is not that. */
export function bearerToken(v: unknown): string | null {
  if (typeof v !== 'string' || v.length < 8 || v.length > KEY_MAX + 7) return null;
  if ((v.charCodeAt(0) | 0x20) !== 0x62 || v.slice(0, 7).toLowerCase() !== 'bearer ') return null;
  const t = v.slice(7).trim();
  if (t.length === 0 || t.includes(' ')) return null;
  return t;
}
