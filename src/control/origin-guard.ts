// Cross-site request (CSRF) and DNS-rebinding protection for the control listener, token or not.
// The token-less loopback default is the common case on a laptop, where any page open in the
// operator's browser can aim requests at 127.0.0.1:9090. Three checks, each closing one route in:
//   1. Host names this listener: a rebinding page (evil.example resolved to 127.0.0.1) sends
//      `Host: evil.example`. IP literals cannot be rebound, so only names are restricted.
//   2. A browser `Origin` is the control origin itself: fetch() and form POSTs from another page
//      carry the page's origin (modern browsers send it on every non-GET request).
//   3. A state-changing request with a body type a cross-site form or no-cors fetch can send
//      (anything but JSON) must carry a header no such request can: Authorization, X-Requested-With
//      or X-Cordon-*. A request with no content type passes: browsers cannot send one without Origin.
// The health probes are answered before this guard (server.ts): kubelets send the pod IP or a
// service name as Host, and /healthz and /readyz carry no session data.
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from './auth.js';

export interface OriginGuardOptions {
  /** the host the control listener is bound to (`127.0.0.1`, `::`, `0.0.0.0`, a name) */
  boundHost: string;
  /** `control.allowed_hosts`: further names (or `name:port`) the listener may be reached by */
  allowedHosts: readonly string[];
}

export interface Refusal { code: 'host_not_allowed' | 'cross_origin' | 'csrf_header_required'; message: string }

export type OriginGuard = (req: IncomingMessage) => Refusal | null;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function makeOriginGuard(opts: OriginGuardOptions): OriginGuard {
  const bound = normaliseName(opts.boundHost);
  const anyAddress = bound === '' || bound === '0.0.0.0' || bound === '::';
  const allowed = new Set(opts.allowedHosts.map((h) => h.trim().toLowerCase().replace(/\.$/, '')));
  const hostAllowed = (hostHeader: string): boolean => {
    const hp = splitHost(hostHeader);
    if (hp === null) return false;
    const name = hp.name;
    if (allowed.has(name) || allowed.has(hostHeader.trim().toLowerCase())) return true;
    if (name === bound) return true;
    if (isLoopbackHost(name)) return true; // localhost, *.localhost, 127/8, ::1
    // An IP literal cannot be rebound to another address; bound to every interface, any of the
    // host's addresses (a pod IP, a NAT address) is this listener.
    if (isIP(name) !== 0) return anyAddress;
    return false;
  };

  return (req) => {
    const h = req.headers;
    const host = h.host;
    // HTTP/1.0 may omit Host; browsers never do. A missing Host on HTTP/1.1 is refused by the parser.
    if (host !== undefined && !hostAllowed(host)) {
      return { code: 'host_not_allowed', message: `Host "${clip(host)}" does not name this control listener; add it to control.allowed_hosts to allow it` };
    }
    const origin = h.origin;
    if (origin !== undefined && (host === undefined || !sameOrigin(origin, host))) {
      return { code: 'cross_origin', message: `requests from another origin (${clip(origin)}) are refused: the control API serves only its own dashboard` };
    }
    if (SAFE_METHODS.has(req.method ?? 'GET')) return null;
    const site = h['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return { code: 'cross_origin', message: `a ${site} request may not change state on the control API` };
    }
    const ct = h['content-type'];
    if (ct !== undefined && !isJsonType(ct) && !hasCustomHeader(h)) {
      return { code: 'csrf_header_required', message: 'a state-changing request needs Content-Type: application/json or a custom header (Authorization, X-Requested-With or X-Cordon-*)' };
    }
    return null;
  };
}

function sameOrigin(origin: string, host: string): boolean {
  if (origin === 'null') return false;
  try {
    const o = new URL(origin);
    if (o.protocol !== 'http:' && o.protocol !== 'https:') return false;
    const hostUrl = new URL(`${o.protocol}//${host.trim()}`);
    return o.host === hostUrl.host;
  } catch {
    return false;
  }
}

/** `name` lower-cased without port or brackets, or null when the Host header is not a host. */
function splitHost(host: string): { name: string } | null {
  const s = host.trim().toLowerCase();
  if (s === '') return null;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return null;
    const rest = s.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null;
    return { name: s.slice(1, end) };
  }
  const m = /^([^:]+)(?::\d{1,5})?$/.exec(s);
  if (m === null) return null;
  return { name: m[1].replace(/\.$/, '') };
}

function normaliseName(host: string): string {
  let s = host.trim().toLowerCase();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  return s.replace(/\.$/, '');
}

function isJsonType(ct: string): boolean {
  const media = ct.split(';', 1)[0].trim().toLowerCase();
  return media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'));
}

function hasCustomHeader(h: IncomingMessage['headers']): boolean {
  if (h.authorization !== undefined || h['x-requested-with'] !== undefined) return true;
  for (const name in h) if (name.startsWith('x-cordon-')) return true;
  return false;
}

function clip(s: string): string {
  const t = s.length > 100 ? `${s.slice(0, 100)}…` : s;
  return t.replace(/[^\x20-\x7e…]/g, '?');
}
