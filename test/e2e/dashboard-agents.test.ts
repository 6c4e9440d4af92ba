// The dashboard's agents panel and cost column in headless Chromium against the real gateway:
// agents listed by cost, kill and resume by agent from the page, sessions sorted by cost.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { noBrowser, openPage, type BrowserPage } from '../helpers/browser.js';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe.skipIf(noBrowser)('dashboard: agents and cost', () => {
  let mock: MockProc;
  let gw: GatewayProc;
  let browser: BrowserPage;
  let page: Page;

  beforeAll(async () => {
    mock = await startMockLlm();
    const dir = mkdtempSync(join(tmpdir(), 'cordon-dash-agents-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `upstreams:\n  - url: ${mock.url}/v1\nauth:\n  keys:\n    - { id: a, key_sha256: ${sha('ck-cheap')}, agent: cheap-bot }\n    - { id: b, key_sha256: ${sha('ck-dear')}, agent: dear-bot }\n`);
    gw = await startGateway(['--config', file]);
    const call = (key: string, sid: string, model: string) => fetch(`${gw.proxy}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-session-id': sid },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
    }).then((r) => r.text());
    await call('ck-cheap', 'cheap-1', 'gpt-4o-mini');
    await call('ck-dear', 'dear-1', 'claude-opus-4-1');
    browser = await openPage();
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await mock?.stop();
  });

  it('lists agents by cost, kills one from the page, and sorts sessions by cost', async () => {
    await page.goto(`${gw.control}/`);
    await page.waitForSelector('#agents tbody tr[data-agent="dear-bot"]');
    expect(await page.$$eval('#agents tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.agent))).toEqual(['dear-bot', 'cheap-bot']);
    await page.click('#agents tr[data-agent="cheap-bot"] button');
    await page.waitForSelector('#agents tbody tr[data-agent="cheap-bot"][data-state="killed"]');
    const r = await fetch(`${gw.proxy}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ck-cheap' }, body: '{}' });
    expect(r.status).toBe(403);
    await page.waitForSelector('#sessions tr[data-session-id="cheap-1"]');
    await page.click('#sort-cost');
    expect(await page.$$eval('#sessions tbody tr', (rows) => rows.map((x) => (x as HTMLElement).dataset.sessionId))).toEqual(['dear-1', 'cheap-1']);
    const cost = await page.$eval('#sessions tr[data-session-id="dear-1"] td[data-field="cost_usd"]', (td) => td.textContent);
    expect(Number(cost)).toBeGreaterThan(0);
  }, 60_000);
});
