import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { isGatewayFailure, NO_SESSION, OutlierDetector, type OutlierFields } from '../../src/proxy/outlier.js';
import { UpstreamSet } from '../../src/proxy/upstreams.js';
import { validate } from '../../src/config/load.js';

const log = pino({ level: 'silent' });
const up = (name: string): OutlierFields => ({ name, failures: 0, hardFailures: 0, ejectedUntil: 0, ejections: 0, lastEjectedAt: 0, streakSession: NO_SESSION, streakShared: false });

describe('outlier detection', () => {
  it('counts only 502, 503 and 504 as gateway failures', () => {
    expect([500, 501, 502, 503, 504, 505, 429, 200].filter(isGatewayFailure)).toEqual([502, 503, 504]);
  });

  it('one session failing 100 times ejects nothing; two sessions eject after eject_after', () => {
    const d = new OutlierDetector(3, 10_000, 300_000, log);
    const a = up('a'); const b = up('b'); const all = [a, b];
    for (let i = 0; i < 100; i++) d.failed(a, all, 1000 + i, 'status 503', 7);
    expect(a.ejectedUntil).toBe(0);
    d.failed(a, all, 2000, 'status 503', 8);
    expect(a.ejectedUntil).toBe(12_000);
  });

  it('connect failures count for everyone', () => {
    const d = new OutlierDetector(3, 10_000, 300_000, log);
    const a = up('a'); const all = [a, up('b')];
    for (let i = 0; i < 3; i++) d.failed(a, all, 1000, 'ECONNREFUSED', NO_SESSION);
    expect(a.ejectedUntil).toBe(11_000);
  });

  it('never ejects the last upstream in rotation', () => {
    const d = new OutlierDetector(2, 10_000, 300_000, log);
    const a = up('a'); const b = up('b'); const all = [a, b];
    for (let i = 0; i < 2; i++) d.failed(a, all, 1000, 'x', NO_SESSION);
    expect(a.ejectedUntil).toBeGreaterThan(1000);
    for (let i = 0; i < 10; i++) d.failed(b, all, 1000, 'x', NO_SESSION);
    expect(b.ejectedUntil).toBe(0);
    const only = up('only');
    for (let i = 0; i < 10; i++) d.failed(only, [only], 1000, 'x', NO_SESSION);
    expect(only.ejectedUntil).toBe(0);
  });

  it('backs off successive ejections, capped, and a success after the cool-off starts a fresh streak', () => {
    const d = new OutlierDetector(1, 1_000, 2_500, log);
    const a = up('a'); const all = [a, up('b')];
    d.failed(a, all, 0, 'x', NO_SESSION);
    expect(a.ejectedUntil).toBe(1_000);
    d.failed(a, all, 500, 'x', NO_SESSION); // still out: not counted
    expect(a.ejectedUntil).toBe(1_000);
    d.failed(a, all, 1_000, 'x', NO_SESSION);
    expect(a.ejectedUntil).toBe(1_000 + 2_000);
    d.failed(a, all, 3_000, 'x', NO_SESSION);
    expect(a.ejectedUntil).toBe(3_000 + 2_500); // capped
    d.succeeded(a, 5_600);
    expect(a).toMatchObject({ ejectedUntil: 0, failures: 0, ejections: 3 });
    d.succeeded(a, 3_000 + 4_000); // healthy for cool-off × (ejections + 1) since the last: one step down
    expect(a.ejections).toBe(2);
  });

  it('a success while ejected (a request sent before) does not bring it back early', () => {
    const d = new OutlierDetector(1, 1_000, 10_000, log);
    const a = up('a'); const all = [a, up('b')];
    d.failed(a, all, 0, 'x', NO_SESSION);
    d.succeeded(a, 10);
    expect(a.ejectedUntil).toBe(1_000);
  });

  it('the pool routes to all when every upstream is out (panic), and to the healthy ones otherwise', () => {
    const cfg = validate({ upstreams: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }] });
    const set = new UpstreamSet(cfg, log);
    const [a, b] = set.list;
    a.ejectedUntil = Date.now() + 60_000;
    for (let i = 0; i < 4; i++) expect(set.pick(Date.now(), 0, null)).toBe(b);
    b.ejectedUntil = Date.now() + 60_000;
    const seen = new Set([0, 1, 2, 3].map(() => set.pick(Date.now(), 0, null)));
    expect(seen).toEqual(new Set([a, b]));
    expect(set.pick(Date.now(), 0, a)).toBe(b);
    void set.destroy();
  });
});
