import { describe, expect, it } from 'vitest';
import { ControlClient, OpsError } from '../../src/ops/client.js';

describe('ControlClient: a token a header cannot carry', () => {
  it('is a fix-the-invocation error (exit 2), before any request', () => {
    let called = false;
    const fetchImpl = async () => { called = true; return new Response('{}'); };
    for (const token of ['a\nb', 'a\rb', 'tok\u0000', 'snow\u2603man']) {
      let err: unknown;
      try { new ControlClient({ url: 'http://127.0.0.1:9', token }, fetchImpl); } catch (e) { err = e; }
      expect(err, JSON.stringify(token)).toBeInstanceOf(OpsError);
      expect((err as OpsError).exitCode).toBe(2);
      expect((err as OpsError).message).toMatch(/CORDON_CONTROL_TOKEN/);
    }
    expect(called).toBe(false);
  });

  it('an ordinary token is accepted', () => {
    expect(() => new ControlClient({ url: 'http://127.0.0.1:9', token: 'abc-DEF_123.~+/=' })).not.toThrow();
  });
});

describe('ControlClient: the cross-site guard', () => {
  it('sends X-Cordon-Client, so the control guard takes its state changes whatever the body type', async () => {
    const seen: Array<Record<string, string>> = [];
    const fetchImpl = async (_url: string | URL | Request, init?: RequestInit) => {
      seen.push(init?.headers as Record<string, string>);
      return new Response('{"id":"a","state":"killed"}', { headers: { 'content-type': 'application/json' } });
    };
    await new ControlClient({ url: 'http://127.0.0.1:9' }, fetchImpl as typeof fetch).post('/control/sessions/a/kill');
    expect(seen[0]['x-cordon-client']).toBe('cli');
  });
});
