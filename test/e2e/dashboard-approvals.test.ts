// The dashboard's approve and deny buttons in headless Chromium: a held MCP tool call appears
// on the page from the live event stream; approve releases it, deny refuses it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { noBrowser, openPage, type BrowserPage } from '../helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

const TOKEN = 'e2e-approvals-token';

describe.skipIf(noBrowser)('dashboard approvals', () => {
  let mock: MockProc;
  let gw: GatewayProc;
  let browser: BrowserPage;
  let page: Page;

  beforeAll(async () => {
    mock = await startMockLlm();
    const dir = mkdtempSync(join(tmpdir(), 'cordon-e2e-appr-'));
    writeFileSync(join(dir, 'c.yaml'), "policy:\n  preset: off\n  rules:\n    - name: hold-shell\n      target: tool_call\n      patterns: ['rm\\s+-rf']\n      action: hold\n");
    gw = await startGateway(['--upstream', `${mock.url}/v1`, '--config', join(dir, 'c.yaml')], { CORDON_CONTROL_TOKEN: TOKEN });
    browser = await openPage();
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await mock?.stop();
  });

  const call = (session: string, dir: string) => fetch(`${gw.proxy}/mcp`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'shell', arguments: { command: `rm -rf ${dir}` } } }),
  });

  it('approve releases a held call; deny refuses one', async () => {
    await page.goto(`${gw.control}/`);
    await page.fill('#token-input', TOKEN);
    await page.click('#token-submit');
    await page.locator('#conn-status[data-state="live"]').waitFor();

    const first = call('dash-appr-1', './build');
    const row = page.locator('#approvals tr', { hasText: 'dash-appr-1' });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('rm -rf ./build');
    await row.locator('button[data-action="approve"]').click();
    const ok = (await (await first).json()) as { result?: unknown };
    expect(ok.result).toBeDefined();
    await row.waitFor({ state: 'detached', timeout: 5_000 });

    const second = call('dash-appr-2', './cache');
    const row2 = page.locator('#approvals tr', { hasText: 'dash-appr-2' });
    await row2.waitFor({ timeout: 10_000 });
    await row2.locator('button[data-action="deny"]').click();
    const denied = (await (await second).json()) as { error?: { data: { type: string } } };
    expect(denied.error?.data.type).toBe('approval_denied');
    await row2.waitFor({ state: 'detached', timeout: 5_000 });
    expect(await page.locator('#approvals-empty').isVisible()).toBe(true);
  });
});
