// End to end: the real binary (gateway + mock LLM), the dashboard in headless Chromium.
// A session appears on the page from the live event stream, its kill button kills it, and the
// next request of that session gets 403 session_killed.
// Where Debian's chromium is missing outside CI the suite skips; under CI=true it must run.
// Set DASHBOARD_SCREENSHOT=path.png to keep a screenshot.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { noBrowser, openPage, type BrowserPage } from '../helpers/browser.js';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

const TOKEN = 'e2e-dashboard-token';

function chat(proxy: string, session: string): Promise<Response> {
  return fetch(`${proxy}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-session-id': session },
    body: JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'hello' }] }),
  });
}

/** null when the gateway serves what the page needs, else why not. */
describe.skipIf(noBrowser)('dashboard end to end', () => {
  let mock: MockProc;
  let gw: GatewayProc;
  let browser: BrowserPage;
  let page: Page;

  beforeAll(async () => {
    mock = await startMockLlm();
    gw = await startGateway(['--upstream', `${mock.url}/v1`, '--data-dir', mkdtempSync(join(tmpdir(), 'cordon-e2e-dash-'))], { CORDON_CONTROL_TOKEN: TOKEN });
    browser = await openPage();
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await mock?.stop();
  });

  it('a session appears, its kill button kills it, and its next request gets 403', async () => {
    await page.goto(`${gw.control}/`);
    await page.locator('#token-form').waitFor({ state: 'visible' });
    await page.fill('#token-input', TOKEN);
    await page.click('#token-submit');
    await page.locator('#conn-status[data-state="live"]').waitFor();

    const first = await chat(gw.proxy, 'e2e-dash-1');
    expect(first.status).toBe(200);
    await first.text();
    const row = page.locator('tr[data-session-id="e2e-dash-1"]');
    await row.waitFor({ timeout: 10_000 });

    await page.click('button[data-action="kill"][data-session-id="e2e-dash-1"]');
    await expect.poll(() => row.locator('td[data-field="state"]').textContent(), { timeout: 5_000 }).toBe('killed');

    const after = await chat(gw.proxy, 'e2e-dash-1');
    expect(after.status).toBe(403);
    expect(((await after.json()) as { error: { type: string } }).error.type).toBe('session_killed');

    if (process.env.DASHBOARD_SCREENSHOT) {
      await page.setViewportSize({ width: 1400, height: 800 });
      await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT });
    }
  });

  it('a wrong token gets a clear message on the page', async () => {
    const p2 = await browser.page.context().newPage();
    await p2.goto(`${gw.control}/`);
    await p2.evaluate(() => sessionStorage.clear());
    await p2.reload();
    await p2.fill('#token-input', 'not-the-token');
    await p2.click('#token-submit');
    await expect.poll(() => p2.locator('#auth-message').textContent()).toContain('refused this token');
    await p2.close();
  });
});
