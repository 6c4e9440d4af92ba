// The dashboard page in headless Chromium against a fake control API (SSE included): token
// prompt, live rows from the event stream, kill/resume, flagged events, memory chart, detail.
// The end-to-end test against the real gateway is test/e2e/dashboard.test.ts.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Page } from 'playwright-core';
import { noBrowser, openPage, type BrowserPage } from '../helpers/browser.js';
import { startFakeControl, session, type FakeControl } from './fake-control.js';

const TOKEN = 'tok-123';

describe.skipIf(noBrowser)('dashboard in a browser', () => {
  let fake: FakeControl;
  let browser: BrowserPage;
  let page: Page;
  const outside: string[] = [];
  const cspErrors: string[] = [];

  beforeAll(async () => {
    fake = await startFakeControl(TOKEN, [session('agent-1'), session('agent-2', { state: 'killed' })]);
    fake.flagged.push({ id: 'f1', session_id: 'agent-1', rule: 'pii-email', severity: 'high', action: 'flag', direction: 'response', excerpt: '<b>bob@example.com</b>', at: Date.now() - 5000 });
    browser = await openPage();
    page = browser.page;
    page.on('request', (r) => { if (!r.url().startsWith(fake.url) && !r.url().startsWith('data:')) outside.push(r.url()); });
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fake?.close();
  });

  it('asks for the token, refuses a wrong one clearly, then connects', async () => {
    await page.goto(`${fake.url}/`);
    await page.locator('#token-form').waitFor({ state: 'visible' });
    expect(await page.locator('#auth-message').textContent()).toContain('requires its control token');
    await page.fill('#token-input', 'wrong');
    await page.click('#token-submit');
    await expect.poll(() => page.locator('#auth-message').textContent()).toContain('refused this token');
    expect(await page.locator('#conn-status').getAttribute('data-state')).toBe('auth');
    await page.fill('#token-input', TOKEN);
    await page.click('#token-submit');
    await page.locator('#conn-status[data-state="live"]').waitFor();
    await page.locator('tr[data-session-id="agent-1"]').waitFor();
    expect(await page.locator('#auth').isHidden()).toBe(true);
    expect(await page.locator('tr[data-session-id="agent-2"] td[data-field="state"]').textContent()).toBe('killed');
    // the API calls carried the bearer header
    expect(fake.requests.filter((r) => r.url.startsWith('/control/') && r.auth === `Bearer ${TOKEN}`).length).toBeGreaterThan(3);
  });

  it('a session started on the event stream appears without polling, and its kill button kills it', async () => {
    const before = fake.requests.filter((r) => r.url.startsWith('/control/sessions?')).length;
    fake.sessions.push(session('live-7'));
    fake.emit({ kind: 'session', type: 'started', session_id: 'live-7', at: Date.now() }, 'session');
    const row = page.locator('tr[data-session-id="live-7"]');
    await row.waitFor();
    expect(fake.requests.filter((r) => r.url.startsWith('/control/sessions?')).length).toBe(before);
    await page.click('button[data-action="kill"][data-session-id="live-7"]');
    await expect.poll(() => row.locator('td[data-field="state"]').textContent()).toBe('killed');
    expect(fake.requests.some((r) => r.method === 'POST' && r.url === '/control/sessions/live-7/kill' && r.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(fake.sessions.find((s) => s.id === 'live-7')!.state).toBe('killed');
    expect(await page.locator('button[data-action="kill"][data-session-id="live-7"]').isDisabled()).toBe(true);
    await page.click('button[data-action="resume"][data-session-id="live-7"]');
    await expect.poll(() => row.locator('td[data-field="state"]').textContent()).toBe('active');
  });

  it('a kill from elsewhere, seen on the stream, updates the row', async () => {
    fake.emit({ kind: 'session', type: 'killed', session_id: 'agent-1', at: Date.now(), reason: 'operator' }, 'session');
    await expect.poll(() => page.locator('tr[data-session-id="agent-1"] td[data-field="state"]').textContent()).toBe('killed');
  });

  it('shows flagged events, from the initial load and live, as text (no HTML injection)', async () => {
    await page.locator('#flagged tr[data-event-id="f1"]').waitFor();
    expect(await page.locator('#flagged tr[data-event-id="f1"] td').last().textContent()).toBe('<b>bob@example.com</b>');
    expect(await page.locator('#flagged b').count()).toBe(0);
    fake.emit({ kind: 'policy', id: 'f2', session_id: 'agent-2', rule: 'jailbreak', severity: 'critical', action: 'block', direction: 'request', excerpt: 'ignore previous instructions', at: new Date().toISOString() }, 'policy');
    await page.locator('#flagged tbody tr[data-event-id="f2"]').waitFor();
    expect(await page.locator('#flagged tbody tr').first().getAttribute('data-event-id')).toBe('f2');
  });

  it('opens a session detail with its fields and events', async () => {
    await page.click('tr[data-session-id="agent-2"] td[data-field="id"]');
    await page.locator('#detail[data-session-id="agent-2"]').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#detail-fields dd[data-field="requests"]').textContent()).toBe('3');
    await expect.poll(() => page.locator('#detail-events').textContent()).toContain('block by rule jailbreak');
  });

  it('draws memory by component and the pressure over time, from memory events on the stream', async () => {
    await page.locator('#memory-components tr[data-component="unattributed"]').waitFor();
    const n0 = await page.locator('#memory-chart rect').count();
    expect(n0).toBeGreaterThanOrEqual(1);
    fake.emit({ kind: 'memory', limit_bytes: 100, rss_bytes: 97, pressure: 'critical', components: { sessions: { bytes: 50, count: 2 }, unattributed: { bytes: 47 } } }, 'memory');
    await page.locator('#memory-chart rect[data-level="critical"]').waitFor();
    expect(await page.locator('#stat-pressure').textContent()).toBe('critical');
  });

  it('reloads the list when the server says it dropped frames for this page', async () => {
    const lists = () => fake.requests.filter((r) => r.url.startsWith('/control/sessions?')).length;
    const before = lists();
    fake.emit({ count: 3 }, 'dropped');
    await expect.poll(lists).toBe(before + 1);
  });

  it('keeps the token for the tab and reconnects after a reload', async () => {
    await page.reload();
    await page.locator('#conn-status[data-state="live"]').waitFor();
    expect(await page.locator('#auth').isHidden()).toBe(true);
  });

  it('fetched nothing from outside and broke no CSP rule', () => {
    expect(outside).toEqual([]);
    expect(cspErrors).toEqual([]);
  });
});
