// End to end, from a black-box review against SPEC.md: a refusal made before the session is
// resolved (413, 415) still carries X-Session-ID (the header's, else the derived client ID) while a
// malformed ID's 400 has none; several bad named flags are each reported (commander stopped at the
// first); check-config lists pattern errors together with the schema's.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToExit, startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

describe('X-Session-ID on refusals made before the session is resolved', () => {
  let mock: MockProc;
  let gw: GatewayProc;
  beforeAll(async () => {
    mock = await startMockLlm();
    gw = await startGateway(['--upstream', mock.url, '--max-body', '1KB']);
  }, 30_000);
  afterAll(async () => { await gw?.stop('SIGKILL'); await mock?.stop('SIGKILL'); });

  const post = (headers: Record<string, string>, body: string | Buffer) =>
    fetch(`${gw.proxy}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'spec-review', ...headers }, body });
  const big = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'a'.repeat(4096) }] });

  it('413 by declared length, by decoded size, and 415: the derived client ID, or the header ID', async () => {
    const ok = await post({}, JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }));
    expect(ok.status).toBe(200);
    const derived = ok.headers.get('x-session-id');
    expect(derived).toMatch(/^client-/);
    for (const [headers, body, status] of [
      [{}, big, 413],
      [{ 'content-encoding': 'gzip' }, gzipSync(big), 413],
      [{ 'content-encoding': 'zstd' }, '{}', 415],
    ] as const) {
      const r = await post(headers, body);
      expect(r.status).toBe(status);
      expect(r.headers.get('x-session-id')).toBe(derived);
      const withId = await post({ ...headers, 'x-session-id': 'review-1' }, body);
      expect(withId.status).toBe(status);
      expect(withId.headers.get('x-session-id')).toBe('review-1');
    }
  });

  it('a malformed ID gets 400 with no X-Session-ID', async () => {
    const r = await post({ 'x-session-id': 'bad id!' }, '{}');
    expect(r.status).toBe(400);
    expect(r.headers.get('x-session-id')).toBeNull();
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe('invalid_request');
  });
});

describe('every bad start input, one line each', () => {
  it('several bad named flags are all reported', async () => {
    const r = await runToExit(['start', '--upstream', 'http://127.0.0.1:1', '--policy', 'lax', '--profile', 'huge', '--mode', 'loud', '--log-level', 'chatty']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const l of [/policy\.preset: must be one of/, /profile: must be one of/, /mode: must be one of/, /log_level: must be one of/]) {
      expect(r.stderr).toMatch(l);
    }
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('check-config lists a pattern that does not compile along with schema errors', async () => {
    const dir = mkdtempSync('/tmp/cordon-review-');
    const p = `${dir}/c.yaml`;
    writeFileSync(p, "upstreams: [{url: 'http://a'}]\nbogus: 1\npolicy:\n  rules:\n    - name: r1\n      patterns: ['(']\n      action: explode\n");
    const r = await runToExit(['check-config', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bogus: unknown key/);
    expect(r.stderr).toMatch(/policy\.rules\[0\]\.action: must be one of /);
    expect(r.stderr).toMatch(/policy\.rules\[0\]\.patterns\[0\]: does not compile/);
    expect(r.stderr.trim().split('\n')).toHaveLength(3);
  });
});
