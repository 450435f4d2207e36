// Browser tests of the sample's web pages: Debian's chromium driven by playwright-core (no browser
// download), the pages built the way `npm start` builds them, and a screenshot per test.
import { execFileSync } from 'child_process';
import { mkdirSync } from 'fs';
import { join, resolve } from 'path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** Debian's package (`apt-get install chromium`; .ci/run installs it when missing). */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = resolve('reports/screenshots');

/** Builds the pages into dist/sample-web, where the sample serves them (npm run build:web). */
export function buildWebPages(): void {
  execFileSync(process.execPath, [resolve('apps/sample/web/build.mjs')], { stdio: 'ignore' });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Signs in through the sign-in page at `/` and waits for the chat page to be online. */
export async function signInToChat(page: Page, baseUrl: string, username: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.fill('input[name="username"]', username);
  await page.click('#sign-in button[type="submit"]');
  await page.waitForURL(`${baseUrl}/chat.html`);
  await page.locator('#connection-state', { hasText: 'online' }).waitFor({ timeout: 10_000 });
}

/** Whether the page is wider than its viewport (a horizontal scroll bar on a phone). */
export function scrollsSideways(page: Page): Promise<boolean> {
  // A string: it runs in the page, and the tests are compiled without the DOM's types.
  return page.evaluate<boolean>(
    'document.documentElement.scrollWidth > document.documentElement.clientWidth',
  );
}

/** The items matching `items` that hold a `textSelector` element whose whole text is `text`. */
export function itemWithText(page: Page, items: string, textSelector: string, text: string): Locator {
  return page.locator(items).filter({
    has: page.locator(textSelector, { hasText: new RegExp(`^${escapeRegExp(text)}$`) }),
  });
}

/** The message items whose text is exactly `text` (the chat and rooms pages share the markup). */
export function messageItem(page: Page, text: string): Locator {
  return itemWithText(page, '#messages li.message', 'p.text', text);
}

/** Types `text` in the composer of the chat or rooms page and sends it. */
export async function sendFromComposer(page: Page, text: string): Promise<void> {
  await page.fill('#composer input[name="message"]', text);
  await page.click('#composer button[type="submit"]');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
