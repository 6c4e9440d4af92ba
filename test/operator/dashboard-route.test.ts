import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '../../src/control/router.js';
import { registerDashboardRoutes, DASHBOARD_CSP, isDashboardPublicPath } from '../../src/control/routes/dashboard.js';
import { DASHBOARD_JS } from '../../src/control/dashboard/app.js';
import { DASHBOARD_HTML } from '../../src/control/dashboard/html.js';
import { DASHBOARD_CSS } from '../../src/control/dashboard/css.js';

let server: Server;
let base: string;

beforeAll(async () => {
  const router = new Router();
  registerDashboardRoutes(router);
  server = createServer((req, res) => void router.handle(req, res, new URL(req.url ?? '/', 'http://x')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('dashboard route', () => {
  it('serves the page as HTML with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toBe(DASHBOARD_CSP);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('style-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    // no host, scheme wildcard or unsafe-* anywhere
    expect(csp).not.toMatch(/https?:|\*|unsafe-|wss?:/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toContain('<script src="/dashboard/app.js" defer></script>');
    expect(html).toContain('id="token-form"');
  });

  it('serves the script and the stylesheet with their types, and 304 on a matching ETag', async () => {
    const js = await fetch(`${base}/dashboard/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe(DASHBOARD_JS);
    const css = await fetch(`${base}/dashboard/app.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const again = await fetch(`${base}/dashboard/app.js`, { headers: { 'if-none-match': js.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('the page references nothing outside this origin and has no inline script or style', () => {
    for (const text of [DASHBOARD_HTML, DASHBOARD_CSS, DASHBOARD_JS]) {
      // the only absolute URL allowed is the SVG namespace, which is a name, not a fetch
      const urls = text.match(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s'"]*/gi) ?? [];
      expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg')).toEqual([]);
      expect(text).not.toMatch(/@import|url\(\s*['"]?https?:/i);
    }
    expect(DASHBOARD_HTML).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(DASHBOARD_HTML).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(DASHBOARD_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('the script parses', () => {
    expect(() => new Function(DASHBOARD_JS)).not.toThrow();
  });

  it('names the public paths for the control server auth', () => {
    expect(isDashboardPublicPath('/')).toBe(true);
    expect(isDashboardPublicPath('/dashboard/app.js')).toBe(true);
    expect(isDashboardPublicPath('/control/sessions')).toBe(false);
    expect(isDashboardPublicPath('/constructor')).toBe(false);
  });
});
