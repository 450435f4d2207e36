// The connection lifecycle of the SDK against the real sample app, stopped and started again on its
// port: a first connection to a server that is down (retryFirstConnection false: "Serveur
// inaccessible" at once), and a drop after ACTIVE passing through ERROR (not final) before RECONNECTING.
import {
  ChatClient,
  ClientErrorCode,
  ConnectionState,
  RealtimeClientError,
  RoomsClient,
  type StateChange,
} from 'nest-realtime-client';
import WebSocket from 'ws';
import { CLIENT_TEST_LIMITS, reachState, RestartableSample } from './support/client-sample';

const FAST_RETRY = { reconnectDelay: 50, maxReconnectDelay: 200, maxReconnectAttempts: 200 };

function record(client: { onStateChange(listener: (change: StateChange) => void): () => void }) {
  const changes: Array<[ConnectionState, boolean]> = [];
  client.onStateChange(({ to, final }) => changes.push([to, final]));
  return changes;
}

describe('Client lifecycle against the sample app (server down, server restart)', () => {
  const sample = new RestartableSample();
  const clients: Array<{ close(): void }> = [];
  const track = <T extends { close(): void }>(client: T): T => {
    clients.push(client);
    return client;
  };

  beforeAll(() => sample.start());
  afterEach(async () => {
    while (clients.length) clients.pop()?.close();
    if (!sample.running) await sample.start();
  });
  afterAll(() => sample.dispose());

  it('retryFirstConnection false: both transports fail at once with SERVER_UNREACHABLE, then connect once the server is back', async () => {
    const { token } = await sample.login('alice');
    await sample.stop();
    const options = { url: sample.url, token, retryFirstConnection: false, reconnection: FAST_RETRY };
    const rooms = track(new RoomsClient(options));
    const chat = track(new ChatClient(options));
    const roomsStates = record(rooms);
    const chatStates = record(chat);
    for (const client of [rooms, chat]) {
      const error = await client.connect().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(RealtimeClientError);
      expect(error).toMatchObject({
        code: ClientErrorCode.SERVER_UNREACHABLE,
        message: 'Serveur inaccessible',
      });
      expect(client.state).toBe(ConnectionState.ERROR);
    }
    const once = [
      [ConnectionState.CONNECTING, false],
      [ConnectionState.ERROR, true],
    ];
    expect(roomsStates).toEqual(once);
    expect(chatStates).toEqual(once);

    await sample.start();
    await Promise.all([rooms.connect(), chat.connect()]);
    expect([rooms.state, chat.state]).toEqual([ConnectionState.ACTIVE, ConnectionState.ACTIVE]);
  }, 30_000);

  it('a drop after ACTIVE passes through ERROR (final: false) and then RECONNECTING, and comes back ACTIVE', async () => {
    const { token } = await sample.login('alice');
    const options = { url: sample.url, token, retryFirstConnection: false, reconnection: FAST_RETRY };
    const rooms = track(new RoomsClient(options));
    const chat = track(new ChatClient(options));
    await Promise.all([rooms.connect(), chat.connect()]);
    const roomsStates = record(rooms);
    const chatStates = record(chat);

    await sample.stop();
    await Promise.all([
      reachState(rooms, ConnectionState.RECONNECTING),
      reachState(chat, ConnectionState.RECONNECTING),
    ]);
    for (const states of [roomsStates, chatStates]) {
      expect(states.slice(0, 2)).toEqual([
        [ConnectionState.ERROR, false],
        [ConnectionState.RECONNECTING, false],
      ]);
    }
    await sample.start();
    await Promise.all([reachState(rooms, ConnectionState.ACTIVE), reachState(chat, ConnectionState.ACTIVE)]);
    // Never a final change on the way: the failures were all passing ones.
    expect([...roomsStates, ...chatStates].some(([, final]) => final)).toBe(false);
  }, 30_000);
});

describe('Client lifecycle against a handshake rate limit', () => {
  // One handshake a second per address: a second client right after the first is refused with
  // RATE_LIMITED and the wait in retry_after_ms (up to 1 s).
  const sample = new RestartableSample({
    limits: { ...CLIENT_TEST_LIMITS.limits, maxHandshakesPerSecondPerIp: 1 },
  });
  const clients: Array<{ close(): void }> = [];

  beforeAll(() => sample.start());
  afterEach(() => {
    while (clients.length) clients.pop()?.close();
  });
  afterAll(() => sample.dispose());

  it.each([
    [
      'RoomsClient (raw ws, close 4429)',
      (options: ConstructorParameters<typeof RoomsClient>[0]) => new RoomsClient(options),
    ],
    [
      'ChatClient (Socket.IO connect_error)',
      (options: ConstructorParameters<typeof ChatClient>[0]) => new ChatClient(options),
    ],
  ])(
    '%s waits the retry_after_ms of a refused handshake instead of retrying on its shorter backoff',
    async (_name, make) => {
      const { token } = await sample.login('alice');
      // The bucket of the previous case is full again.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const options = { url: sample.url, token, reconnection: FAST_RETRY };
      const first = make(options);
      clients.push(first);
      await first.connect();
      const second = make(options);
      clients.push(second);
      const states = record(second);
      // The address's one handshake of this second taken now (or refused: the bucket is empty either
      // way), so that the second client's first attempt is refused however long the first one took.
      await new Promise<void>((resolve) => {
        const socket = new WebSocket(`ws://127.0.0.1:${sample.port}/ws/chat?token=${token}`);
        socket.on('error', () => undefined);
        socket.once('open', () => socket.close());
        socket.once('close', () => resolve());
      });
      const started = Date.now();
      await second.connect();
      expect(second.state).toBe(ConnectionState.ACTIVE);
      // On a 50 ms backoff capped at 200 ms, a client that ignored the wait was refused about 6 times
      // within the second; honouring it, once (twice if its timer fired a hair before the refill).
      const refusals = states.filter(([to]) => to === ConnectionState.RECONNECTING).length;
      expect(refusals).toBeGreaterThanOrEqual(1);
      expect(refusals).toBeLessThanOrEqual(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    },
    20_000,
  );
});
