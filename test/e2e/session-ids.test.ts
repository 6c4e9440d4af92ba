// End to end: every session ID the proxy accepts can be killed and resumed through the control API
// and the `cordon kill` / `cordon resume` CLI; IDs made only of dots are refused everywhere at 400
// (they are URL dot segments that fetch, browsers and curl fold away: docs/contract-additions.md).
// The random IDs come from a seeded generator over the whole charset, lengths 1 to 128.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { raw, statusOf } from '../helpers/raw-http.js';
import { runToExit, startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

const SEED = Number(process.env.CORDON_ID_SEED ?? 20_2026);
const CHARSET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-';
/** IDs that sit on an edge: one character, punctuation only, dots with one other character, flags. */
const EDGE = ['-', '_', ':', 'a', '.a', 'a.', '...a', '.-.', ':.:', '._', '-h', '--help', '--', '..:..',
  '.'.repeat(127) + 'x', 'x' + '.'.repeat(127), 'Z'.repeat(128), '-'.repeat(128)];
const DOTS = ['.', '..', '...', '.'.repeat(128)];

function seededIds(): string[] {
  const id = fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/).filter((s) => !/^\.+$/.test(s));
  const short = fc.constantFrom(...CHARSET).filter((c) => c !== '.');
  const longest = fc.array(fc.constantFrom(...CHARSET), { minLength: 128, maxLength: 128 }).map((a) => a.join('')).filter((s) => !/^\.+$/.test(s));
  return [...fc.sample(id, { seed: SEED, numRuns: 40 }), ...fc.sample(short, { seed: SEED, numRuns: 4 }), ...fc.sample(longest, { seed: SEED, numRuns: 4 })];
}

const chat = (proxy: string, id: string): Promise<Response> => fetch(`${proxy}/v1/models`, { headers: { 'x-session-id': id } });

describe(`session IDs the control API can address (seed ${SEED}; rerun with CORDON_ID_SEED)`, () => {
  let mock: MockProc;
  let gw: GatewayProc;

  beforeAll(async () => {
    mock = await startMockLlm();
    gw = await startGateway(['--upstream', `${mock.url}/v1`]);
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await mock?.stop();
  });

  it('kills and resumes every edge and seeded ID over HTTP, and the proxy follows', async () => {
    const ids = [...new Set([...EDGE, ...seededIds()])];
    expect(ids.some((i) => i.length === 1) && ids.some((i) => i.length === 128)).toBe(true);
    await Promise.all(ids.map(async (id) => {
      const at = `${gw.control}/control/sessions/${encodeURIComponent(id)}`;
      const first = await chat(gw.proxy, id);
      expect(first.status, id).toBe(200);
      expect(first.headers.get('x-session-id')).toBe(id);
      await first.text();
      const k = await fetch(`${at}/kill`, { method: 'POST' });
      expect(await k.json(), id).toEqual({ id, state: 'killed' });
      const refused = await chat(gw.proxy, id);
      expect(refused.status, id).toBe(403);
      expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('session_killed');
      const view = (await (await fetch(at)).json()) as { id: string; state: string };
      expect(view, id).toMatchObject({ id, state: 'killed' });
      const r = await fetch(`${at}/resume`, { method: 'POST' });
      expect(await r.json(), id).toEqual({ id, state: 'active' });
      const again = await chat(gw.proxy, id);
      expect(again.status, id).toBe(200);
      await again.text();
    }));
  }, 30_000);

  it('refuses IDs made only of dots at 400 on the proxy and on every control route form', async () => {
    for (const id of DOTS) {
      const p = await chat(gw.proxy, id);
      expect(p.status, id).toBe(400);
      expect(p.headers.get('x-session-id')).toBeNull();
      expect(((await p.json()) as { error: { code: string } }).error.code).toBe('invalid_session_id');
      const encoded = id.replace(/\./g, '%2e');
      for (const path of [`/control/sessions/${encoded}/kill`, `/control/sessions/${id}/kill`, `/control/sessions/${encoded}/resume`]) {
        const resp = await raw(gw.control, `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        expect(statusOf(resp), path).toBe(400);
        expect(resp).toContain('"code":"invalid_session_id"');
      }
    }
    // a body `user` of dots is not an ID: the request gets the derived one
    const body = await fetch(`${gw.proxy}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', user: '..', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(body.status).toBe(200);
    expect(body.headers.get('x-session-id')).toMatch(/^client-/);
    await body.text();
  });

  it('the CLI kills and resumes edge IDs (after --, for IDs that look like flags) and refuses dots with exit 2', async () => {
    const env = { CORDON_CONTROL_URL: gw.control };
    const ids = ['--help', '...a', 'Z'.repeat(128)];
    const kills = await Promise.all(ids.map((id) => runToExit(['kill', '--', id], env)));
    kills.forEach((k, i) => {
      expect(k.code, `${ids[i]}: ${k.stderr}`).toBe(0);
      expect(k.stdout.trim()).toBe(`${ids[i]}: killed`);
    });
    for (const id of ids) expect((await chat(gw.proxy, id)).status, id).toBe(403);
    const resumes = await Promise.all(ids.map((id) => runToExit(['resume', '--', id], env)));
    resumes.forEach((r, i) => expect(r.stdout.trim(), r.stderr).toBe(`${ids[i]}: active`));
    for (const id of ids) expect((await chat(gw.proxy, id)).status, id).toBe(200);
    const dots = await runToExit(['kill', '..'], env);
    expect(dots.code).toBe(2);
    expect(dots.stderr.trim().split('\n')).toHaveLength(1);
    expect(dots.stderr).toContain('not only dots');
  }, 30_000);
});
