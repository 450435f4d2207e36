// The sample's web pages in a real browser (Debian's chromium through playwright-core): sign in and
// out, the chat between two people, HTML in messages shown as text, errors, the live modules list,
// the admin page (and no admin event on a non-admin's socket), and a phone-width screen.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import {
  buildWebPages,
  launchChromium,
  messageItem,
  saveScreenshot,
  sendFromComposer as send,
  scrollsSideways,
  signInToChat,
} from './support/browser';
import { Clients, recordEvents, waitUntil } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

/** Limits of this spec's sample: a short maximum length so that "too long" is quick to reach. */
const MAX_MESSAGE_LENGTH = 200;
/** The admin of this spec's sample (the sample's `adminUsers`, ADMIN_USERS in the environment). */
const ADMIN = 'boss';
/** The events only admins receive. */
const ADMIN_EVENTS = ['rt_user_logged_in', 'rt_user_logged_out', 'rt_global_stats_updated'];

describe('sample web pages in a browser', () => {
  let sample: RunningSample;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const sockets = new Clients();

  beforeAll(async () => {
    buildWebPages();
    sample = await startSample({
      overrides: { limits: { maxMessageLength: MAX_MESSAGE_LENGTH } },
      config: { adminUsers: [ADMIN] },
    });
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    sockets.closeAll();
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await sample?.close();
  });

  async function openPage(width = 1100, height = 800): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height } });
    // Below jest's own timeout, so that a failure names what it waited for.
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context.newPage();
  }

  async function chatAs(username: string, width?: number): Promise<Page> {
    const page = await openPage(width);
    await signInToChat(page, sample.url, username);
    return page;
  }

  it('serves the sign-in page at /, signs in with a token, and signs out', async () => {
    const page = await openPage();
    await page.goto(`${sample.url}/`);
    expect(await page.title()).toBe('Sign in · nest-realtime sample');
    // An invalid username is refused by the server, and the page says why.
    await page.fill('input[name="username"]', 'no spaces allowed?');
    await page.click('#sign-in button[type="submit"]');
    await page.locator('#sign-in-error').waitFor({ state: 'visible' });
    expect(await page.textContent('#sign-in-error')).not.toBe('');

    await signInToChat(page, sample.url, 'dora');
    expect(await page.textContent('#whoami')).toBe('dora');
    const stored = await page.evaluate<string | null>("localStorage.getItem('nest-realtime-sample.session')");
    expect(JSON.parse(stored ?? '{}')).toMatchObject({ user: { username: 'dora' } });
    await saveScreenshot(page, 'sign-in-then-chat');

    await page.click('#sign-out');
    await page.waitForURL(`${sample.url}/`);
    await page.locator('#sign-in').waitFor();
    expect(
      await page.evaluate<string | null>("localStorage.getItem('nest-realtime-sample.session')"),
    ).toBeNull();
    // Signed out, the chat page sends the person back to sign in.
    await page.goto(`${sample.url}/chat.html`);
    await page.waitForURL(`${sample.url}/`);
  });

  it('lets two people chat both ways, with typing that shows and clears, replies and presence', async () => {
    const alice = await chatAs('alice');
    const bob = await chatAs('bob');
    // Each sees the other online.
    await alice.locator('#people li.online', { hasText: 'bob' }).waitFor();
    await bob.locator('#people li.online', { hasText: 'alice' }).waitFor();

    await alice.fill('#composer input[name="message"]', 'Hello B');
    await bob.locator('#typing', { hasText: 'alice is typing…' }).waitFor();
    await alice.click('#composer button[type="submit"]');
    const received = messageItem(bob, 'Hello B');
    await received.waitFor();
    expect(await received.locator('.author').textContent()).toBe('alice');
    expect(await received.locator('time').textContent()).toMatch(/\d{1,2}:\d{2}/);
    await bob.waitForFunction("document.getElementById('typing').textContent === ''");
    // The sender sees its own message once, marked as its own.
    await messageItem(alice, 'Hello B').and(alice.locator('.mine')).waitFor();
    expect(await messageItem(alice, 'Hello B').count()).toBe(1);

    // Bob answers with a reply to that message.
    await received.locator('button.reply').click();
    expect(await bob.textContent('#reply-to-text')).toBe('Replying to alice: Hello B');
    await send(bob, 'Hi A');
    const reply = messageItem(alice, 'Hi A');
    await reply.waitFor();
    expect(await reply.locator('.author').textContent()).toBe('bob');
    expect(await reply.locator('.quote').textContent()).toBe('↪ alice: Hello B');
    expect(await bob.isHidden('#reply-to')).toBe(true);
    await saveScreenshot(alice, 'chat-two-people');

    // Bob leaves: Alice sees when he was last seen.
    await bob.context().close();
    await alice
      .locator('#people li.offline', { hasText: 'bob' })
      .locator('small', { hasText: 'last seen' })
      .waitFor();
  });

  it('switches rooms: a message in another room is counted unread, then shown there', async () => {
    const erin = await chatAs('erin');
    const fred = await chatAs('fred');
    await fred.fill('#join-room input[name="room"]', 'lab');
    await fred.click('#join-room button[type="submit"]');
    await fred.locator('#room-title', { hasText: '# lab' }).waitFor();
    await erin.fill('#join-room input[name="room"]', 'lab');
    await erin.click('#join-room button[type="submit"]');
    await erin.locator('#room-title', { hasText: '# lab' }).waitFor();
    // Erin goes back to the lobby; Fred posts in lab.
    await erin.locator('#rooms button', { hasText: 'general' }).click();
    await send(fred, 'In the lab');
    await erin.locator('#rooms li', { hasText: 'lab' }).locator('.badge', { hasText: '1' }).waitFor();
    expect(await messageItem(erin, 'In the lab').count()).toBe(0);
    await erin.locator('#rooms button', { hasText: 'lab' }).click();
    await messageItem(erin, 'In the lab').waitFor();
    expect(await erin.locator('#rooms .badge').count()).toBe(0);
    await saveScreenshot(erin, 'chat-rooms');
  });

  it('shows a message with HTML in it as text, and no dialog opens', async () => {
    const mallory = await chatAs('mallory');
    const victim = await chatAs('victim');
    const dialogs: string[] = [];
    for (const page of [mallory, victim]) {
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
    }
    const attack = '<img src=x onerror=alert(1)>';
    await send(mallory, attack);
    for (const page of [victim, mallory]) {
      const item = messageItem(page, attack);
      await item.waitFor();
      expect(await item.locator('p.text').textContent()).toBe(attack);
      // Parsed as HTML it would be an <img> element (whose error handler opens the dialog).
      expect(await page.locator('#messages img').count()).toBe(0);
    }
    expect(dialogs).toEqual([]);
    await saveScreenshot(victim, 'chat-html-as-text');
  });

  it('tells the person when a message is too long and when to retry after the rate limit', async () => {
    const page = await chatAs('gina');
    await send(page, 'x'.repeat(MAX_MESSAGE_LENGTH + 1));
    await page.locator('#chat-error', { hasText: 'Message too long' }).waitFor();
    expect(await page.textContent('#chat-error')).toContain(`${MAX_MESSAGE_LENGTH} characters`);
    // The library's default limit: 10 messages a minute per user (the refused one above counts or not).
    let refused = false;
    for (let sent = 0; sent < 12 && !refused; sent += 1) {
      await send(page, `message ${sent}`);
      const outcome = await Promise.race([
        messageItem(page, `message ${sent}`)
          .waitFor()
          .then(() => 'delivered'),
        page
          .locator('#chat-error', { hasText: 'Too many messages' })
          .waitFor()
          .then(() => 'refused'),
      ]);
      refused = outcome === 'refused';
    }
    expect(refused).toBe(true);
    expect(await page.textContent('#chat-error')).toMatch(/try again in \d+ s \(at \d{1,2}:\d{2}:\d{2}/);
    await saveScreenshot(page, 'chat-rate-limited');
  });

  it('fits a 375 px wide screen without scrolling sideways', async () => {
    const page = await chatAs('a-long-name-on-a-phone-screen', 375);
    await send(page, `${'long-unbroken-word-'.repeat(9)}end`);
    await messageItem(page, `${'long-unbroken-word-'.repeat(9)}end`).waitFor();
    await page.fill('#join-room input[name="room"]', 'a-room-with-quite-a-long-name-too');
    await page.click('#join-room button[type="submit"]');
    await page.locator('#room-title', { hasText: 'a-room-with-quite-a-long-name-too' }).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await saveScreenshot(page, 'chat-375px');
  });

  it('keeps the modules list live on rt_module_* and rt_telemetry_updated, one row per module', async () => {
    const page = await chatAs('mira', 375);
    await page.click('#top nav a:text("Modules")');
    await page.waitForURL(`${sample.url}/modules.html`);
    await page.locator('#connection-state', { hasText: 'online' }).waitFor();
    await page.locator('#modules-empty').waitFor();

    // Over REST, as the same user: the row appears, then follows the telemetry and the status.
    const { token } = await sample.login('mira');
    const rest = (path: string, body: object) =>
      request(sample.url)
        .post(path)
        .set('authorization', `Bearer ${token}`)
        .send(body)
        .expect((response) => expect(response.status).toBeLessThan(300));
    await rest('/modules', { moduleId: 'MC-1001-STN', name: 'Station', type: 'Station' });
    const row = page.locator('#modules tr[data-module-id="MC-1001-STN"]');
    await row.locator('td', { hasText: 'Station' }).first().waitFor();
    await rest('/modules/MC-1001-STN/telemetry', { telemetry: { temperature: 21.5 } });
    await row.locator('td.telemetry', { hasText: 'temperature: 21.5' }).waitFor();
    await rest('/modules/MC-1001-STN/telemetry', { telemetry: { temperature: 22 } });
    await row.locator('td.telemetry', { hasText: /^temperature: 22$/ }).waitFor();
    await rest('/modules/MC-1001-STN/online', {});
    await row.locator('td.status', { hasText: 'online' }).waitFor();
    expect(await row.count()).toBe(1);

    // From the page's own form: the row comes from the event, once.
    await page.fill('#add-module input[name="moduleId"]', 'MC-2002-<b>');
    await page.fill('#add-module input[name="name"]', 'Bad id');
    await page.fill('#add-module input[name="type"]', 'Probe');
    await page.click('#add-module button[type="submit"]');
    await page.locator('#modules-error', { hasText: 'moduleId must be' }).waitFor();
    await page.fill('#add-module input[name="moduleId"]', 'MC-2002-PRB');
    await page.click('#add-module button[type="submit"]');
    await page.locator('#modules tr[data-module-id="MC-2002-PRB"]').waitFor();
    expect(await page.locator('#modules tr').count()).toBe(2);
    expect(await page.isHidden('#modules-empty')).toBe(true);

    // A reload draws the same list from rt_sync.
    await page.reload();
    await page.locator('#modules tr[data-module-id="MC-2002-PRB"]').waitFor();
    await row.locator('td.telemetry', { hasText: /^temperature: 22$/ }).waitFor();
    expect(await page.locator('#modules tr').count()).toBe(2);
    expect(await scrollsSideways(page)).toBe(false);
    await saveScreenshot(page, 'modules-375px');
  });

  it('shows admins the stats and sign-ins live; a non-admin socket receives no admin event', async () => {
    // The header links the admin page for admins only.
    const admin = await chatAs(ADMIN, 375);
    await admin.click('#top nav a:text("Admin")');
    await admin.waitForURL(`${sample.url}/admin.html`);
    await admin.locator('#admin-view').waitFor();
    expect(await admin.isHidden('#admin-only')).toBe(true);
    // The stats of rt_sync.
    await admin.waitForFunction("/^\\d+$/.test(document.getElementById('stat-totalUsers').textContent)");
    const stat = async (name: string) => Number(await admin.textContent(`#stat-${name}`));
    expect(await stat('connections')).toBeGreaterThanOrEqual(1);

    // A non-admin has no link, and the page tells them it is for admins only.
    const nina = await chatAs('nina');
    expect(await nina.locator('#top nav a', { hasText: 'Admin' }).count()).toBe(0);
    await nina.goto(`${sample.url}/admin.html`);
    await nina.locator('#admin-only').waitFor();
    expect(await nina.isHidden('#admin-view')).toBe(true);

    // At the socket: the non-admin and (to show the events are sent) the admin, both on page `admin`,
    // each recording every event it receives.
    const [ninaToken, adminToken] = [(await sample.login('nina')).token, (await sample.login(ADMIN)).token];
    const ninaSocket = await sockets.io(sample.url, { token: ninaToken, page: 'admin' });
    const ninaSeen = recordEvents(ninaSocket);
    const adminSocket = await sockets.io(sample.url, { token: adminToken, page: 'admin' });
    const adminSeen = recordEvents(adminSocket);
    type Sync = { user: { isAdmin: boolean }; stats?: { totalUsers: number; connections: number } };
    const rtSync = async (socket: typeof adminSocket) =>
      (await socket.timeout(5000).emitWithAck('rt_sync')) as Sync;
    // The figures now, from the server.
    const { stats: before } = await rtSync(adminSocket);
    if (!before) throw new Error('rt_sync gave an admin no stats');

    // A new user signs in over HTTP, connects (a stats change) and signs out.
    const olga = await sample.login('olga');
    const olgaRow = admin.locator('#sign-ins li[data-user="olga"]');
    await olgaRow.filter({ hasText: 'signed in' }).waitFor();
    await waitUntil(async () => (await stat('totalUsers')) === before.totalUsers + 1);
    await sockets.io(sample.url, { token: olga.token });
    await waitUntil(async () => (await stat('connections')) > before.connections);
    await request(sample.url).post('/auth/logout').set('authorization', `Bearer ${olga.token}`).expect(204);
    await olgaRow.filter({ hasText: 'signed out' }).waitFor();
    // Newest first.
    expect(await admin.locator('#sign-ins li').first().textContent()).toContain('signed out');
    await saveScreenshot(admin, 'admin-375px');
    expect(await scrollsSideways(admin)).toBe(false);

    // The admin's socket got each admin event; an rt_sync round trip on the non-admin's socket, answered
    // after them (one socket's packets arrive in order), shows it received none, and no stats.
    await waitUntil(() => ADMIN_EVENTS.every((name) => adminSeen.some(({ event }) => event === name)));
    const sync = await rtSync(ninaSocket);
    expect(sync.user.isAdmin).toBe(false);
    expect(sync.stats).toBeUndefined();
    expect(ninaSeen.filter(({ event }) => ADMIN_EVENTS.includes(event))).toEqual([]);
    expect(await nina.locator('#sign-ins li').count()).toBe(0);
  });
});
