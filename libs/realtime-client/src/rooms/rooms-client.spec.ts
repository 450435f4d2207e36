// RoomsClient over a scripted WebSocket with fake timers: the pong that proves authentication, the
// heartbeat that detects a dead connection, and the catch-up that merges history with live frames
// (each message once, in id order), direct conversations with peers it never talked to included.
import type { DirectMessagePayload, HistoryMessage, RoomMessagePayload } from 'nest-realtime/protocol';
import { fakeWebSocketClass, lastSocket, type FakeWebSocket } from '../websocket/fake-websocket.helper-spec';
import { RoomsClient } from './rooms-client';

const TS = '2026-01-01T00:00:00.000Z';
// A readable unsigned JWT whose `sub` is 7 (the server verifies tokens, the client only reads them).
const TOKEN = `x.${Buffer.from(JSON.stringify({ sub: '7' })).toString('base64url')}.y`;

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
    expect(socket.sentFrames().at(-1)).toEqual({ type: 'ping', data: {} });
    socket.serverSend({ type: 'pong', data: { timestamp: TS }, timestamp: TS });
    await jest.advanceTimersByTimeAsync(0);
  }

  /** First connection: accepted, and the newest direct message of the user so far is `newestDm`. */
  async function acceptFirst(socket: FakeWebSocket, newestDm?: { with_user: number; last_id: number }) {
    await accept(socket);
    expect(socket.sentFrames().at(-1)).toEqual({ type: 'dm_conversations', data: {} });
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
    expect(socket.sentFrames().at(-1)).toEqual({ type: 'dm_conversations', data: {} });
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
    expect(lastSocket(sockets).sentFrames().at(-1)).toEqual({ type: 'ping', data: {} });
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
    expect(first.sentFrames().at(-1)).toEqual({ type: 'room_history', data: { room: 'general', limit: 1 } });
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
    expect(second.sentFrames().at(-1)).toEqual({ type: 'join_room', data: { room: 'general' } });
    second.serverSend({ type: 'join_room_ack', data: { room: 'general', success: true, message: 'Joined' } });
    // A live message overtakes the catch-up; it must come out after 11 and 12, and once.
    second.serverSend({ type: 'room_message', data: roomMessage(13, 'live 13') });
    await jest.advanceTimersByTimeAsync(0);
    expect(second.sentFrames().at(-1)).toEqual({
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
    expect(second.sentFrames().at(-1)).toEqual({ type: 'dm_conversations', data: { after_id: 10 } });
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
    expect(second.sentFrames().at(-1)).toEqual({ type: 'dm_conversations', data: { after_id: 21 } });
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
    expect(second.sentFrames().at(-1)).toEqual({
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
      expect(second.sentFrames().at(-1)).toEqual({ type: 'dm_history', data: request });
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
    expect(socket.sentFrames().at(-1)).toEqual({ type: 'dm_conversations', data: { after_id: 42 } });
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
    expect(socket.sentFrames().at(-1)).toEqual({ type: 'dm_conversations', data: {} });
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
});
