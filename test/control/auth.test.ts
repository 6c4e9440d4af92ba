import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { assertControlBindAllowed, isLoopbackHost, makeAuth } from '../../src/control/auth.js';
import { Router } from '../../src/control/router.js';
import { registerStatsRoutes } from '../../src/control/routes/stats.js';
import { SessionTable } from '../../src/sessions/table.js';
import { serve } from './helpers.js';

const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('makeAuth', () => {
  it('passes everything without a token', () => {
    expect(makeAuth(undefined)(req())).toBe(true);
    expect(makeAuth('')(req())).toBe(true);
  });
  it('needs the exact bearer token', () => {
    const check = makeAuth('s3cret-token');
    expect(check(req('Bearer s3cret-token'))).toBe(true);
    expect(check(req('bearer s3cret-token'))).toBe(true);
    expect(check(req())).toBe(false);
    expect(check(req('Bearer s3cret-toke'))).toBe(false);
    expect(check(req('Bearer s3cret-token2'))).toBe(false);
    expect(check(req('Basic s3cret-token'))).toBe(false);
    expect(check(req('s3cret-token'))).toBe(false);
    expect(check(req('Bearer '))).toBe(false);
  });
});

describe('assertControlBindAllowed', () => {
  it('allows loopback without a token', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) {
      expect(isLoopbackHost(h), h).toBe(true);
      expect(() => assertControlBindAllowed(h, undefined)).not.toThrow();
    }
  });
  it('refuses a non-loopback address without a token, with a clear message', () => {
    for (const h of ['0.0.0.0', '::', '', '10.0.0.5', 'example.com', '128.0.0.1']) {
      expect(isLoopbackHost(h), h).toBe(false);
      expect(() => assertControlBindAllowed(h, undefined)).toThrow(/CORDON_CONTROL_TOKEN/);
      expect(() => assertControlBindAllowed(h, '')).toThrow(/non-loopback/);
      expect(() => assertControlBindAllowed(h, 'tok')).not.toThrow();
    }
  });
});

describe('guard on a server', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => { await close?.(); close = undefined; });

  it('401 without the token, 200 with it, /healthz public', async () => {
    const router = new Router();
    registerStatsRoutes(router, { sessions: new SessionTable({ upstreams: [], idleTimeoutMs: 1000, completeAfterMs: 1000 }) });
    const s = await serve(router, 'tok-1');
    close = s.close;
    const no = await fetch(s.url + '/control/stats');
    expect(no.status).toBe(401);
    expect(no.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await no.json()).toEqual({ error: { message: expect.any(String), type: 'unauthorized', code: 'unauthorized' } });
    const wrong = await fetch(s.url + '/control/stats', { headers: { authorization: 'Bearer tok-2' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(s.url + '/control/stats', { headers: { authorization: 'Bearer tok-1' } });
    expect(ok.status).toBe(200);
    expect((await fetch(s.url + '/healthz')).status).toBe(200);
    // an unknown path still needs the token first (no endpoint discovery without it)
    expect((await fetch(s.url + '/control/nope')).status).toBe(401);
  });
});
