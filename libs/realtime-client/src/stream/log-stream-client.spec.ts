// LogStreamClient over a scripted WebSocket: auth_success / auth_error, the backlog resent after a
// reconnection delivered once, and the token refreshed with a second `auth`.
import type { LogEntry } from 'nest-realtime/protocol';
import { fakeWebSocketClass, lastSocket } from '../websocket/fake-websocket.helper-spec';
import { LogStreamClient } from './log-stream-client';
import { tokenExpiringIn } from '../connection/unsigned-token.helper-spec';

const entry = (id: string, message: string): LogEntry => ({
  id,
  timestamp: 1,
  level: 'info',
  message,
  appId: 'app',
  userId: 'u',
});

describe('LogStreamClient (scripted server)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is ACTIVE on auth_success and drops backlog entries it delivered before the reconnection', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const client = new LogStreamClient({
      url: 'https://logs.example:8443',
      token: 'tok',
      webSocket: WebSocket,
      reconnection: { reconnectDelay: 100, jitter: 0 },
    });
    const batches: string[][] = [];
    client.on('logs', (entries) => batches.push(entries.map((e) => e.message)));
    const connected = client.connect();
    const first = lastSocket(sockets);
    expect(first.url).toBe('wss://logs.example:8443/ws/logs?token=tok');
    first.serverOpen();
    first.serverSend({ type: 'connect', payload: {} });
    expect(client.state).toBe('AUTHENTICATING');
    first.serverSend({ type: 'auth_success', payload: { appId: 'app', userId: 'u' } });
    await connected;
    expect(client.identity).toEqual({ appId: 'app', userId: 'u' });
    first.serverSend({ type: 'logs', payload: [entry('1', 'a'), entry('2', 'b')] });

    first.serverClose(1001);
    await jest.advanceTimersByTimeAsync(100);
    const second = lastSocket(sockets);
    second.serverOpen();
    second.serverSend({ type: 'auth_success', payload: { appId: 'app', userId: 'u' } });
    await jest.advanceTimersByTimeAsync(0);
    second.serverSend({ type: 'logs', payload: [entry('1', 'a'), entry('2', 'b'), entry('3', 'c')] });
    second.serverSend({ type: 'logs', payload: [entry('2', 'b')] });
    expect(batches).toEqual([['a', 'b'], ['c']]);
    client.close();
  });

  it('pings every interval, stays ACTIVE on pong, and treats a missing pong as a dead connection', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const client = new LogStreamClient({
      url: 'http://127.0.0.1:3001',
      token: 'tok',
      webSocket: WebSocket,
      heartbeat: { intervalMs: 1000, timeoutMs: 500 },
      reconnection: { reconnectDelay: 100, jitter: 0 },
    });
    const connected = client.connect();
    const socket = lastSocket(sockets);
    socket.serverOpen();
    socket.serverSend({ type: 'auth_success', payload: { appId: 'app', userId: 'u' } });
    await connected;
    await jest.advanceTimersByTimeAsync(1000);
    expect(socket.sentFrames().at(-1)).toEqual({ type: 'ping', payload: {} });
    socket.serverSend({ type: 'pong', payload: { timestamp: 1 } });
    await jest.advanceTimersByTimeAsync(999);
    expect(client.state).toBe('ACTIVE');
    await jest.advanceTimersByTimeAsync(1);
    expect(socket.sentFrames().at(-1)).toEqual({ type: 'ping', payload: {} });
    await jest.advanceTimersByTimeAsync(500);
    expect(client.state).toBe('RECONNECTING');
    await jest.advanceTimersByTimeAsync(100);
    expect(sockets).toHaveLength(2);
    client.close();
  });

  it('goes to ERROR on auth_error without a token provider', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const client = new LogStreamClient({ url: 'http://127.0.0.1:1', token: 'bad', webSocket: WebSocket });
    const connected = client.connect();
    lastSocket(sockets).serverOpen();
    lastSocket(sockets).serverSend({ type: 'auth_error', payload: { message: 'Invalid token' } });
    await expect(connected).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(client.state).toBe('ERROR');
  });

  it('refreshes its token with a second auth: the auth_success that answers it changes nothing else', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const expiringIn = (seconds: number) => tokenExpiringIn(seconds, 'u');
    const client = new LogStreamClient({
      url: 'http://127.0.0.1:3001',
      tokenProvider: () => expiringIn(10),
      webSocket: WebSocket,
      heartbeat: false,
      reconnection: { reconnectDelay: 100, jitter: 0 },
    });
    const connected = client.connect();
    await jest.advanceTimersByTimeAsync(0);
    const socket = lastSocket(sockets);
    socket.serverOpen();
    socket.serverSend({ type: 'auth_success', payload: { appId: 'app', userId: 'u' } });
    await connected;
    const states: string[] = [];
    client.onStateChange(({ to }) => states.push(to));

    await jest.advanceTimersByTimeAsync(8_000);
    expect(socket.sentFrames().at(-1)).toEqual({
      type: 'auth',
      payload: { token: expect.any(String) as string },
    });
    socket.serverSend({ type: 'auth_success', payload: { appId: 'app', userId: 'u', expiresAt: 1 } });
    await jest.advanceTimersByTimeAsync(0);
    expect(states).toEqual([]);

    // The next refresh is refused: the client reconnects with the fresh token.
    await jest.advanceTimersByTimeAsync(8_000);
    socket.serverSend({
      type: 'error',
      payload: {
        code: 'AUTH_FAILED',
        message: 'Token is for another app',
        details: { reason: 'refresh_refused' },
      },
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(states).toEqual(['ERROR', 'RECONNECTING', 'CONNECTING']);
    expect(sockets).toHaveLength(2);
    client.close();
  });
});
