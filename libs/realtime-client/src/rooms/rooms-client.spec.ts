// RoomsClient over a scripted WebSocket with fake timers: the pong that proves authentication, the
// heartbeat that detects a dead connection, and the catch-up that merges history with live frames
// (each message once, in id order).
import type { RoomMessagePayload } from 'nest-realtime/protocol';
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

  it('connects to /ws/chat with the token in the query and is AUTHENTICATING until the first pong', async () => {
    const { client, sockets } = setup();
    const connected = client.connect();
    const socket = lastSocket(sockets);
    expect(socket.url).toBe(`ws://127.0.0.1:3000/ws/chat?token=${encodeURIComponent(TOKEN)}`);
    socket.serverOpen();
    expect(client.state).toBe('AUTHENTICATING');
    socket.serverSend({ type: 'pong', data: { timestamp: TS } });
    await connected;
    expect(client.state).toBe('ACTIVE');
    expect(client.userId).toBe('7');
    client.close();
  });

  it('treats a missing pong as a dead connection: RECONNECTING, then a new socket', async () => {
    const { client, sockets } = setup();
    const connected = client.connect();
    await accept(lastSocket(sockets));
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
    await accept(first);
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
    expect(client.state).toBe('ACTIVE');
    second.serverSend({ type: 'room_message', data: roomMessage(12, 'duplicate of 12') });
    second.serverSend({ type: 'room_message', data: roomMessage(14, 'live 14') });
    expect(received).toEqual([10, 11, 12, 13, 14]);
    client.close();
  });

  it('rejects waiting requests with CONNECTION_LOST when the connection drops', async () => {
    const { client, sockets } = setup();
    const connected = client.connect();
    await accept(lastSocket(sockets));
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
