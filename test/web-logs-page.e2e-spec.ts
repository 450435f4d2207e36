// The sample's "Logs and metrics" page (logs.html) in a real browser: log lines posted over HTTP show
// in the tail, the level filter and the search narrow it, pause holds new lines until resume, the
// uPlot charts gain a point at each metrics frame, HTML in a log line stays text, another app's logs
// never show, the page carries on after a server restart, and it fits a phone-width screen.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import {
  buildWebPages,
  itemWithText,
  launchChromium,
  saveScreenshot,
  scrollsSideways,
  signInToChat,
} from './support/browser';
import { RestartableSample } from './support/client-sample';

/** Shortened so that the charts gain points quickly (STREAM_METRICS_INTERVAL_MS in the environment). */
const METRICS_INTERVAL_MS = 500;
const CHART_IDS = ['cpu', 'memory', 'connections', 'messages'];

describe('sample logs and metrics page in a browser', () => {
  const sample = new RestartableSample({ stream: { metricsIntervalMs: METRICS_INTERVAL_MS } });
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    buildWebPages();
    await sample.start();
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await sample.dispose();
  });

  async function openPage(width: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    // Below jest's own timeout, so that a failure names what it waited for.
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    return context.newPage();
  }

  /** Signs in with an app id on the sign-in page, follows the header's link and waits to be online. */
  async function openLogs(username: string, appId: string, width = 1100): Promise<Page> {
    const page = await openPage(width);
    await page.goto(`${sample.url}/`);
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="appId"]', appId);
    await page.click('#sign-in button[type="submit"]');
    await page.waitForURL(`${sample.url}/chat.html`);
    await page.click('#top nav a:text("Logs")');
    await page.waitForURL(`${sample.url}/logs.html`);
    await page.locator('#connection-state', { hasText: 'online' }).waitFor();
    return page;
  }

  /** Posts log entries as a producer of `appId` (a token of that app), the way a service ships its logs. */
  async function postLogs(appId: string, entries: object[]): Promise<void> {
    const { token } = await sample.login(`producer-${appId}`, { appId });
    await request(sample.url)
      .post(`/apps/${appId}/logs`)
      .set('authorization', `Bearer ${token}`)
      .send(entries)
      .expect(202);
  }

  /** The tail's row whose message is exactly `text` (shown or hidden by the filter). */
  function line(page: Page, text: string) {
    return itemWithText(page, '#log-lines li', '.log-message', text);
  }

  /** The messages the tail shows, top to bottom. */
  function shownMessages(page: Page): Promise<string[]> {
    return page.locator('#log-lines li:visible .log-message').allTextContents();
  }

  /** Each chart's number of points (what its uPlot instance holds), read at one instant. */
  function chartPoints(page: Page): Promise<number[]> {
    return page.evaluate<number[]>(
      `${JSON.stringify(CHART_IDS)}.map((id) => Number(document.getElementById('chart-' + id).dataset.points))`,
    );
  }

  /** Waits for the charts to hold more than `points` points. */
  async function chartsPass(page: Page, points: number): Promise<void> {
    await page.waitForFunction(`Number(document.getElementById('chart-cpu').dataset.points) > ${points}`);
  }

  it('tells a session without an app id to sign in with one, and does not connect', async () => {
    const page = await openPage(1100);
    await signInToChat(page, sample.url, 'nobody-app');
    await page.click('#top nav a:text("Logs")');
    await page.waitForURL(`${sample.url}/logs.html`);
    await page.locator('#logs-no-app').waitFor();
    expect(await page.isHidden('#logs-view')).toBe(true);
    expect(await page.textContent('#connection-state')).toBe('no app id');
    await saveScreenshot(page, 'logs-no-app-id');
  });

  it('shows the app’s log lines live; the level filter and the search narrow the tail', async () => {
    const page = await openLogs('lena', 'app-tail');
    expect(await page.textContent('#log-count')).toBe('No log line yet.');
    await postLogs('app-tail', [
      { level: 'info', message: 'service started' },
      { level: 'warn', message: 'disk almost full', metadata: { freeGb: 2 } },
      { level: 'error', message: 'payment failed' },
      { level: 'info', message: 'user signed up' },
    ]);
    await line(page, 'user signed up').waitFor();
    expect(await shownMessages(page)).toEqual([
      'service started',
      'disk almost full',
      'payment failed',
      'user signed up',
    ]);
    const warn = line(page, 'disk almost full');
    expect(await warn.locator('.level').textContent()).toBe('warn');
    expect(await warn.locator('.metadata').textContent()).toBe('{"freeGb":2}');
    expect(await warn.locator('time').textContent()).toMatch(/\d{1,2}:\d{2}:\d{2}/);
    expect(await page.textContent('#log-count')).toBe('4 lines.');

    // Level "warn": the other levels are hidden, and so are the new lines of other levels.
    await page.selectOption('#log-controls select[name="level"]', 'warn');
    expect(await shownMessages(page)).toEqual(['disk almost full']);
    expect(await page.textContent('#log-count')).toBe('1 of 4 lines match.');
    await postLogs('app-tail', [
      { level: 'info', message: 'cache warmed' },
      { level: 'WARN', message: 'queue slow' },
    ]);
    // The info line came first (one batch, in order): it is in the tail, hidden.
    await line(page, 'queue slow').waitFor();
    expect(await page.locator('#log-lines li').count()).toBe(6);
    expect(await line(page, 'cache warmed').isHidden()).toBe(true);
    expect(await shownMessages(page)).toEqual(['disk almost full', 'queue slow']);
    expect(await page.textContent('#log-count')).toBe('2 of 6 lines match.');

    // The search (case-insensitive, in the message), on all levels, then with a level.
    await page.selectOption('#log-controls select[name="level"]', '');
    await page.fill('#log-controls input[name="search"]', 'SIGNED');
    expect(await shownMessages(page)).toEqual(['user signed up']);
    await page.fill('#log-controls input[name="search"]', 'e');
    expect(await shownMessages(page)).toHaveLength(5);
    await page.selectOption('#log-controls select[name="level"]', 'error');
    expect(await shownMessages(page)).toEqual(['payment failed']);
    await saveScreenshot(page, 'logs-filtered');
    await page.fill('#log-controls input[name="search"]', 'signed');
    expect(await shownMessages(page)).toEqual([]);
    expect(await page.textContent('#log-count')).toBe('0 of 6 lines match.');
    // Cleared, the filter shows every line kept.
    await page.selectOption('#log-controls select[name="level"]', '');
    await page.fill('#log-controls input[name="search"]', '');
    expect(await shownMessages(page)).toHaveLength(6);
  });

  it('holds new lines while paused and shows them all, in order, on resume', async () => {
    const page = await openLogs('paula', 'app-pause');
    await postLogs('app-pause', [{ level: 'info', message: 'before pause' }]);
    await line(page, 'before pause').waitFor();
    expect(await page.textContent('#log-count')).toBe('1 line.');

    await page.click('#pause');
    expect(await page.textContent('#pause')).toBe('Resume');
    expect(await page.getAttribute('#pause', 'aria-pressed')).toBe('true');
    await postLogs('app-pause', [{ level: 'info', message: 'held 1' }]);
    await postLogs('app-pause', [{ level: 'error', message: 'held 2' }]);
    // The note counts the lines as they arrive: both reached the page, and neither is in the tail.
    await page.locator('#paused-note', { hasText: 'Paused: 2 new lines held.' }).waitFor();
    expect(await page.locator('#log-lines li').count()).toBe(1);
    expect(await shownMessages(page)).toEqual(['before pause']);
    await saveScreenshot(page, 'logs-paused');

    await page.click('#pause');
    expect(await page.textContent('#pause')).toBe('Pause');
    expect(await shownMessages(page)).toEqual(['before pause', 'held 1', 'held 2']);
    expect(await page.isHidden('#paused-note')).toBe(true);
    // Live again.
    await postLogs('app-pause', [{ level: 'info', message: 'after resume' }]);
    await line(page, 'after resume').waitFor();
    expect(await shownMessages(page)).toEqual(['before pause', 'held 1', 'held 2', 'after resume']);
  });

  it('adds a point to every chart at each metrics frame', async () => {
    const page = await openLogs('carl', 'app-charts');
    await postLogs('app-charts', [
      { level: 'info', message: 'GET /orders 200 in 12 ms' },
      { level: 'info', message: 'worker 3 picked job 8812 (resize-image)' },
      {
        level: 'warn',
        message: 'slow query: 840 ms on orders by customer_id',
        metadata: { table: 'orders' },
      },
      { level: 'error', message: 'payment provider timed out after 5000 ms', metadata: { attempt: 2 } },
      { level: 'info', message: 'POST /checkout 201 in 48 ms' },
      { level: 'debug', message: 'cache hit ratio 0.93' },
    ]);
    await line(page, 'cache hit ratio 0.93').waitFor();

    await chartsPass(page, 0);
    const first = await chartPoints(page);
    // One handler updates the four charts: they always hold the same number of points.
    expect(new Set(first).size).toBe(1);
    const [points = 0] = first;
    await chartsPass(page, points);
    const second = await chartPoints(page);
    expect(second[0]).toBeGreaterThan(points);
    expect(new Set(second).size).toBe(1);
    await chartsPass(page, second[0] ?? 0);
    expect((await chartPoints(page))[0]).toBeGreaterThan(second[0] ?? 0);

    // uPlot drew each chart, and each caption reads the latest frame.
    for (const id of CHART_IDS) expect(await page.locator(`#chart-${id} canvas`).count()).toBe(1);
    expect(await page.textContent('#chart-cpu .reading')).toMatch(/^\d+\.\d % of \d+ cores$/);
    expect(await page.textContent('#chart-memory .reading')).toMatch(/^\d+\.\d of \d+\.\d GB$/);
    expect(await page.textContent('#chart-connections .reading')).toMatch(/^\d+ open, \d+ signed in$/);
    expect(await page.textContent('#chart-messages .reading')).toMatch(/^\d+\.\d messages\/s$/);
    // A few more points for the picture in the README (docs/images/sample-logs.png).
    await chartsPass(page, 8);
    await saveScreenshot(page, 'logs-metrics');
  });

  it('shows a log line with HTML in it as text, and no dialog opens', async () => {
    const page = await openLogs('mallory', 'app-html');
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const attack = '<img src=x onerror=alert(1)>';
    await postLogs('app-html', [{ level: 'error', message: attack, metadata: { note: '<b>bold</b>' } }]);
    const row = line(page, attack);
    await row.waitFor();
    expect(await row.locator('.log-message').textContent()).toBe(attack);
    expect(await row.locator('.metadata').textContent()).toBe('{"note":"<b>bold</b>"}');
    // Parsed as HTML they would be elements (the <img>'s error handler opening the dialog).
    expect(await page.locator('#log-lines img, #log-lines b').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await saveScreenshot(page, 'logs-html-as-text');
  });

  it('never shows another app’s logs', async () => {
    const ada = await openLogs('ada', 'app-a');
    const bea = await openLogs('bea', 'app-b');
    // B's line is published first: had it been sent to A, it would reach A before A's own line
    // (one connection's frames arrive in order).
    await postLogs('app-b', [{ level: 'info', message: 'only for app-b' }]);
    await postLogs('app-a', [{ level: 'info', message: 'only for app-a' }]);
    await line(ada, 'only for app-a').waitFor();
    await line(bea, 'only for app-b').waitFor();
    expect(await shownMessages(ada)).toEqual(['only for app-a']);
    expect(await shownMessages(bea)).toEqual(['only for app-b']);
    await saveScreenshot(ada, 'logs-isolation');
  });

  it('carries on after the server restarts: reconnects, no line twice, the charts go on', async () => {
    const page = await openLogs('rita', 'app-restart');
    await postLogs('app-restart', [{ level: 'info', message: 'before restart' }]);
    await line(page, 'before restart').waitFor();

    await sample.stop();
    await page.locator('#connection-state:not([data-state="ACTIVE"])').waitFor();
    await sample.start();
    // The SDK's reconnection delays (1 s, doubling, with jitter) after a restart of a few seconds.
    await page.locator('#connection-state[data-state="ACTIVE"]').waitFor({ timeout: 45_000 });
    const [points = 0] = await chartPoints(page);
    await postLogs('app-restart', [{ level: 'info', message: 'after restart' }]);
    await line(page, 'after restart').waitFor();
    // The persisted backlog sent again after authentication is not shown twice.
    expect(await shownMessages(page)).toEqual(['before restart', 'after restart']);
    await chartsPass(page, points);
    await saveScreenshot(page, 'logs-after-restart');
  }, 90_000);

  it('fits a 375 px wide screen without scrolling sideways', async () => {
    const page = await openLogs('a-long-name-on-a-phone-screen', 'app-phone', 375);
    const long = `${'long-unbroken-word-'.repeat(9)}end`;
    await postLogs('app-phone', [
      { level: 'warn', message: long, metadata: { path: '/a/very/long/path/'.repeat(6) } },
    ]);
    await line(page, long).waitFor();
    await chartsPass(page, 1);
    expect(await scrollsSideways(page)).toBe(false);
    await saveScreenshot(page, 'logs-375px');
  });
});
