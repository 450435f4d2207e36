// Seed 001 against the real sample app: room messages, typing, presence, errors, rate limits,
// recovery after a brief drop, and the seed's own ChatClient.
import type { Socket } from 'socket.io-client';
import {
  MessagesService,
  RoomDirectory,
  type ChatMessage,
  type OnlineUsersPayload,
  type RealtimeErrorPayload,
  type UserStatusPayload,
  type UserTypingPayload,
} from 'nest-realtime';
// Internal: the spec checks that no packet is encoded for a room no Socket.IO client is in.
import { SocketIoServerRef } from 'nest-realtime/core/transport/socket-io-server.ref';
import { ChatClient } from './fixtures/seed-chat-client';
import { connectIo, nextEvent, recordEvents } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

type Ack = { id: string } | { error: RealtimeErrorPayload };

/** The seed's class is untyped JavaScript: this is the surface the spec uses. */
interface SeedChatClient {
  socket: Socket;
  sendMessage(message: string, context?: Record<string, unknown>): void;
  setTyping(isTyping: boolean): void;
  disconnect(): void;
}

describe('Socket.IO chat (seed 001)', () => {
  let sample: RunningSample;
  const sockets: Socket[] = [];
  let userSeq = 0;

  async function user(prefix = 'user'): Promise<{ id: string; username: string; token: string }> {
    userSeq += 1;
    const login = await sample.login(`${prefix}${userSeq}`);
    return { id: login.user.id, username: login.user.username, token: login.token };
  }

  async function open(token: string, extra: Record<string, unknown> = {}): Promise<Socket> {
    const socket = await connectIo(sample.url, { token }, extra);
    sockets.push(socket);
    return socket;
  }

  function send(socket: Socket, message: unknown, context?: Record<string, unknown>): Promise<Ack> {
    return socket
      .timeout(5000)
      .emitWithAck('message', context === undefined ? { message } : { message, context }) as Promise<Ack>;
  }

  /** Resolves with the first `message` whose text matches. */
  function messageWith(socket: Socket, text: string): Promise<ChatMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message "${text}"`)), 5000);
      const handler = (message: ChatMessage) => {
        if (message.message !== text) return;
        clearTimeout(timer);
        socket.off('message', handler);
        resolve(message);
      };
      socket.on('message', handler);
    });
  }

  beforeAll(async () => {
    sample = await startSample({
      overrides: {
        chat: { typingTimeoutMs: 300 },
        limits: { maxMessageLength: 200, rateLimit: { perMinute: 5, perHour: 50 } },
        rooms: { initial: [{ name: 'general' }, { name: 'lobby-a' }, { name: 'lobby-b' }] },
      },
    });
    await sample.app.get(RoomDirectory).create({ name: 'staff', isPrivate: true });
  });

  afterEach(() => {
    while (sockets.length) sockets.pop()?.close();
  });

  afterAll(async () => {
    await sample.close();
  });

  it('delivers a room message to the members of that room, stored first, and nothing to another room', async () => {
    const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')];
    const a = await open(alice.token);
    const b = await open(bob.token);
    const c = await open(carol.token);
    await b.timeout(5000).emitWithAck('join', { roomId: 'lobby-a' });
    await send(c, 'carol elsewhere', { roomId: 'lobby-b' });
    const carolSeen = recordEvents(c);

    const atBob = messageWith(b, 'hello room');
    const ack = await send(a, 'hello room', { roomId: 'lobby-a', client: 'web' });
    expect(ack).toEqual({ id: expect.stringMatching(/^\d+$/) });
    const message = await atBob;
    expect(message).toEqual({
      id: (ack as { id: string }).id,
      message: 'hello room',
      timestamp: expect.any(String),
      context: { roomId: 'lobby-a', client: 'web' },
      userId: alice.id,
      username: alice.username,
    });
    expect(new Date(message.timestamp).toISOString()).toBe(message.timestamp);

    const reply = messageWith(a, 'hi alice');
    const replyAck = await send(b, 'hi alice', { roomId: 'lobby-a', replyTo: message.id });
    expect((await reply).context).toEqual({ roomId: 'lobby-a', replyTo: message.id });
    expect(replyAck).toHaveProperty('id');

    // The one store: the rooms protocol's history of lobby-a holds both messages, in order.
    const history = await sample.app
      .get(MessagesService)
      .roomHistory({ ...(await idOf(alice)), isAdmin: false }, 'lobby-a', { limit: 10, offset: 0 });
    expect(history.messages.map((m) => m.content)).toEqual(['hello room', 'hi alice']);

    // Carol (in lobby-b) got nothing of lobby-a: her own next message arrives after them in order.
    const own = messageWith(c, 'carol barrier');
    await send(c, 'carol barrier', { roomId: 'lobby-b' });
    await own;
    expect(
      carolSeen.filter((e) => e.event === 'message').map((e) => (e.payload as ChatMessage).message),
    ).toEqual(['carol barrier']);
  });

  it('sends a message without roomId to every chat client (the lobby room)', async () => {
    const [dan, erin] = [await user('dan'), await user('erin')];
    const d = await open(dan.token);
    const e = await open(erin.token);
    const atErin = messageWith(e, 'hello everyone');
    await send(d, 'hello everyone');
    expect((await atErin).context).toEqual({ roomId: 'general' });
  });

  it('shows typing to the others and never to the sender, and expires a true left alone', async () => {
    const [fay, gus] = [await user('fay'), await user('gus')];
    const f1 = await open(fay.token);
    const f2 = await open(fay.token);
    const g = await open(gus.token);
    const faySeen = [...recordEvents(f1), ...recordEvents(f2)];
    const faySeen2 = recordEvents(f2);

    const started = nextEvent<UserTypingPayload>(g, 'userTyping');
    f1.emit('typing', true);
    expect(await started).toEqual({ userId: fay.id, username: fay.username, isTyping: true });
    const stopped = nextEvent<UserTypingPayload>(g, 'userTyping');
    f1.emit('typing', false);
    expect(await stopped).toEqual({ userId: fay.id, username: fay.username, isTyping: false });

    const again = nextEvent<UserTypingPayload>(g, 'userTyping');
    f1.emit('typing', true);
    expect((await again).isTyping).toBe(true);
    const t0 = Date.now();
    const expired = await nextEvent<UserTypingPayload>(g, 'userTyping', 3000);
    expect(expired).toEqual({ userId: fay.id, username: fay.username, isTyping: false });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);

    // Gus typing reaches fay's tabs; fay never received her own indicator.
    const atFay = nextEvent<UserTypingPayload>(f2, 'userTyping');
    g.emit('typing', true);
    expect((await atFay).userId).toBe(gus.id);
    expect(
      [...faySeen, ...faySeen2].filter(
        (e) => e.event === 'userTyping' && (e.payload as UserTypingPayload).userId === fay.id,
      ),
    ).toEqual([]);
  });

  it('emits one presence per user: a second tab says nothing, the last tab closing says offline with lastSeen', async () => {
    const [hal, ivy] = [await user('hal'), await user('ivy')];
    const watcher = await open(ivy.token);
    const statuses: UserStatusPayload[] = [];
    watcher.on('userStatus', (status: UserStatusPayload) => {
      if (status.userId === hal.id) statuses.push(status);
    });

    const online = nextEvent<UserStatusPayload>(watcher, 'userStatus');
    const tab1 = await open(hal.token);
    expect(await online).toEqual({ userId: hal.id, username: hal.username, isOnline: true });
    const tab2 = await open(hal.token);

    const list = (await watcher.timeout(5000).emitWithAck('onlineUsers')) as OnlineUsersPayload;
    expect(list.users).toContainEqual({ userId: hal.id, username: hal.username, isOnline: true });

    tab1.close();
    const offline = new Promise<UserStatusPayload>((resolve) =>
      watcher.on(
        'userStatus',
        (status: UserStatusPayload) => status.userId === hal.id && !status.isOnline && resolve(status),
      ),
    );
    tab2.close();
    const status = await offline;
    expect(status).toEqual({
      userId: hal.id,
      username: hal.username,
      isOnline: false,
      lastSeen: expect.any(String),
    });
    // tab2 opening and tab1 closing emitted nothing: only online, then offline.
    expect(statuses.map((s) => s.isOnline)).toEqual([true, false]);

    // A client connecting later learns hal's lastSeen.
    const later = await open((await user('late')).token);
    const seen = (await later.timeout(5000).emitWithAck('onlineUsers')) as OnlineUsersPayload;
    expect(seen.users).toContainEqual({
      userId: hal.id,
      username: hal.username,
      isOnline: false,
      lastSeen: status.lastSeen,
    });
  });

  describe('errors answer `error` with a code, acknowledge `{ error }`, and keep the connection usable', () => {
    it.each([
      ['a message that is not a string', { message: 42 }, 'INVALID_FORMAT', { field: 'message' }],
      ['an empty message', { message: '   ' }, 'INVALID_FORMAT', { field: 'content' }],
      [
        'a message over the maximum',
        { message: 'x'.repeat(201) },
        'MESSAGE_TOO_LONG',
        { max_length: 200, length: 201 },
      ],
      [
        'an unknown reply target',
        { message: 'hm', context: { replyTo: '999999' } },
        'INVALID_FORMAT',
        { field: 'reply_to' },
      ],
      [
        'a reply target that is not an id',
        { message: 'hm', context: { replyTo: 'abc' } },
        'INVALID_FORMAT',
        { field: 'context.replyTo' },
      ],
      [
        'a room id outside the room-name rule',
        { message: 'hm', context: { roomId: 'no spaces' } },
        'INVALID_FORMAT',
        { field: 'context.roomId' },
      ],
      [
        'a private room of others',
        { message: 'hm', context: { roomId: 'staff' } },
        'PERMISSION_DENIED',
        { room: 'staff' },
      ],
      [
        'a context that is not an object',
        { message: 'hm', context: 'general' },
        'INVALID_FORMAT',
        { field: 'context' },
      ],
    ])('%s', async (_name, payload, code, details) => {
      const someone = await user('err');
      const socket = await open(someone.token);
      const errorEvent = nextEvent<RealtimeErrorPayload>(socket, 'error');
      const ack = (await socket.timeout(5000).emitWithAck('message', payload)) as Ack;
      expect(ack).toEqual({
        error: { code, message: expect.any(String), details: expect.objectContaining(details) },
      });
      expect(await errorEvent).toEqual((ack as { error: RealtimeErrorPayload }).error);
      const ok = await send(socket, 'still usable');
      expect(ok).toHaveProperty('id');
    });

    it('typing with something other than a boolean', async () => {
      const socket = await open((await user('typ')).token);
      const errorEvent = nextEvent<RealtimeErrorPayload>(socket, 'error');
      socket.emit('typing', 'yes');
      expect(await errorEvent).toMatchObject({ code: 'INVALID_FORMAT', details: { field: 'typing' } });
      expect(await send(socket, 'still usable')).toHaveProperty('id');
    });

    it('join of a private room by a non-member', async () => {
      const socket = await open((await user('join')).token);
      const ack = (await socket.timeout(5000).emitWithAck('join', { roomId: 'staff' })) as {
        error: RealtimeErrorPayload;
      };
      expect(ack.error.code).toBe('PERMISSION_DENIED');
    });
  });

  it('refuses the message past the rate limit with RATE_LIMITED: not stored, not delivered', async () => {
    const [spammer, reader] = [await user('spam'), await user('reader')];
    const s = await open(spammer.token);
    const r = await open(reader.token);
    await r.timeout(5000).emitWithAck('join', { roomId: 'lobby-b' });
    const readerSeen = recordEvents(r);
    for (let i = 1; i <= 5; i += 1)
      expect(await send(s, `m${i}`, { roomId: 'lobby-b' })).toHaveProperty('id');
    const refused = (await send(s, 'm6', { roomId: 'lobby-b' })) as { error: RealtimeErrorPayload };
    expect(refused.error.code).toBe('RATE_LIMITED');
    expect(refused.error.details.retry_after_ms).toBeGreaterThan(0);
    expect(refused.error.details.retry_after_ms).toBeLessThanOrEqual(60_000);

    const history = await sample.app.get(MessagesService).roomHistory(
      {
        userId: reader.id,
        username: reader.username,
        roles: [],
        isAdmin: false,
        appId: null,
        page: null,
        expiresAt: null,
      },
      'lobby-b',
      { limit: 100, offset: 0 },
    );
    expect(history.messages.map((m) => m.content)).not.toContain('m6');
    const marker = messageWith(r, 'reader marker');
    await send(r, 'reader marker', { roomId: 'lobby-b' });
    await marker;
    const delivered = readerSeen
      .filter((e) => e.event === 'message')
      .map((e) => (e.payload as ChatMessage).message);
    expect(delivered).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'reader marker']);
  });

  it('gives a client that dropped briefly the messages it missed, once, on reconnect', async () => {
    const [jon, kay] = [await user('jon'), await user('kay')];
    const j = await open(jon.token, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
    const k = await open(kay.token);
    await j.timeout(5000).emitWithAck('join', { roomId: 'lobby-a' });
    await k.timeout(5000).emitWithAck('join', { roomId: 'lobby-a' });
    const received: string[] = [];
    j.on('message', (m: ChatMessage) => received.push(m.message));
    const before = messageWith(j, 'before drop');
    await send(k, 'before drop', { roomId: 'lobby-a' });
    await before;

    const reconnected = new Promise<void>((resolve) => j.io.once('reconnect', () => resolve()));
    j.io.engine.close(); // the transport closes, as on a network drop: not a clean disconnect
    await send(k, 'missed 1', { roomId: 'lobby-a' });
    await send(k, 'missed 2', { roomId: 'lobby-a' });
    await reconnected;
    const after = messageWith(j, 'after reconnect');
    await send(k, 'after reconnect', { roomId: 'lobby-a' });
    await after;
    expect(j.recovered).toBe(true);
    expect(received).toEqual(['before drop', 'missed 1', 'missed 2', 'after reconnect']);
  });

  /** Posts as the raw ws gateway does: through MessagesService, with no Socket.IO sender in the room. */
  function postServerSide(sender: { id: string; username: string }, room: string, content: string) {
    return sample.app.get(MessagesService).postToRoom(
      {
        userId: sender.id,
        username: sender.username,
        roles: [],
        isAdmin: false,
        appId: null,
        page: null,
        expiresAt: null,
      },
      room,
      { content },
    );
  }

  it('replays a message to the lone socket of a room that dropped, when it recovers', async () => {
    const [lea, poster] = [await user('lea'), await user('poster')];
    const l = await open(lea.token, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
    await l.timeout(5000).emitWithAck('join', { roomId: 'lobby-b' });
    const received: string[] = [];
    l.on('message', (m: ChatMessage) => received.push(m.message));
    // Recovery resumes from the offset of the last broadcast the client received.
    const before = messageWith(l, 'before');
    await postServerSide(poster, 'lobby-b', 'before');
    await before;
    const reconnected = new Promise<void>((resolve) => l.once('connect', () => resolve()));
    l.io.engine.close(); // the room has no socket left on the server while the message is posted
    await new Promise((resolve) => setTimeout(resolve, 20));
    await postServerSide(poster, 'lobby-b', 'while away');
    await reconnected;
    expect(l.recovered).toBe(true);
    const after = messageWith(l, 'back');
    await postServerSide(poster, 'lobby-b', 'back');
    await after;
    expect(received).toEqual(['before', 'while away', 'back']);
  });

  it('emits no Socket.IO packet for a room message when no Socket.IO client is or was in the room', async () => {
    const server = sample.app.get(SocketIoServerRef).get()!;
    const poster = await user('rawposter');
    const to = jest.spyOn(server, 'to');
    try {
      await postServerSide(poster, '123', 'nobody listens here over Socket.IO');
      expect(to).not.toHaveBeenCalledWith('rt:room:123');
      const listener = await open((await user('late')).token);
      await listener.timeout(5000).emitWithAck('join', { roomId: '123' });
      const heard = messageWith(listener, 'now someone does');
      await postServerSide(poster, '123', 'now someone does');
      await heard;
      expect(to).toHaveBeenCalledWith('rt:room:123');
    } finally {
      to.mockRestore();
    }
  });

  it("works with the seed's ChatClient class as written", async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const mia = await user('mia');
    const listener = await open((await user('ned')).token);
    await listener.timeout(5000).emitWithAck('join', { roomId: '123' });
    const chat = new ChatClient(sample.url, mia.token) as unknown as SeedChatClient;
    try {
      await new Promise<void>((resolve) => chat.socket.once('connect', () => resolve()));
      expect(log).toHaveBeenCalledWith('Connecté au serveur');
      const atListener = messageWith(listener, 'Bonjour !');
      const own = new Promise<ChatMessage>((resolve) => chat.socket.once('message', resolve));
      chat.sendMessage('Bonjour !', { roomId: '123' });
      const received = await atListener;
      expect(received).toMatchObject({ message: 'Bonjour !', userId: mia.id, context: { roomId: '123' } });
      await own;
      expect(log).toHaveBeenCalledWith('Nouveau message:', expect.objectContaining({ message: 'Bonjour !' }));

      const typing = nextEvent<UserTypingPayload>(listener, 'userTyping');
      chat.setTyping(true);
      expect(await typing).toEqual({ userId: mia.id, username: mia.username, isTyping: true });
      expect(error).not.toHaveBeenCalled();
    } finally {
      chat.disconnect();
      log.mockRestore();
      error.mockRestore();
    }
  });

  async function idOf(u: { id: string; username: string }) {
    return { userId: u.id, username: u.username, roles: [], appId: null, page: null, expiresAt: null };
  }
});
