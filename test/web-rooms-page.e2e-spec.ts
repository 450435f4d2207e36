// The rooms page (rooms.html) in a real browser, against the sample app as a separate process: room
// history fetched page by page as the list is scrolled up, direct messages both ways, images, audio
// and reactions, HTML shown as text, a phone-width screen, and a server restart on the same port and
// database while another client posts: the page says "reconnecting", then shows what it missed, once
// each and in order.
import { mkdtempSync, rmSync } from 'fs';
import { connect, createServer, type AddressInfo, type Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { RoomsClient, type RoomsClientEvents } from 'nest-realtime-client';
import type { LoginResult } from '../apps/sample/src/auth/auth.service';
import {
  buildWebPages,
  launchChromium,
  messageItem,
  saveScreenshot,
  sendFromComposer as send,
  scrollsSideways,
  signInToChat,
} from './support/browser';
import { waitUntil } from './support/clients';
import { startSampleNode, type SampleNode, type SampleNodeOptions } from './support/sample-node';

/** The page's history page size (PAGE_SIZE in rooms.ts) is 20: this is more than two pages. */
const SEEDED = 45;
/** Room of the restart scenario. */
const OPS = 'ops';

/**
 * The network between the browser and the node: a TCP relay that, while shut, drops every new
 * connection at once, as a server that cannot be reached does. Connections already relayed end with
 * the node's.
 */
interface Gate {
  url: string;
  shut(): void;
  reopen(): void;
  close(): Promise<void>;
}

async function openGate(targetPort: number): Promise<Gate> {
  let open = true;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      // A reset on either side is followed by 'close', which ends the other side too.
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    shut: () => {
      open = false;
    },
    reopen: () => {
      open = true;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('rooms page in a browser', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rt-rooms-page-'));
  const nodeOptions: SampleNodeOptions = {
    name: 'rooms-page',
    // The node serves dist/sample-web under its working directory.
    cwd: join(__dirname, '..'),
    env: { DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PER_HOUR: '1000000' },
  };
  let node: SampleNode;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const clients: RoomsClient[] = [];
  const nodeUrl = () => `http://127.0.0.1:${node.port}`;

  beforeAll(async () => {
    buildWebPages();
    node = await startSampleNode(nodeOptions);
    browser = await launchChromium();
  }, 120_000);

  afterEach(async () => {
    while (clients.length) clients.pop()?.close();
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function login(username: string): Promise<LoginResult> {
    const response = await request(nodeUrl()).post('/auth/login').send({ username }).expect(200);
    return response.body as LoginResult;
  }

  /** Another user, through the SDK in Node, straight to the node. */
  async function sdkUser(username: string): Promise<{ client: RoomsClient; user: LoginResult['user'] }> {
    const { token, user } = await login(username);
    const client = new RoomsClient({ url: nodeUrl(), token });
    clients.push(client);
    await client.connect();
    return { client, user };
  }

  function collect<K extends 'room_message' | 'direct_message'>(
    client: RoomsClient,
    event: K,
  ): Array<RoomsClientEvents[K]> {
    const seen: Array<RoomsClientEvents[K]> = [];
    client.on(event, (payload) => seen.push(payload));
    return seen;
  }

  /** Signs in and opens the rooms page, online in the lobby. */
  async function roomsPageAs(username: string, { width = 1100, baseUrl = nodeUrl() } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    // Below jest's own timeout, so that a failure names what it waited for.
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    const page = await context.newPage();
    await signInToChat(page, baseUrl, username);
    await page.goto(`${baseUrl}/rooms.html`);
    await page.locator('#connection-state', { hasText: /^online$/ }).waitFor();
    await page.locator('#conversation-title', { hasText: /^# general$/ }).waitFor();
    return page;
  }

  async function joinRoom(page: Page, room: string): Promise<void> {
    await page.fill('#join-room input[name="room"]', room);
    await page.click('#join-room button[type="submit"]');
    await page.locator('#conversation-title', { hasText: new RegExp(`^# ${room}$`) }).waitFor();
    await page.locator('#rooms li[data-conversation="room:' + room + '"]').waitFor();
  }

  /** The texts of the open conversation, top to bottom. */
  function texts(page: Page): Promise<string[]> {
    return page.locator('#messages li.message p.text').allTextContents();
  }

  /** The message ids of the open conversation, top to bottom. */
  function shownIds(page: Page): Promise<number[]> {
    return page.evaluate<number[]>(
      "[...document.querySelectorAll('#messages li.message')].map((item) => Number(item.dataset.id))",
    );
  }

  function expectIncreasing(ids: number[]): void {
    expect(ids.every((id, index) => index === 0 || id > (ids[index - 1] ?? Infinity))).toBe(true);
  }

  it('fetches older history pages as the list is scrolled up, each message once and in order', async () => {
    const seeder = await sdkUser('seeder');
    await seeder.client.joinRoom('archive');
    const seeded: string[] = [];
    for (let n = 1; n <= SEEDED; n += 1) {
      seeded.push(`seed ${n}`);
      await seeder.client.sendRoomMessage('archive', `seed ${n}`);
    }

    const page = await roomsPageAs('reader');
    await joinRoom(page, 'archive');
    await messageItem(page, `seed ${SEEDED}`).waitFor();
    await page.locator('.history-status', { hasText: 'Scroll up for older messages' }).waitFor();
    const firstPage = await texts(page);
    expect(firstPage.length).toBeLessThan(SEEDED);
    expect(firstPage).toEqual(seeded.slice(-firstPage.length));

    // A message arrives live while the history is read: it goes at the end, and the older pages
    // fetched afterwards (counted from the newest) neither skip nor repeat a message.
    await seeder.client.sendRoomMessage('archive', 'live 1');
    await messageItem(page, 'live 1').waitFor();
    const expected = [...seeded, 'live 1'];
    let shown = firstPage.length + 1;
    let scrolls = 0;
    while (shown < expected.length) {
      await page.evaluate("document.getElementById('messages').scrollTop = 0");
      await page.waitForFunction(`document.querySelectorAll('#messages li.message').length > ${shown}`);
      shown = await page.locator('#messages li.message').count();
      expect(await texts(page)).toEqual(expected.slice(-shown));
      scrolls += 1;
    }
    expect(scrolls).toBeGreaterThanOrEqual(2);
    await page.locator('.history-status', { hasText: 'Start of the conversation' }).waitFor();
    expect(await texts(page)).toEqual(expected);
    expectIncreasing(await shownIds(page));
    await saveScreenshot(page, 'rooms-history');
  }, 90_000);

  it('exchanges direct messages both ways: with a user who writes first, and with one opened by id', async () => {
    const page = await roomsPageAs('alice');
    const aliceId = (await page.textContent('#my-id')) ?? '';
    expect(aliceId).not.toBe('');

    // Bob, whom Alice never talked to, writes first: the conversation appears, with one unread.
    const bob = await sdkUser('bob');
    const atBob = collect(bob.client, 'direct_message');
    await bob.client.sendDirectMessage(aliceId, 'Hi alice, it is bob');
    const bobEntry = page.locator(`#direct li[data-conversation="dm:${bob.user.id}"]`);
    await bobEntry.locator('.badge', { hasText: /^1$/ }).waitFor();
    expect(await bobEntry.locator('button').textContent()).toBe('bob');
    await bobEntry.locator('button').click();
    await page.locator('#conversation-title', { hasText: /^@ bob$/ }).waitFor();
    await messageItem(page, 'Hi alice, it is bob').waitFor();
    expect(await bobEntry.locator('.badge').count()).toBe(0);
    await send(page, 'Hello bob');
    await messageItem(page, 'Hello bob').and(page.locator('.mine')).waitFor();
    await waitUntil(() => atBob.some((m) => m.content === 'Hello bob' && String(m.from_user_id) === aliceId));
    // The live message and the history page fetched on opening: each shown once.
    expect(await texts(page)).toEqual(['Hi alice, it is bob', 'Hello bob']);

    // A conversation opened by user id: named by id until the other user's name is known.
    const carol = await sdkUser('carol');
    const atCarol = collect(carol.client, 'direct_message');
    await page.fill('#open-direct input[name="user"]', carol.user.id);
    await page.click('#open-direct button[type="submit"]');
    await page.locator('#conversation-title', { hasText: `@ user ${carol.user.id}` }).waitFor();
    await page.locator('.history-status', { hasText: 'Start of the conversation' }).waitFor();
    await send(page, 'Hello carol');
    await waitUntil(() => atCarol.some((m) => m.content === 'Hello carol'));
    await carol.client.sendDirectMessage(aliceId, 'Hi alice');
    await messageItem(page, 'Hi alice').waitFor();
    await page.locator('#conversation-title', { hasText: /^@ carol$/ }).waitFor();
    expect(await texts(page)).toEqual(['Hello carol', 'Hi alice']);
    expect(await page.locator('#direct li').allTextContents()).toEqual(['bob', 'carol']);
    await saveScreenshot(page, 'rooms-direct-messages');
  }, 90_000);

  it('shows an image and an audio message as media, a reaction on its message, and sends one', async () => {
    const page = await roomsPageAs('viewer');
    await joinRoom(page, 'media');
    const poster = await sdkUser('poster');
    await poster.client.joinRoom('media');
    const atPoster = collect(poster.client, 'room_message');
    const image = await poster.client.sendRoomMessage('media', 'A cat', {
      message_type: 'image',
      media_url: '/media/cat.png',
      media_type: 'image/png',
    });
    const audio = await poster.client.sendRoomMessage('media', 'Hello', {
      message_type: 'audio',
      media_url: '/media/hello.ogg',
      duration: 3.5,
    });
    await poster.client.sendRoomMessage('media', '🎉', { message_type: 'reaction', reply_to: image.id });

    const imageItem = page.locator(`#messages li.message[data-id="${image.id}"]`);
    const picture = imageItem.locator('img.media');
    await picture.waitFor({ state: 'attached' });
    expect(await picture.getAttribute('src')).toBe(`${nodeUrl()}/media/cat.png`);
    expect(await picture.getAttribute('alt')).toBe('A cat');
    await imageItem.locator('.reaction', { hasText: /^🎉 1$/ }).waitFor();
    expect(await imageItem.locator('.reaction').getAttribute('title')).toBe('poster');

    const audioItem = page.locator(`#messages li.message[data-id="${audio.id}"]`);
    const sound = audioItem.locator('audio.media');
    await sound.waitFor({ state: 'attached' });
    expect(await sound.getAttribute('src')).toBe(`${nodeUrl()}/media/hello.ogg`);
    expect(await sound.getAttribute('controls')).not.toBeNull();
    expect(await audioItem.locator('.duration').textContent()).toBe('3.5 s');
    // The reaction is shown on its message, not as a message of its own.
    expect(await page.locator('#messages li.message').count()).toBe(2);

    // The viewer reacts to the audio message: the chip appears when the server's copy comes back.
    await audioItem.locator('button.react').click();
    await audioItem.locator('.reaction', { hasText: /^👍 1$/ }).waitFor();
    expect(await audioItem.locator('.reaction').getAttribute('title')).toBe('viewer');
    await waitUntil(() =>
      atPoster.some(
        (m) => m.message_type === 'reaction' && m.reply_to === audio.id && m.username === 'viewer',
      ),
    );
    expect(await page.locator('#messages li.message').count()).toBe(2);
    await saveScreenshot(page, 'rooms-media');
  }, 60_000);

  it('shows HTML in messages, captions and direct messages as text, and no dialog opens', async () => {
    const page = await roomsPageAs('victim');
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const victimId = (await page.textContent('#my-id')) ?? '';
    await joinRoom(page, 'html');
    const mallory = await sdkUser('mallory');
    await mallory.client.joinRoom('html');
    const attacks = ['<img src=x onerror=alert(1)>', '<script>alert(2)</script>'];
    await mallory.client.sendRoomMessage('html', attacks[0] ?? '');
    await mallory.client.sendRoomMessage('html', attacks[1] ?? '', {
      message_type: 'image',
      media_url: '/media/x.png',
      media_type: 'image/png',
    });
    await send(page, '<svg onload=alert(3)>');
    for (const text of [...attacks, '<svg onload=alert(3)>']) await messageItem(page, text).waitFor();
    expect(await texts(page)).toEqual([...attacks, '<svg onload=alert(3)>']);
    // Parsed as HTML, these would be elements: only the image message's own <img> is.
    expect(await page.locator('#messages img').count()).toBe(1);
    expect(await page.locator('#messages img.media').getAttribute('alt')).toBe(attacks[1]);
    expect(await page.locator('#messages script, #messages svg').count()).toBe(0);
    // A path a browser reads as another host (evil.example) is refused by the server.
    await expect(
      mallory.client.sendRoomMessage('html', 'Elsewhere', {
        message_type: 'image',
        media_url: '/\\evil.example/x.png',
        media_type: 'image/png',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_FORMAT', details: { field: 'media_url' } });
    expect(await page.locator('#messages img').count()).toBe(1);

    await mallory.client.sendDirectMessage(victimId, '<b onmouseover=alert(4)>bold</b>');
    await page.locator(`#direct li[data-conversation="dm:${mallory.user.id}"] button`).click();
    await messageItem(page, '<b onmouseover=alert(4)>bold</b>').waitFor();
    expect(await page.locator('#messages b').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await saveScreenshot(page, 'rooms-html-as-text');
  }, 60_000);

  it('fits a 375 px wide screen without scrolling sideways', async () => {
    const room = 'a-room-with-quite-a-long-name-too';
    const page = await roomsPageAs('a-long-name-on-a-phone-screen', { width: 375 });
    await joinRoom(page, room);
    const poster = await sdkUser('phone-poster');
    await poster.client.joinRoom(room);
    await poster.client.sendRoomMessage(room, 'A picture', {
      message_type: 'image',
      media_url: '/media/wide.png',
      media_type: 'image/png',
    });
    await poster.client.sendRoomMessage(room, 'A voice note', {
      message_type: 'audio',
      media_url: '/media/voice.ogg',
      duration: 12,
    });
    const long = `${'long-unbroken-word-'.repeat(9)}end`;
    await send(page, long);
    await messageItem(page, long).waitFor();
    await page.locator('#messages audio.media').waitFor({ state: 'attached' });
    expect(await scrollsSideways(page)).toBe(false);
    await saveScreenshot(page, 'rooms-375px');
  }, 60_000);

  it('shows "reconnecting" while the server restarts, then what another client posted meanwhile, once each and in order', async () => {
    // The page reaches the node through the gate, so that it comes back only after the posts below.
    const gate = await openGate(node.port);
    try {
      const page = await roomsPageAs('ana', { baseUrl: gate.url });
      await joinRoom(page, OPS);
      const ben = await sdkUser('ben');
      await ben.client.joinRoom(OPS);
      await ben.client.sendRoomMessage(OPS, 'before the restart');
      await messageItem(page, 'before the restart').waitFor();

      gate.shut();
      ben.client.close();
      await node.stop();
      await page.locator('#connection-state', { hasText: /^reconnecting$/ }).waitFor();
      // Same port, same DATA_DIR: the same database.
      node = await startSampleNode({ ...nodeOptions, port: node.port });
      const benAgain = await sdkUser('ben');
      await benAgain.client.joinRoom(OPS);
      const missed = ['missed 1', 'missed 2', 'missed 3'];
      for (const text of missed) await benAgain.client.sendRoomMessage(OPS, text);
      expect(await page.textContent('#connection-state')).toBe('reconnecting');
      expect(await texts(page)).toEqual(['before the restart']);

      gate.reopen();
      // The next attempt of the SDK's backoff (at most 15 s apart by default).
      await page.locator('#connection-state', { hasText: /^online$/ }).waitFor({ timeout: 45_000 });
      await page.locator('#sync-note', { hasText: ': 3 missed messages caught up.' }).waitFor();
      expect(await texts(page)).toEqual(['before the restart', ...missed]);
      expectIncreasing(await shownIds(page));

      // Live both ways on the restarted server.
      const atBen = collect(benAgain.client, 'room_message');
      await benAgain.client.sendRoomMessage(OPS, 'after the restart');
      await messageItem(page, 'after the restart').waitFor();
      await send(page, 'ana is back');
      await waitUntil(() => atBen.some((m) => m.content === 'ana is back' && m.username === 'ana'));
      await messageItem(page, 'ana is back').waitFor();
      expect(await texts(page)).toEqual([
        'before the restart',
        ...missed,
        'after the restart',
        'ana is back',
      ]);
      expectIncreasing(await shownIds(page));
      await saveScreenshot(page, 'rooms-after-restart');
    } finally {
      await gate.close();
    }
  }, 150_000);
});
