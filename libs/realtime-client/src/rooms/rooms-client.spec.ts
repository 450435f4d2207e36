// RoomsClient over a scripted WebSocket with fake timers: the pong that proves authentication, the
// heartbeat that detects a dead connection, and the catch-up that merges history with live frames
// (each message once, in id order), direct conversations with peers it never talked to included; and
// request ids (ref): each answer settles the request whose ref it echoes, two tabs of one user sending
// the same text included, while a server that echoes none is still understood by content.
import type { DirectMessagePayload, HistoryMessage, RoomMessagePayload } from 'nest-realtime/protocol';
import { fakeWebSocketClass, lastSocket, type FakeWebSocket } from '../websocket/fake-websocket.helper-spec';
import { REQUEST_REF } from 'nest-realtime/protocol';
import { RoomsClient } from './rooms-client';
import { tokenExpiringIn, unsignedToken } from '../connection/unsigned-token.helper-spec';

const TS = '2026-01-01T00:00:00.000Z';
// A readable unsigned JWT whose `sub` is 7 (the server verifies tokens, the client only reads them).
const TOKEN = unsignedToken({ sub: '7' });

function roomMessage(id: number, content: string, userId = 9): RoomMessagePayload {
  return {
    id,
    room: 'general',
    user_id: userId,
    username: `u${userId}`,
    content,
    message_type: 'text',
    created_at: TS,
  };
}

function historyMessage(id: number, content: string, from: number, to: number): HistoryMessage {
  return {
    id,
    user_id: from,
    username: `u${from}`,
    to_user_id: to,
    content,
    message_type: 'text',
    created_at: TS,
  };
}

/** A frame the client sent. */
interface SentFrame {
  type: string;
  data?: unknown;
  ref?: string;
}

function sentFrames(socket: FakeWebSocket): SentFrame[] {
  return socket.sent.map((text) => JSON.parse(text) as SentFrame);
}

function lastSentFrame(socket: FakeWebSocket): SentFrame {
  const frame = sentFrames(socket).at(-1);
  if (!frame) throw new Error('the client sent nothing');
  return frame;
}

/** The last frame the client sent, without its ref (for the specs where the server echoes none). */
function lastSent(socket: FakeWebSocket): SentFrame {
  const { ref: _ref, ...frame } = lastSentFrame(socket);
  return frame;
}

/** The ref of the last frame the client sent; fails the spec if it has none. */
function lastRef(socket: FakeWebSocket): string {
  const { ref } = lastSentFrame(socket);
  if (ref === undefined) throw new Error('the last frame has no ref');
  return ref;
}

function directMessage(id: number, content: string, from: number, to: number): DirectMessagePayload {
  return {
    id,
    from_user_id: from,
    from_username: `u${from}`,
    to_user_id: to,
    content,
    message_type: 'text',
    created_at: TS,
  };
}

describe('RoomsClient (scripted server)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function setup() {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const client = new RoomsClient({
      url: 'http://127.0.0.1:3000',
      token: TOKEN,
      webSocket: WebSocket,
      heartbeat: { intervalMs: 30000, timeoutMs: 10000 },
      reconnection: { reconnectDelay: 100, jitter: 0 },
    });
    return { client, sockets };
  }

  /** Opens the socket and answers the opening ping: the token is accepted. */
  async function accept(socket: FakeWebSocket): Promise<void> {
    socket.serverOpen();
    expect(lastSent(socket)).toEqual({ type: 'ping', data: {} });
    socket.serverSend({ type: 'pong', data: { timestamp: TS }, timestamp: TS });
    await jest.advanceTimersByTimeAsync(0);
  }

  /** First connection: accepted, and the newest direct message of the user so far is `newestDm`. */
  async function acceptFirst(socket: FakeWebSocket, newestDm?: { with_user: number; last_id: number }) {
    await accept(socket);
    expect(lastSent(socket)).toEqual({ type: 'dm_conversations', data: {} });
    socket.serverSend({
      type: 'dm_conversations',
      data: { conversations: newestDm ? [newestDm] : [], has_more: false },
      timestamp: TS,
    });
    await jest.advanceTimersByTimeAsync(0);
  }

  it('connects to /ws/chat with the token in the query and is AUTHENTICATING until the first pong', async () => {
    const { client, sockets } = setup();
    const connected = client.connect();
    const socket = lastSocket(sockets);
    expect(socket.url).toBe(`ws://127.0.0.1:3000/ws/chat?token=${encodeURIComponent(TOKEN)}`);
    socket.serverOpen();
    expect(client.state).toBe('AUTHENTICATING');
    socket.serverSend({ type: 'pong', data: { timestamp: TS } });
    await jest.advanceTimersByTimeAsync(0);
    // Synchronising: the newest direct conversation sets the watermark of a later catch-up.
    expect(client.state).toBe('CONNECTED');
    expect(lastSent(socket)).toEqual({ type: 'dm_conversations', data: {} });
    socket.serverSend({ type: 'dm_conversations', data: { conversations: [], has_more: false } });
    await connected;
    expect(client.state).toBe('ACTIVE');
    expect(client.userId).toBe('7');
    client.close();
  });

  it('treats a missing pong as a dead connection: RECONNECTING, then a new socket', async () => {
    const { client, sockets } = setup();
    const connected = client.connect();
    await acceptFirst(lastSocket(sockets));
    await connected;
    await jest.advanceTimersByTimeAsync(30000);
    expect(lastSentFrame(lastSocket(sockets))).toEqual({ type: 'ping', data: {} });
    await jest.advanceTimersByTimeAsync(9999);
    expect(client.state).toBe('ACTIVE');
    await jest.advanceTimersByTimeAsync(1);
    expect(client.state).toBe('RECONNECTING');
    await jest.advanceTimersByTimeAsync(100);
    expect(sockets).toHaveLength(2);
    client.close();
  });

  it('on reconnection merges history and live frames: each message once, in id order', async () => {
    const { client, sockets } = setup();
    const received: number[] = [];
    client.on('room_message', (message) => received.push(message.id));
    const connected = client.connect();
    const first = lastSocket(sockets);
    await acceptFirst(first);
    await connected;

    const joined = client.joinRoom('general');
    first.serverSend({ type: 'join_room_ack', data: { room: 'general', success: true, message: 'Joined' } });
    await jest.advanceTimersByTimeAsync(0);
    expect(lastSent(first)).toEqual({ type: 'room_history', data: { room: 'general', limit: 1 } });
    first.serverSend({
      type: 'message_history',
      data: { room: 'general', messages: [], total: 0, has_more: false },
    });
    await joined;
    first.serverSend({ type: 'room_message', data: roomMessage(10, 'live 10') });
    first.serverClose(1006);
    expect(client.state).toBe('RECONNECTING');

    await jest.advanceTimersByTimeAsync(100);
    const second = lastSocket(sockets);
    await accept(second);
    expect(client.state).toBe('CONNECTED');
    expect(lastSent(second)).toEqual({ type: 'join_room', data: { room: 'general' } });
    second.serverSend({ type: 'join_room_ack', data: { room: 'general', success: true, message: 'Joined' } });
    // A live message overtakes the catch-up; it must come out after 11 and 12, and once.
    second.serverSend({ type: 'room_message', data: roomMessage(13, 'live 13') });
    await jest.advanceTimersByTimeAsync(0);
    expect(lastSent(second)).toEqual({
      type: 'room_history',
      data: { room: 'general', after_id: 10, limit: 50 },
    });
    second.serverSend({
      type: 'message_history',
      data: {
        room: 'general',
        messages: [roomMessage(11, 'missed 11'), roomMessage(12, 'missed 12'), roomMessage(13, 'live 13')],
        total: 4,
        has_more: false,
      },
    });
    await jest.advanceTimersByTimeAsync(0);
    // Direct conversations with messages after the newest id seen before the drop.
    expect(lastSent(second)).toEqual({ type: 'dm_conversations', data: { after_id: 10 } });
    second.serverSend({ type: 'dm_conversations', data: { conversations: [], has_more: false } });
    await jest.advanceTimersByTimeAsync(0);
    expect(client.state).toBe('ACTIVE');
    second.serverSend({ type: 'room_message', data: roomMessage(12, 'duplicate of 12') });
    second.serverSend({ type: 'room_message', data: roomMessage(14, 'live 14') });
    expect(received).toEqual([10, 11, 12, 13, 14]);
    client.close();
  });

  it('on reconnection catches up direct conversations with peers it never talked to, each message once', async () => {
    const { client, sockets } = setup();
    const received: number[] = [];
    client.on('direct_message', (message) => received.push(message.id));
    const reports: unknown[] = [];
    client.onSyncComplete((report) => reports.push(report));
    const connected = client.connect();
    const first = lastSocket(sockets);
    // User 7 already had a conversation whose newest message is 20: older direct messages are not "missed".
    await acceptFirst(first, { with_user: 5, last_id: 20 });
    await connected;
    first.serverSend({ type: 'direct_message', data: directMessage(21, 'live 21', 8, 7) });
    first.serverClose(1006);

    await jest.advanceTimersByTimeAsync(100);
    const second = lastSocket(sockets);
    await accept(second);
    expect(lastSent(second)).toEqual({ type: 'dm_conversations', data: { after_id: 21 } });
    // A live message from a new peer overtakes the catch-up.
    second.serverSend({ type: 'direct_message', data: directMessage(31, 'live 31', 9, 7) });
    second.serverSend({
      type: 'dm_conversations',
      data: {
        conversations: [
          { with_user: 9, last_id: 31 },
          { with_user: 8, last_id: 25 },
        ],
        has_more: true,
      },
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(lastSent(second)).toEqual({
      type: 'dm_conversations',
      data: { after_id: 21, before_id: 25 },
    });
    second.serverSend({
      type: 'dm_conversations',
      data: { conversations: [{ with_user: 'bot', last_id: 23 }], has_more: false },
    });
    await jest.advanceTimersByTimeAsync(0);

    // The known peer from its own watermark, then each new peer from the newest id seen before the drop.
    const histories: Array<[object, HistoryMessage[]]> = [
      [
        { with_user: '8', after_id: 21, limit: 50 },
        [historyMessage(22, 'missed 22', 8, 7), historyMessage(25, 'missed 25', 7, 8)],
      ],
      [
        { with_user: 9, after_id: 21, limit: 50 },
        [historyMessage(24, 'missed 24', 9, 7), historyMessage(31, 'live 31', 9, 7)],
      ],
      [{ with_user: 'bot', after_id: 21, limit: 50 }, [historyMessage(23, 'missed 23', 0, 7)]],
    ];
    for (const [request, messages] of histories) {
      expect(lastSent(second)).toEqual({ type: 'dm_history', data: request });
      const withUser = (request as { with_user: number | string }).with_user;
      second.serverSend({
        type: 'message_history',
        data: { with_user: withUser, messages, total: messages.length, has_more: false },
      });
      await jest.advanceTimersByTimeAsync(0);
    }
    expect(client.state).toBe('ACTIVE');
    second.serverSend({ type: 'direct_message', data: directMessage(24, 'duplicate of 24', 9, 7) });
    expect(received).toEqual([21, 22, 25, 24, 31, 23]);
    expect(reports).toEqual([
      { rooms: [], failedRooms: [], roomMessages: 0, directMessages: 5, discoveredPeers: [9, 'bot'] },
    ]);
    client.close();
  });

  it('dmConversations() asks the server and resolves with its answer', async () => {
    const { client, sockets } = setup();
    const connected = client.connect();
    const socket = lastSocket(sockets);
    await acceptFirst(socket);
    await connected;
    const answer = client.dmConversations(42);
    await jest.advanceTimersByTimeAsync(0);
    expect(lastSent(socket)).toEqual({ type: 'dm_conversations', data: { after_id: 42 } });
    const data = { conversations: [{ with_user: 3, last_id: 50 }], has_more: false };
    socket.serverSend({ type: 'dm_conversations', data, timestamp: TS });
    await expect(answer).resolves.toEqual(data);
    client.close();
  });

  it('without dm_conversations on the server (an older one), synchronises as before', async () => {
    const { client, sockets } = setup();
    const connected = client.connect();
    const socket = lastSocket(sockets);
    await accept(socket);
    expect(lastSent(socket)).toEqual({ type: 'dm_conversations', data: {} });
    socket.serverSend({
      type: 'error',
      data: { code: 'INVALID_FORMAT', message: 'Unknown message type "dm_conversations"' },
    });
    await connected;
    expect(client.state).toBe('ACTIVE');
    client.close();
  });

  it('rejects waiting requests with CONNECTION_LOST when the connection drops', async () => {
    const { client, sockets } = setup();
    const connected = client.connect();
    await acceptFirst(lastSocket(sockets));
    await connected;
    const history = client.roomHistory({ room: 'general' });
    lastSocket(sockets).serverClose(1006);
    await expect(history).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
    client.close();
  });

  it('closes 4401 as AUTH_FAILED', async () => {
    const { client, sockets } = setup();
    const connected = client.connect();
    lastSocket(sockets).serverOpen();
    lastSocket(sockets).serverClose(4401, 'Token expired');
    await expect(connected).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: 'AUTH_FAILED: Token expired',
    });
  });

  describe('request ids (ref)', () => {
    /** A connection to a server that echoes refs: the pong and the synchronisation's answer carry them. */
    async function connectEchoing() {
      const { client, sockets } = setup();
      const connected = client.connect();
      const socket = lastSocket(sockets);
      socket.serverOpen();
      expect(lastSent(socket)).toEqual({ type: 'ping', data: {} });
      socket.serverSend({ type: 'pong', data: { timestamp: TS }, timestamp: TS, ref: lastRef(socket) });
      await jest.advanceTimersByTimeAsync(0);
      expect(lastSent(socket)).toEqual({ type: 'dm_conversations', data: {} });
      socket.serverSend({
        type: 'dm_conversations',
        data: { conversations: [], has_more: false },
        timestamp: TS,
        ref: lastRef(socket),
      });
      await connected;
      return { client, socket, sockets };
    }

    /** Calls `send` and returns its promise with the ref of the frame it wrote. */
    async function sent<T>(socket: FakeWebSocket, send: () => Promise<T>): Promise<[Promise<T>, string]> {
      const promise = send();
      await jest.advanceTimersByTimeAsync(0);
      return [promise, lastRef(socket)];
    }

    const ownCopy = (id: number, content: string, ref?: string) => ({
      type: 'room_message',
      data: roomMessage(id, content, 7),
      timestamp: TS,
      user_id: 7,
      ...(ref === undefined ? {} : { ref }),
    });

    it('sends a ref with the opening ping and every request, unique on the connection; none on heartbeat pings', async () => {
      const { client, socket } = await connectEchoing();
      const [history, historyRef] = await sent(socket, () => client.roomHistory({ room: 'general' }));
      const [message, messageRef] = await sent(socket, () => client.sendRoomMessage('general', 'hi'));
      socket.serverSend({
        type: 'message_history',
        data: { room: 'general', messages: [], total: 0, has_more: false },
        ref: historyRef,
      });
      socket.serverSend(ownCopy(1, 'hi', messageRef));
      await Promise.all([history, message]);

      const refs = sentFrames(socket).map((frame) => frame.ref);
      expect(sentFrames(socket).map((frame) => frame.type)).toEqual([
        'ping',
        'dm_conversations',
        'room_history',
        'room_message',
      ]);
      expect(new Set(refs).size).toBe(4);
      for (const ref of refs) expect(ref).toMatch(REQUEST_REF);
      await jest.advanceTimersByTimeAsync(30000);
      expect(lastSentFrame(socket)).toEqual({ type: 'ping', data: {} });
      client.close();
    });

    it('sends again, once reconnected, a message the server refused as it shut down (SHUTTING_DOWN: nothing was done)', async () => {
      const { client, socket, sockets } = await connectEchoing();
      let settled = false;
      const [message, firstRef] = await sent(socket, () => client.sendRoomMessage('general', 'hi'));
      void message.finally(() => (settled = true));
      socket.serverSend({
        type: 'error',
        data: { code: 'SHUTTING_DOWN', message: 'Server shutting down' },
        ref: firstRef,
      });
      await jest.advanceTimersByTimeAsync(0);
      expect(settled).toBe(false);
      socket.serverClose(1001, 'Server shutting down');
      await jest.advanceTimersByTimeAsync(100);
      expect(sockets).toHaveLength(2);
      const next = lastSocket(sockets);
      next.serverOpen();
      // The new server: every synchronisation request answered empty, until the message goes again.
      for (let turn = 0; turn < 10 && lastSentFrame(next).type !== 'room_message'; turn += 1) {
        const frame = lastSentFrame(next);
        const data =
          frame.type === 'ping'
            ? { timestamp: TS }
            : frame.type === 'dm_conversations'
              ? { conversations: [], has_more: false }
              : { room: 'general', messages: [], total: 0, has_more: false };
        const type =
          frame.type === 'ping' ? 'pong' : frame.type === 'room_history' ? 'message_history' : frame.type;
        next.serverSend({ type, data, timestamp: TS, ref: frame.ref });
        await jest.advanceTimersByTimeAsync(0);
      }
      const again = lastSentFrame(next);
      expect(again).toMatchObject({ type: 'room_message', data: { room: 'general', content: 'hi' } });
      expect(settled).toBe(false);
      next.serverSend(ownCopy(5, 'hi', again.ref));
      await expect(message).resolves.toMatchObject({ id: 5 });
      const sends = [...sentFrames(socket), ...sentFrames(next)].filter((f) => f.type === 'room_message');
      expect(sends).toHaveLength(2);
      client.close();
    });

    it('still rejects a request refused with any other code', async () => {
      const { client, socket } = await connectEchoing();
      const [message, ref] = await sent(socket, () => client.sendRoomMessage('general', 'hi'));
      socket.serverSend({ type: 'error', data: { code: 'RATE_LIMITED', message: 'Slow down' }, ref });
      await expect(message).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      client.close();
    });

    it('resolves two sends of the same text to one room each with its own copy, answers in reverse order', async () => {
      const { client, socket } = await connectEchoing();
      const [first, firstRef] = await sent(socket, () => client.sendRoomMessage('general', 'hi'));
      const [second, secondRef] = await sent(socket, () => client.sendRoomMessage('general', 'hi'));
      socket.serverSend(ownCopy(2, 'hi', secondRef));
      socket.serverSend(ownCopy(1, 'hi', firstRef));
      await expect(first).resolves.toMatchObject({ id: 1 });
      await expect(second).resolves.toMatchObject({ id: 2 });
      client.close();
    });

    it("is not resolved by another tab's copy of the same text (no ref), and still delivers it", async () => {
      const { client, socket } = await connectEchoing();
      const rooms: number[] = [];
      const directs: number[] = [];
      client.on('room_message', (message) => rooms.push(message.id));
      client.on('direct_message', (message) => directs.push(message.id));

      const [roomSend, roomRef] = await sent(socket, () => client.sendRoomMessage('general', 'hi'));
      socket.serverSend(ownCopy(1, 'hi'));
      socket.serverSend(ownCopy(2, 'hi', roomRef));
      await expect(roomSend).resolves.toMatchObject({ id: 2 });

      const [directSend, directRef] = await sent(socket, () => client.sendDirectMessage(5, 'hi'));
      socket.serverSend({ type: 'direct_message', data: directMessage(3, 'hi', 7, 5), user_id: 7 });
      socket.serverSend({
        type: 'direct_message',
        data: directMessage(4, 'hi', 7, 5),
        user_id: 7,
        ref: directRef,
      });
      await expect(directSend).resolves.toMatchObject({ id: 4 });

      expect(rooms).toEqual([1, 2]);
      expect(directs).toEqual([3, 4]);
      client.close();
    });

    it('rejects the request an error names by its ref, not the oldest one', async () => {
      const { client, socket } = await connectEchoing();
      const [general, generalRef] = await sent(socket, () => client.roomHistory({ room: 'general' }));
      const [secret, secretRef] = await sent(socket, () => client.roomHistory({ room: 'secret' }));
      socket.serverSend({
        type: 'error',
        data: { code: 'PERMISSION_DENIED', message: 'Not a member of secret', details: { room: 'secret' } },
        ref: secretRef,
      });
      await expect(secret).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      const page = { room: 'general', messages: [], total: 0, has_more: false };
      socket.serverSend({ type: 'message_history', data: page, ref: generalRef });
      await expect(general).resolves.toEqual(page);
      client.close();
    });

    it('emits an error whose ref answers no waiting request; an error without ref still fails the oldest', async () => {
      const { client, socket } = await connectEchoing();
      const errors: string[] = [];
      client.on('error', (error) => errors.push(error.code));
      const [history] = await sent(socket, () => client.roomHistory({ room: 'general' }));
      socket.serverSend({ type: 'error', data: { code: 'RATE_LIMITED', message: 'Slow down' }, ref: 'gone' });
      expect(errors).toEqual(['RATE_LIMITED']);
      socket.serverSend({
        type: 'error',
        data: { code: 'INVALID_FORMAT', message: 'Frame is not valid JSON' },
      });
      await expect(history).rejects.toMatchObject({ code: 'INVALID_FORMAT' });
      expect(errors).toEqual(['RATE_LIMITED']);
      client.close();
    });

    it('matches the frames of an outbound message_batch by their own refs', async () => {
      const { client, socket } = await connectEchoing();
      const [first, firstRef] = await sent(socket, () => client.sendRoomMessage('general', 'hi'));
      const [second, secondRef] = await sent(socket, () => client.sendRoomMessage('general', 'hi'));
      socket.serverSend({
        type: 'message_batch',
        data: { messages: [ownCopy(2, 'hi', secondRef), ownCopy(1, 'hi', firstRef)] },
        timestamp: TS,
      });
      await expect(first).resolves.toMatchObject({ id: 1 });
      await expect(second).resolves.toMatchObject({ id: 2 });
      client.close();
    });

    it('against a server that echoes no ref, matches answers by content and fails the oldest request on an error', async () => {
      const { client, sockets } = setup();
      const connected = client.connect();
      const socket = lastSocket(sockets);
      await acceptFirst(socket);
      await connected;
      const [one] = await sent(socket, () => client.sendRoomMessage('general', 'one'));
      const [two] = await sent(socket, () => client.sendRoomMessage('general', 'two'));
      socket.serverSend(ownCopy(2, 'two'));
      socket.serverSend(ownCopy(1, 'one'));
      await expect(one).resolves.toMatchObject({ id: 1, content: 'one' });
      await expect(two).resolves.toMatchObject({ id: 2, content: 'two' });

      const [general] = await sent(socket, () => client.roomHistory({ room: 'general' }));
      const [other] = await sent(socket, () => client.roomHistory({ room: 'other' }));
      socket.serverSend({ type: 'error', data: { code: 'RATE_LIMITED', message: 'Slow down' } });
      await expect(general).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      const page = { room: 'other', messages: [], total: 0, has_more: false };
      socket.serverSend({ type: 'message_history', data: page });
      await expect(other).resolves.toEqual(page);
      client.close();
    });

    it('after reconnecting to a server that echoes no ref, matches by content again', async () => {
      const { client, socket: first, sockets } = await connectEchoing();
      first.serverClose(1006);
      await jest.advanceTimersByTimeAsync(100);
      const second = lastSocket(sockets);
      expect(second).not.toBe(first);
      await accept(second);
      expect(lastSent(second)).toMatchObject({ type: 'dm_conversations' });
      second.serverSend({ type: 'dm_conversations', data: { conversations: [], has_more: false } });
      await jest.advanceTimersByTimeAsync(0);
      expect(client.state).toBe('ACTIVE');
      const [message] = await sent(second, () => client.sendRoomMessage('general', 'hi'));
      second.serverSend(ownCopy(1, 'hi'));
      await expect(message).resolves.toMatchObject({ id: 1 });
      client.close();
    });
  });

  describe('token refresh (auth_refresh)', () => {
    /** A readable unsigned JWT of user 7 whose `exp` is `seconds` from now. */
    const expiringIn = (seconds: number) => tokenExpiringIn(seconds, '7');

    async function connectRefreshing(tokenProvider: () => string) {
      const { WebSocket, sockets } = fakeWebSocketClass();
      const client = new RoomsClient({
        url: 'http://127.0.0.1:3000',
        tokenProvider,
        webSocket: WebSocket,
        heartbeat: false,
        reconnection: { reconnectDelay: 100, jitter: 0 },
      });
      const connected = client.connect();
      await jest.advanceTimersByTimeAsync(0);
      const socket = lastSocket(sockets);
      await acceptFirst(socket);
      await connected;
      return { client, socket, sockets };
    }

    it('sends auth_refresh with a fresh token at 80 % of the lifetime and stays ACTIVE on its ack', async () => {
      const provider = jest.fn(() => expiringIn(10));
      const { client, socket, sockets } = await connectRefreshing(provider);
      await jest.advanceTimersByTimeAsync(8_000);
      const refresh = lastSentFrame(socket);
      expect(refresh).toMatchObject({ type: 'auth_refresh', data: { token: expect.any(String) as string } });
      socket.serverSend({
        type: 'auth_refresh_ack',
        data: { user_id: 7, expires_at: TS },
        ref: lastRef(socket),
      });
      await jest.advanceTimersByTimeAsync(0);
      expect(client.state).toBe('ACTIVE');
      expect(sockets).toHaveLength(1);
      expect(provider).toHaveBeenCalledTimes(2);
      client.close();
    });

    it('takes a refused refresh for an answer, not for an ended session, and reconnects with the fresh token', async () => {
      const { client, socket, sockets } = await connectRefreshing(() => expiringIn(10));
      const states: string[] = [];
      client.onStateChange(({ to }) => states.push(to));
      await jest.advanceTimersByTimeAsync(8_000);
      const fresh = (lastSentFrame(socket).data as { token: string }).token;
      socket.serverSend({
        type: 'error',
        data: {
          code: 'AUTH_FAILED',
          message: 'Token is for another user',
          details: { reason: 'refresh_refused' },
        },
        ref: lastRef(socket),
      });
      await jest.advanceTimersByTimeAsync(0);
      expect(states).toEqual(['ERROR', 'RECONNECTING', 'CONNECTING']);
      expect(sockets).toHaveLength(2);
      expect(lastSocket(sockets).url).toBe(`ws://127.0.0.1:3000/ws/chat?token=${encodeURIComponent(fresh)}`);
      client.close();
    });
  });
});
