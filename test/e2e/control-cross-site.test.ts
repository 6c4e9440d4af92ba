// End to end: the control listener refuses cross-site and DNS-rebinding requests (issue #20), with no
// token configured (the laptop default). Raw requests cover each check; real Chromium loads a
// hostile page from another origin that tries fetch() (no-cors, text/plain, JSON with a preflight),
// sendBeacon and a form POST to kill a session, and a rebinding page that reaches the control port
// under another name. The target: zero state changes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchBrowser, noBrowser } from '../helpers/browser.js';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';


interface Answer { status: number; body: { error?: { type: string; code: string; message: string }; state?: string } }

/** node:http lets a test set Host, which fetch() does not. */
function request(control: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const u = new URL(control);
  return new Promise((resolve, reject) => {
    const r = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] });
      });
    });
    r.on('error', reject);
    r.end(body);
  });
}

async function stateOf(control: string, id: string): Promise<string> {
  const r = await fetch(`${control}/control/sessions/${id}`);
  return ((await r.json()) as { state: string }).state;
}

describe('control listener: cross-site and rebinding protection', () => {
  let mock: MockProc;
  let gw: GatewayProc;

  beforeAll(async () => {
    mock = await startMockLlm();
    gw = await startGateway(['--upstream', `${mock.url}/v1`]);
    const r = await fetch(`${gw.proxy}/v1/models`, { headers: { 'x-session-id': 'victim' } });
    expect(r.status).toBe(200);
    await r.text();
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await mock?.stop();
  });

  it('refuses a foreign Host, a foreign Origin and a form body type at 403 in the SPEC shape', async () => {
    const kill = '/control/sessions/victim/kill';
    const port = new URL(gw.control).port;
    const cases: Array<[Record<string, string>, string, string | undefined]> = [
      [{ host: `evil.example:${port}` }, 'host_not_allowed', undefined],
      [{ origin: 'http://evil.example' }, 'cross_origin', undefined],
      [{ origin: 'null' }, 'cross_origin', undefined],
      [{ 'sec-fetch-site': 'cross-site' }, 'cross_origin', undefined],
      [{ 'content-type': 'text/plain' }, 'csrf_header_required', 'x'],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 'csrf_header_required', 'a=b'],
    ];
    for (const [headers, code, body] of cases) {
      const r = await request(gw.control, 'POST', kill, headers, body);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.body.error).toMatchObject({ type: 'forbidden', code });
      expect(typeof r.body.error?.message).toBe('string');
    }
    // reading is refused too: a rebinding page would otherwise read session data
    const read = await request(gw.control, 'GET', '/control/sessions', { host: 'evil.example' });
    expect(read.status).toBe(403);
    expect(await stateOf(gw.control, 'victim')).toBe('active');
  });

  it('still serves its own clients: no Origin, its own Origin, JSON, and probes with any Host', async () => {
    const own = await request(gw.control, 'GET', '/control/stats', { origin: gw.control });
    expect(own.status).toBe(200);
    const json = await request(gw.control, 'POST', '/control/sessions/other-1/kill', { 'content-type': 'application/json' }, '{}');
    expect(json.body).toEqual({ id: 'other-1', state: 'killed' });
    const bare = await request(gw.control, 'POST', '/control/sessions/other-1/resume', {});
    expect(bare.body).toEqual({ id: 'other-1', state: 'active' });
    for (const path of ['/healthz', '/readyz']) {
      const probe = await request(gw.control, 'GET', path, { host: '10.42.0.7:9090' });
      expect(probe.status, path).toBe(200);
    }
  });

  describe.skipIf(noBrowser)('in Chromium', () => {
    let browser: Browser;
    let hostile: http.Server;
    let hostileOrigin = '';

    beforeAll(async () => {
      hostile = http.createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(hostilePage(gw.control));
      });
      await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', r));
      hostileOrigin = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
      // evil.example resolves to loopback: the name a rebinding attack would have pointed there
      browser = await launchBrowser(['--host-resolver-rules=MAP evil.example 127.0.0.1']);
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => hostile?.close(r));
    });

    it('a hostile page on another origin changes nothing: fetch, sendBeacon and a form POST', async () => {
      const page = await browser.newPage();
      const seen: number[] = [];
      page.on('response', (r) => { if (r.url().startsWith(gw.control)) seen.push(r.status()); });
      await page.goto(`${hostileOrigin}/`);
      await page.waitForFunction(() => (window as unknown as { attacksDone?: boolean }).attacksDone === true, undefined, { timeout: 15_000 });
      // the form's answer lands in the iframe: wait until the server has answered it
      await expect.poll(() => seen.length, { timeout: 5_000 }).toBeGreaterThan(0);
      await page.close();
      expect(seen.every((s) => s === 403), JSON.stringify(seen)).toBe(true);
      expect(await stateOf(gw.control, 'victim')).toBe('active');
      const stats = (await (await fetch(`${gw.control}/control/stats`)).json()) as { sessions: { killed: number } };
      expect(stats.sessions.killed).toBe(0);
    }, 30_000);

    it('a rebinding page (another name for the control port) can neither read nor kill', async () => {
      const page = await browser.newPage();
      const rebound = `http://evil.example:${new URL(gw.control).port}`;
      const nav = await page.goto(`${rebound}/control/sessions`);
      expect(nav?.status()).toBe(403);
      const result = await page.evaluate(async () => {
        const k = await fetch('/control/sessions/victim/kill', { method: 'POST', headers: { 'content-type': 'application/json', 'x-cordon-dashboard': '1' }, body: '{}' });
        const l = await fetch('/control/sessions');
        return [k.status, l.status];
      });
      await page.close();
      expect(result).toEqual([403, 403]);
      expect(await stateOf(gw.control, 'victim')).toBe('active');
    }, 30_000);
  });
});

/** A page on another origin that tries every way a browser lets it send a kill without CORS. */
function hostilePage(control: string): string {
  const kill = `${control}/control/sessions/victim/kill`;
  return `<!doctype html><html><body>
<form id="f" method="POST" action="${kill}" target="sink" enctype="text/plain"><input name="a" value="b"></form>
<form id="g" method="POST" action="${control}/control/sessions/ghost/kill" target="sink2"></form>
<iframe name="sink"></iframe><iframe name="sink2"></iframe>
<script>
(async () => {
  const tries = [
    fetch(${JSON.stringify(kill)}, { method: 'POST', mode: 'no-cors' }),
    fetch(${JSON.stringify(kill)}, { method: 'POST', mode: 'no-cors', body: 'x' }),
    fetch(${JSON.stringify(kill)}, { method: 'POST', mode: 'no-cors', body: new Blob(['{}']) }),
    fetch(${JSON.stringify(kill)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
    fetch(${JSON.stringify(kill)}, { method: 'POST', credentials: 'include' }),
  ];
  navigator.sendBeacon(${JSON.stringify(kill)}, 'x');
  await Promise.allSettled(tries);
  document.getElementById('f').submit();
  document.getElementById('g').submit();
  window.attacksDone = true;
})();
</script></body></html>`;
}
