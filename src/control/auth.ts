// Bearer-token auth for the control listener (SPEC.md "Control listener").
// The token is compared as SHA-256 digests with timingSafeEqual: equal-length inputs, so neither
// the comparison nor a length check leaks how much of a guess was right.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './reply.js';

export type AuthCheck = (req: IncomingMessage) => boolean;

/** Paths that answer without a token: probes must work for orchestrators that hold none. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** A check for `Authorization: Bearer <token>`; with no token configured everything passes. */
export function makeAuth(token: string | undefined): AuthCheck {
  if (token === undefined || token === '') return () => true;
  const want = digest(token);
  return (req) => {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return false;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
    if (!m) return false;
    return timingSafeEqual(digest(m[1]), want);
  };
}

/**
 * Answers 401 (SPEC error shape, with WWW-Authenticate) and returns false when the request may not
 * proceed. Public paths always proceed.
 */
export function guard(check: AuthCheck, req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
  if (PUBLIC_PATHS.has(pathname) || check(req)) return true;
  sendError(res, 401, 'unauthorized', 'unauthorized', 'a valid control token is required: Authorization: Bearer <token>', {
    'www-authenticate': 'Bearer realm="cordon"',
  });
  return false;
}

/** True for localhost and addresses in 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h.startsWith('::ffff:')) h = h.slice(7);
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return /^(0{0,4}:){2,7}0{0,3}1$/.test(h) || h === '::1';
  return false;
}

/** Throws when the control listener would be reachable from other hosts with no token guarding it. */
export function assertControlBindAllowed(host: string, token: string | undefined): void {
  if (isLoopbackHost(host)) return;
  if (token !== undefined && token !== '') return;
  throw new Error(
    `refusing to bind the control API to non-loopback address ${host || '(all interfaces)'} without a token: ` +
      'set CORDON_CONTROL_TOKEN, or use --control-listen 127.0.0.1:PORT',
  );
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
