// The RoomsClient (seed 003) against the real sample app: lifecycle states, messages and DMs, a
// server restart in the middle of a conversation (catch-up exactly once, in order), AUTH_FAILED with
// and without a token provider, retries while the server refuses connections, the send-queue bound,
// two tabs of one user sending the same text (answers matched by request id).
import {
  ConnectionState,
  RealtimeClientError,
  RoomsClient,
  type DirectMessagePayload,
  type RoomMessagePayload,
  type RoomsClientOptions,
  type RoomsSyncReport,
} from 'nest-realtime-client';
import { signToken } from './support/clients';
import {
  CLIENT_TEST_LIMITS,
  ConnectionGate,
  eventually,
  reachState,
  recordStates,
  RestartableSample,
} from './support/client-sample';

const FAST_RETRY = { reconnectDelay: 50, maxReconnectDelay: 200, maxReconnectAttempts: 200 };

describe('RoomsClient against the sample app', () => {
  const sample = new RestartableSample();
  const clients: RoomsClient[] = [];

  function client(options: Partial<RoomsClientOptions> & { token?: string }): RoomsClient {
    const created = new RoomsClient({ url: sample.url, reconnection: FAST_RETRY, ...options });
    clients.push(created);
    return created;
  }

  function collect<T>(target: RoomsClient, event: 'room_message' | 'direct_message'): T[] {
    const seen: T[] = [];
    target.on(event, (payload) => seen.push(payload as T));
    return seen;
  }

  beforeAll(() => sample.start());
  afterEach(() => {
    while (clients.length) clients.pop()?.close();
  });
  afterAll(() => sample.dispose());

  it('goes CREATED → CONNECTING → AUTHENTICATING → CONNECTED → ACTIVE and exchanges room and direct messages', async () => {
    const alice = await sample.login('alice');
    const bob = await sample.login('bob');
    const a = client({ token: alice.token });
    const b = client({ token: bob.token });
    expect(a.state).toBe(ConnectionState.CREATED);
    const states = recordStates(a);
    await Promise.all([a.connect(), b.connect()]);
    expect(states).toEqual(['CONNECTING', 'AUTHENTICATING', 'CONNECTED', 'ACTIVE']);
    expect(a.userId).toBe(alice.user.id);

    await a.joinRoom('general');
    await b.joinRoom('general');
    const atB = collect<RoomMessagePayload>(b, 'room_message');
    const sent = await a.sendRoomMessage('general', 'hello from alice');
    expect(sent).toMatchObject({ room: 'general', content: 'hello from alice', username: 'alice' });
    expect(typeof sent.id).toBe('number');
    await eventually(() => atB.length === 1, 5000, 'bob receives the room message');
    expect(atB[0]).toEqual(sent);

    const dmsAtB = collect<DirectMessagePayload>(b, 'direct_message');
    const dm = await a.sendDirectMessage(bob.user.id, 'psst');
    expect(dm).toMatchObject({ content: 'psst', from_username: 'alice' });
    await eventually(() => dmsAtB.length === 1, 5000, 'bob receives the DM');
    expect(dmsAtB[0]?.id).toBe(dm.id);

    const history = await b.roomHistory({ room: 'general', after_id: sent.id - 1 });
    expect(history.messages.map((m) => m.id)).toEqual([sent.id]);
  });

  it('two tabs of one user sending the same text to the same room at once: each promise resolves with its own message', async () => {
    const alice = await sample.login('alice');
    const tab1 = client({ token: alice.token });
    const tab2 = client({ token: alice.token });
    await Promise.all([tab1.connect(), tab2.connect()]);
    await Promise.all([tab1.joinRoom('general'), tab2.joinRoom('general')]);
    const atTab1 = collect<RoomMessagePayload>(tab1, 'room_message');
    // Several rounds: matching by content would hand both tabs whichever copy arrived first.
    for (let round = 0; round < 5; round += 1) {
      const content = `same text ${round}`;
      const [one, two] = await Promise.all([
        tab1.sendRoomMessage('general', content),
        tab2.sendRoomMessage('general', content),
      ]);
      expect(one.content).toBe(content);
      expect(two.content).toBe(content);
      expect(one.id).not.toBe(two.id);
      await eventually(
        () => [one.id, two.id].every((id) => atTab1.some((m) => m.id === id)),
        5000,
        'both messages reach the first tab',
      );
    }
  });

  it('rejects a request the server refuses with the server error code', async () => {
    const alice = await sample.login('alice');
    const a = client({ token: alice.token });
    await a.connect();
    // A join would create a missing room; reading one does not.
    await expect(a.roomHistory({ room: 'no-such-room' })).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
    await expect(a.sendRoomMessage('general', 'not joined')).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    expect(a.state).toBe(ConnectionState.ACTIVE);
  });

  it('survives a server restart: RECONNECTING, back to ACTIVE, missed messages once and in order, queued sends after the sync', async () => {
    const alice = await sample.login('alice');
    const bob = await sample.login('bob');
    const gate = new ConnectionGate();
    const a = client({ token: alice.token, webSocket: gate.WebSocket, directPeers: [bob.user.id] });
    const b = client({ token: bob.token });
    await Promise.all([a.connect(), b.connect()]);
    await a.joinRoom('general');
    await b.joinRoom('general');
    const atA = collect<RoomMessagePayload>(a, 'room_message');
    const dmsAtA = collect<DirectMessagePayload>(a, 'direct_message');
    const atB = collect<RoomMessagePayload>(b, 'room_message');
    const states = recordStates(a);
    const disconnects: string[] = [];
    a.onDisconnect((reason) => disconnects.push(reason));
    let reconnects = 0;
    a.onReconnect(() => (reconnects += 1));
    const reports: RoomsSyncReport[] = [];
    a.onSyncComplete((report) => reports.push(report));

    const before = [
      await b.sendRoomMessage('general', 'before 1'),
      await b.sendRoomMessage('general', 'before 2'),
    ];
    await eventually(() => atA.length === 2, 5000, 'alice receives the first messages');

    // The server goes away; alice's attempts are refused until the gate opens.
    gate.open = false;
    await sample.stop();
    await reachState(a, ConnectionState.RECONNECTING);
    expect(disconnects).toHaveLength(1);
    // Sent while reconnecting: queued, not lost, not refused.
    const queued = a.sendRoomMessage('general', 'from alice while away');
    expect(a.queuedSends).toBe(1);

    await sample.start();
    await reachState(b, ConnectionState.ACTIVE);
    const missed = [];
    for (const content of ['missed 1', 'missed 2', 'missed 3'])
      missed.push(await b.sendRoomMessage('general', content));
    const missedDm = await b.sendDirectMessage(alice.user.id, 'dm while away');
    expect(a.state).not.toBe(ConnectionState.ACTIVE);

    gate.open = true;
    await reachState(a, ConnectionState.ACTIVE);
    const ownEcho = await queued;
    expect(ownEcho).toMatchObject({ content: 'from alice while away', username: 'alice' });
    const after = await b.sendRoomMessage('general', 'after');
    await eventually(() => atA.some((m) => m.id === after.id), 5000, 'alice receives the live message');

    expect(states).toEqual(
      expect.arrayContaining(['RECONNECTING', 'CONNECTING', 'AUTHENTICATING', 'CONNECTED', 'ACTIVE']),
    );
    expect(states.indexOf('RECONNECTING')).toBeLessThan(states.lastIndexOf('ACTIVE'));
    expect(reconnects).toBe(1);
    expect(reports).toEqual([
      { rooms: ['general'], failedRooms: [], roomMessages: 3, directMessages: 1, discoveredPeers: [] },
    ]);

    const expected = [...before, ...missed, ownEcho, after];
    expect(atA.map((m) => m.content)).toEqual(expected.map((m) => m.content));
    expect(atA.map((m) => m.id)).toEqual(expected.map((m) => m.id));
    expect(new Set(atA.map((m) => m.id)).size).toBe(atA.length);
    expect(dmsAtA.map((m) => m.id)).toEqual([missedDm.id]);
    await eventually(() => atB.some((m) => m.id === ownEcho.id), 5000, 'bob receives the queued message');
  }, 60_000);

  it('after a restart, receives once the direct messages of a user it never talked to, sent while it was away', async () => {
    const alice = await sample.login('alice');
    const stranger = await sample.login(`stranger${Date.now()}`);
    const gate = new ConnectionGate();
    const a = client({ token: alice.token, webSocket: gate.WebSocket });
    await a.connect();
    const dmsAtA = collect<DirectMessagePayload>(a, 'direct_message');
    const reports: RoomsSyncReport[] = [];
    a.onSyncComplete((report) => reports.push(report));

    gate.open = false;
    await sample.stop();
    await reachState(a, ConnectionState.RECONNECTING);
    await sample.start();
    const s = client({ token: stranger.token });
    await s.connect();
    const missed = [
      await s.sendDirectMessage(alice.user.id, 'hello, we never met'),
      await s.sendDirectMessage(alice.user.id, 'are you there?'),
    ];
    expect(a.state).not.toBe(ConnectionState.ACTIVE);

    gate.open = true;
    await reachState(a, ConnectionState.ACTIVE);
    const live = await s.sendDirectMessage(alice.user.id, 'live again');
    await eventually(() => dmsAtA.some((m) => m.id === live.id), 5000, 'alice receives the live DM');

    expect(dmsAtA.map((m) => [m.id, m.content, String(m.from_user_id)])).toEqual(
      [...missed, live].map((m) => [m.id, m.content, stranger.user.id]),
    );
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ directMessages: 2 });
    expect(reports[0]?.discoveredPeers.map(String)).toEqual([stranger.user.id]);
    // Older conversations of alice (earlier specs) are not delivered again.
    expect(new Set(dmsAtA.map((m) => String(m.from_user_id)))).toEqual(new Set([stranger.user.id]));
  }, 60_000);

  it('keeps retrying with backoff while connections are refused, then connects', async () => {
    const alice = await sample.login('alice');
    const gate = new ConnectionGate();
    gate.open = false;
    const a = client({ token: alice.token, webSocket: gate.WebSocket });
    const connected = a.connect();
    await eventually(() => gate.attempts >= 3, 10_000, 'three refused attempts');
    expect(a.state).not.toBe(ConnectionState.ERROR);
    gate.open = true;
    await connected;
    expect(a.state).toBe(ConnectionState.ACTIVE);
  });

  it('gives up (ERROR) after maxReconnectAttempts refused attempts', async () => {
    const alice = await sample.login('alice');
    const gate = new ConnectionGate();
    gate.open = false;
    const a = client({
      token: alice.token,
      webSocket: gate.WebSocket,
      reconnection: { reconnectDelay: 10, maxReconnectDelay: 20, maxReconnectAttempts: 2 },
    });
    await expect(a.connect()).rejects.toBeInstanceOf(RealtimeClientError);
    expect(a.state).toBe(ConnectionState.ERROR);
    expect(gate.attempts).toBe(3);
  });

  it('AUTH_FAILED without a token provider goes to ERROR and does not retry', async () => {
    const gate = new ConnectionGate();
    const a = client({ token: 'not-a-jwt', webSocket: gate.WebSocket });
    const states = recordStates(a);
    await expect(a.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(states).toEqual(['CONNECTING', 'AUTHENTICATING', 'ERROR']);
    expect(gate.attempts).toBe(1);
    await expect(a.sendRoomMessage('general', 'x')).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });

  it('AUTH_FAILED with a token provider asks it for a fresh token once and connects with it', async () => {
    const alice = await sample.login('alice');
    const provider = jest.fn(async () => (await sample.login('alice')).token);
    const a = client({ token: 'expired-or-forged', tokenProvider: provider });
    const states = recordStates(a);
    await a.connect();
    expect(provider).toHaveBeenCalledTimes(1);
    expect(states).toEqual([
      'CONNECTING',
      'AUTHENTICATING',
      'RECONNECTING',
      'CONNECTING',
      'AUTHENTICATING',
      'CONNECTED',
      'ACTIVE',
    ]);
    expect(a.userId).toBe(alice.user.id);
  });

  it('AUTH_FAILED again with the fresh token goes to ERROR instead of looping', async () => {
    const gate = new ConnectionGate();
    let issued = 0;
    const provider = jest.fn(() => `still-bad-${++issued}`);
    const a = client({ token: 'bad', tokenProvider: provider, webSocket: gate.WebSocket });
    await expect(a.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(provider).toHaveBeenCalledTimes(1);
    expect(gate.attempts).toBe(2);
    expect(a.state).toBe(ConnectionState.ERROR);
  });

  it('heartbeat: pings on its interval, the server pongs keep the connection ACTIVE', async () => {
    const alice = await sample.login('alice');
    const gate = new ConnectionGate();
    const a = client({
      token: alice.token,
      webSocket: gate.WebSocket,
      heartbeat: { intervalMs: 50, timeoutMs: 500 },
    });
    const states = recordStates(a);
    await a.connect();
    // The opening ping, then at least five heartbeats answered in time.
    await eventually(() => gate.sentTypes.filter((type) => type === 'ping').length >= 6, 5000, 'six pings');
    expect(a.state).toBe(ConnectionState.ACTIVE);
    expect(states).toEqual(['CONNECTING', 'AUTHENTICATING', 'CONNECTED', 'ACTIVE']);
  });

  it('a token that expires mid-session (AUTH_FAILED, 4401): a fresh token from the provider, rooms rejoined', async () => {
    const expiring = new RestartableSample({
      ...CLIENT_TEST_LIMITS,
      limits: { ...CLIENT_TEST_LIMITS.limits, heartbeatIntervalMs: 200 },
    });
    await expiring.start();
    try {
      const alice = await expiring.login('alice');
      const shortLived = signToken({
        sub: alice.user.id,
        username: 'alice',
        exp: Math.ceil((Date.now() + 1500) / 1000),
      });
      const provider = jest.fn(async () => (await expiring.login('alice')).token);
      // Without the refresh on the open connection (token-refresh.e2e-spec.ts): the server ends it.
      const a = new RoomsClient({
        url: expiring.url,
        token: shortLived,
        tokenProvider: provider,
        tokenRefresh: false,
        reconnection: FAST_RETRY,
      });
      clients.push(a);
      await a.connect();
      await a.joinRoom('general');
      const reports: RoomsSyncReport[] = [];
      a.onSyncComplete((report) => reports.push(report));
      const disconnected = new Promise<string>((resolve) => a.onDisconnect(resolve));
      expect(await disconnected).toMatch(/AUTH_FAILED/);
      await reachState(a, ConnectionState.ACTIVE);
      expect(provider).toHaveBeenCalledTimes(1);
      expect(reports).toEqual([
        { rooms: ['general'], failedRooms: [], roomMessages: 0, directMessages: 0, discoveredPeers: [] },
      ]);
      expect((await a.sendRoomMessage('general', 'still here')).username).toBe('alice');
    } finally {
      await expiring.dispose();
    }
  }, 30_000);

  it('refuses a send past the queue bound with QUEUE_FULL and sends the queued ones after connecting', async () => {
    const alice = await sample.login('alice');
    const gate = new ConnectionGate();
    gate.open = false;
    const a = client({ token: alice.token, webSocket: gate.WebSocket, maxQueueSize: 2 });
    const connected = a.connect();
    const first = a.sendRoomMessage('general', 'queued 1');
    const second = a.sendRoomMessage('general', 'queued 2');
    await expect(a.sendRoomMessage('general', 'one too many')).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(a.queuedSends).toBe(2);
    gate.open = true;
    await connected;
    // Not joined: the server refuses both, which proves they were sent, in order, after the sync.
    await expect(first).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(second).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(a.queuedSends).toBe(0);
  });
});
