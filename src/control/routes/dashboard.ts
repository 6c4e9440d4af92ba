// GET / : the dashboard, a static page served from strings compiled into the program, so it works
// offline and needs no files next to dist/. The page itself is public (it holds no data); every
// API call it makes carries the bearer token it asks the operator for.
import { createHash } from 'node:crypto';
import type { Router, RouteContext } from '../router.js';
import { DASHBOARD_HTML } from '../dashboard/html.js';
import { DASHBOARD_CSS } from '../dashboard/css.js';
import { DASHBOARD_JS } from '../dashboard/app.js';

/**
 * Strict: only this origin, no inline script or style, no frames, no plugins. `img-src data:`
 * is for the empty favicon link that stops the browser asking for /favicon.ico.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function asset(text: string, type: string): Asset {
  const body = Buffer.from(text, 'utf8');
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

const ASSETS: Record<string, Asset> = {
  '/': asset(DASHBOARD_HTML, 'text/html; charset=utf-8'),
  '/dashboard/app.js': asset(DASHBOARD_JS, 'text/javascript; charset=utf-8'),
  '/dashboard/app.css': asset(DASHBOARD_CSS, 'text/css; charset=utf-8'),
};

/** Paths the control server serves without a token (ControlDeps.publicPaths): no data is behind them. */
export const DASHBOARD_PUBLIC_PATHS: ReadonlySet<string> = new Set(Object.keys(ASSETS));

export function isDashboardPublicPath(pathname: string): boolean {
  return Object.prototype.hasOwnProperty.call(ASSETS, pathname);
}

function serve(a: Asset) {
  return ({ req, res }: RouteContext): void => {
    const headers: Record<string, string | number> = {
      'content-type': a.type,
      'content-security-policy': DASHBOARD_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
      // revalidate every time: the ETag makes that a 304 until cordon is upgraded
      'cache-control': 'no-cache',
      etag: a.etag,
    };
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    headers['content-length'] = a.body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : a.body);
  };
}

export function registerDashboardRoutes(router: Router): void {
  for (const [path, a] of Object.entries(ASSETS)) router.get(path, serve(a));
}
