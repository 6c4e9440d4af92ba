import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { makeOriginGuard } from '../../src/control/origin-guard.js';

const req = (method: string, headers: Record<string, string>) => ({ method, headers }) as unknown as IncomingMessage;
const loopback = makeOriginGuard({ boundHost: '127.0.0.1', allowedHosts: [] });

describe('control origin guard: Host', () => {
  it('takes the bound address, loopback names and literals, whatever the port', () => {
    for (const host of ['127.0.0.1:9090', '127.0.0.1', 'localhost:9090', 'LOCALHOST', 'app.localhost:1', '[::1]:9090', 'localhost.']) {
      expect(loopback(req('GET', { host })), host).toBeNull();
    }
  });
  it('refuses any other name (DNS rebinding) and other IP literals when bound to one address', () => {
    for (const host of ['evil.example:9090', 'evil.example', '127.0.0.1.nip.io', '10.0.0.5:9090', 'localhost.evil.example', '[::1', 'a:b:c', '']) {
      const r = loopback(req('GET', { host }));
      expect(r?.code, host).toBe('host_not_allowed');
    }
  });
  it('bound to every interface, takes any IP literal (a pod IP) but still no unknown name', () => {
    const g = makeOriginGuard({ boundHost: '0.0.0.0', allowedHosts: [] });
    expect(g(req('GET', { host: '10.1.2.3:9090' }))).toBeNull();
    expect(g(req('GET', { host: '[fd00::5]:9090' }))).toBeNull();
    expect(g(req('GET', { host: 'cordon.internal:9090' }))?.code).toBe('host_not_allowed');
  });
  it('takes control.allowed_hosts entries, as a name or name:port', () => {
    const g = makeOriginGuard({ boundHost: '127.0.0.1', allowedHosts: ['Cordon.Internal', 'edge.example:8443'] });
    expect(g(req('GET', { host: 'cordon.internal:9090' }))).toBeNull();
    expect(g(req('GET', { host: 'edge.example:8443' }))).toBeNull();
    expect(g(req('GET', { host: 'edge.example:9999' }))?.code).toBe('host_not_allowed');
  });
});

describe('control origin guard: Origin and state-changing requests', () => {
  const host = '127.0.0.1:9090';
  it('takes its own origin and no origin', () => {
    expect(loopback(req('POST', { host, origin: 'http://127.0.0.1:9090' }))).toBeNull();
    expect(loopback(req('POST', { host }))).toBeNull();
  });
  it('refuses another origin, another port, null, and other schemes', () => {
    for (const origin of ['http://evil.example', 'http://127.0.0.1:8080', 'null', 'file://', 'chrome-extension://abc', 'http://localhost:9090']) {
      expect(loopback(req('POST', { host, origin }))?.code, origin).toBe('cross_origin');
      expect(loopback(req('GET', { host, origin }))?.code, origin).toBe('cross_origin');
    }
  });
  it('refuses a cross-site or same-site fetch metadata on a state change, not on a navigation', () => {
    expect(loopback(req('POST', { host, 'sec-fetch-site': 'cross-site' }))?.code).toBe('cross_origin');
    expect(loopback(req('POST', { host, 'sec-fetch-site': 'same-site' }))?.code).toBe('cross_origin');
    expect(loopback(req('POST', { host, 'sec-fetch-site': 'same-origin' }))).toBeNull();
    expect(loopback(req('GET', { host, 'sec-fetch-site': 'cross-site' }))).toBeNull();
  });
  it('a body type a form can send needs a custom header; JSON and no body type pass', () => {
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'TEXT/PLAIN;charset=utf-8']) {
      expect(loopback(req('POST', { host, 'content-type': ct }))?.code, ct).toBe('csrf_header_required');
      expect(loopback(req('POST', { host, 'content-type': ct, authorization: 'Bearer t' })), ct).toBeNull();
      expect(loopback(req('POST', { host, 'content-type': ct, 'x-cordon-dashboard': '1' })), ct).toBeNull();
      expect(loopback(req('GET', { host, 'content-type': ct })), ct).toBeNull();
    }
    expect(loopback(req('POST', { host, 'content-type': 'application/json; charset=utf-8' }))).toBeNull();
    expect(loopback(req('DELETE', { host, 'content-type': 'application/merge-patch+json' }))).toBeNull();
  });
});
