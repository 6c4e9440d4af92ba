// Debian's Chromium driven by playwright-core, launched the one way every browser test uses.
// Outside CI a machine without /usr/bin/chromium skips these tests; under CI=true they must run.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Flags without which Chromium on this machine reaches for Google's hosts and is refused. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const noBrowser = !existsSync(CHROMIUM) && process.env.CI !== 'true';

export interface BrowserPage {
  page: Page;
  close(): Promise<void>;
}

/** One page in a fresh profile, removed again by close(). */
export async function openPage(): Promise<BrowserPage> {
  const profile = mkdtempSync(join(tmpdir(), 'cordon-pw-'));
  const ctx: BrowserContext = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  return {
    page,
    async close() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A browser for tests that open pages of their own; `extraArgs` e.g. host-resolver rules. */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, ...extraArgs] });
}
