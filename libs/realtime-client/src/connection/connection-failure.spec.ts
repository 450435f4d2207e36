// The clients over a scripted WebSocket (the real WebSocketTransport) when the server is down or the
// connection drops: `retryFirstConnection`, ERROR before RECONNECTING, final and passing failures.
import { LogStreamClient } from '../stream/log-stream-client';
import { RoomsClient } from '../rooms/rooms-client';
import { fakeWebSocketClass, lastSocket } from '../websocket/fake-websocket.helper-spec';
import type { StateChange } from './connection-state';
import { ClientErrorCode, RealtimeClientError } from './realtime-client.error';

function record(client: { onStateChange(listener: (change: StateChange) => void): () => void }) {
  const changes: StateChange[] = [];
  client.onStateChange((change) => changes.push(change));
  return changes;
}

describe('clients facing a server that is down or goes away (scripted WebSocket)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('RoomsClient with retryFirstConnection false: connect() rejects with SERVER_UNREACHABLE, one socket, final ERROR', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const client = new RoomsClient({
      url: 'http://127.0.0.1:3000',
      token: 'tok',
      webSocket: WebSocket,
      retryFirstConnection: false,
      reconnection: { reconnectDelay: 100, jitter: 0 },
    });
    const changes = record(client);
    const connected = client.connect().catch((error: unknown) => error);
    lastSocket(sockets).refuse();
    const error = await connected;
    expect(error).toBeInstanceOf(RealtimeClientError);
    expect(error).toMatchObject({
      code: ClientErrorCode.SERVER_UNREACHABLE,
      message: 'Serveur inaccessible',
    });
    expect(client.state).toBe('ERROR');
    expect(changes.map(({ to, final }) => [to, final])).toEqual([
      ['CONNECTING', false],
      ['ERROR', true],
    ]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    await expect(client.sendRoomMessage('general', 'x')).rejects.toMatchObject({
      code: 'SERVER_UNREACHABLE',
    });
    client.close();
  });

  it('RoomsClient by default keeps retrying a refused first connection, through ERROR (not final) each time', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const client = new RoomsClient({
      url: 'http://127.0.0.1:3000',
      token: 'tok',
      webSocket: WebSocket,
      reconnection: { reconnectDelay: 100, jitter: 0 },
    });
    const changes = record(client);
    void client.connect().catch(() => undefined);
    lastSocket(sockets).refuse();
    await jest.advanceTimersByTimeAsync(100);
    lastSocket(sockets).refuse();
    expect(sockets).toHaveLength(2);
    expect(client.state).toBe('RECONNECTING');
    expect(changes.map(({ to, final }) => `${to}${final ? '!' : ''}`)).toEqual([
      'CONNECTING',
      'ERROR',
      'RECONNECTING',
      'CONNECTING',
      'ERROR',
      'RECONNECTING',
    ]);
    client.close();
  });

  it('LogStreamClient: a drop after ACTIVE goes ERROR (final: false) then RECONNECTING, then ACTIVE again', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const client = new LogStreamClient({
      url: 'http://127.0.0.1:3000',
      token: 'tok',
      webSocket: WebSocket,
      retryFirstConnection: false,
      reconnection: { reconnectDelay: 100, jitter: 0 },
    });
    const connected = client.connect();
    const first = lastSocket(sockets);
    first.serverOpen();
    first.serverSend({ type: 'auth_success', payload: { appId: 'app', userId: 'u' } });
    await connected;
    const changes = record(client);
    first.serverClose(1006);
    expect(changes.map(({ from, to, final }) => [from, to, final])).toEqual([
      ['ACTIVE', 'ERROR', false],
      ['ERROR', 'RECONNECTING', false],
    ]);
    expect(changes[0]?.error?.code).toBe('CONNECTION_LOST');
    await jest.advanceTimersByTimeAsync(100);
    const second = lastSocket(sockets);
    second.serverOpen();
    second.serverSend({ type: 'auth_success', payload: { appId: 'app', userId: 'u' } });
    await jest.advanceTimersByTimeAsync(0);
    expect(client.state).toBe('ACTIVE');
    client.close();
  });
});
