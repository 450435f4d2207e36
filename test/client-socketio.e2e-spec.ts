// The Socket.IO clients against the real sample app: ChatClient (seed 001) and the rt_* listener
// RealtimeEventsClient (seed 002), their lifecycle, AUTH_FAILED, and a server restart.
import request from 'supertest';
import {
  ChatClient,
  ConnectionState,
  RealtimeEventsClient,
  type ChatMessage,
  type ChatSyncReport,
  type ModuleAddedPayload,
  type SyncStatePayload,
  type UserTypingPayload,
} from 'nest-realtime-client';
import { RoomDirectory } from 'nest-realtime';
import { eventually, reachState, recordStates, RestartableSample } from './support/client-sample';

const FAST_RETRY = { reconnectDelay: 50, maxReconnectDelay: 200, maxReconnectAttempts: 200 };

describe('Socket.IO clients against the sample app', () => {
  const sample = new RestartableSample();
  const clients: Array<{ close(): void }> = [];
  const track = <T extends { close(): void }>(client: T): T => {
    clients.push(client);
    return client;
  };

  beforeAll(() => sample.start());
  afterEach(() => {
    while (clients.length) clients.pop()?.close();
  });
  afterAll(() => sample.dispose());

  describe('ChatClient', () => {
    it('connects through the lifecycle states and exchanges messages with acknowledgements', async () => {
      const alice = await sample.login('alice');
      const bob = await sample.login('bob');
      const a = track(new ChatClient({ url: sample.url, token: alice.token }));
      const b = track(new ChatClient({ url: sample.url, token: bob.token }));
      const states = recordStates(a);
      await Promise.all([a.connect(), b.connect()]);
      expect(states).toEqual(['CONNECTING', 'AUTHENTICATING', 'CONNECTED', 'ACTIVE']);

      const atB: ChatMessage[] = [];
      b.on('message', (message) => atB.push(message));
      const typing: UserTypingPayload[] = [];
      b.on('userTyping', (payload) => typing.push(payload));

      expect(await a.join('general')).toEqual({ roomId: 'general', joined: true });
      expect(a.typing(true)).toBe(true);
      await eventually(() => typing.length === 1, 5000, 'bob sees alice typing');
      expect(typing[0]).toMatchObject({ username: 'alice', isTyping: true });

      const { id } = await a.sendMessage('Bonjour !', { roomId: 'general' });
      await eventually(() => atB.length === 1, 5000, 'bob receives the message');
      expect(atB[0]).toMatchObject({
        id,
        message: 'Bonjour !',
        username: 'alice',
        context: { roomId: 'general' },
      });

      // A missing room comes into being on a join; a private room of others refuses it.
      await sample.application.get(RoomDirectory).create({ name: 'sdk-private', isPrivate: true });
      await expect(a.join('sdk-private')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      const online = await a.onlineUsers();
      expect(online.users.map((u) => u.username)).toEqual(expect.arrayContaining(['alice', 'bob']));
    });

    it('AUTH_FAILED at the handshake: ERROR without a provider, a fresh token with one', async () => {
      const refused = track(new ChatClient({ url: sample.url, token: 'forged' }));
      await expect(refused.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      expect(refused.state).toBe(ConnectionState.ERROR);

      const provider = jest.fn(async () => (await sample.login('carol')).token);
      const refreshed = track(new ChatClient({ url: sample.url, token: 'forged', tokenProvider: provider }));
      await refreshed.connect();
      expect(provider).toHaveBeenCalledTimes(1);
      expect(refreshed.state).toBe(ConnectionState.ACTIVE);
    });

    it('after a server restart: RECONNECTING, rooms rejoined, the message queued meanwhile delivered', async () => {
      const alice = await sample.login('alice');
      const bob = await sample.login('bob');
      // Alice retries every 1.5 s, Bob every 50 ms: Bob is back before Alice's queued message goes out
      // (the Socket.IO chat has no history to catch up a message sent while Bob was away).
      const slowRetry = {
        reconnectDelay: 1500,
        maxReconnectDelay: 1500,
        jitter: 0,
        maxReconnectAttempts: 20,
      };
      const a = track(new ChatClient({ url: sample.url, token: alice.token, reconnection: slowRetry }));
      const b = track(new ChatClient({ url: sample.url, token: bob.token, reconnection: FAST_RETRY }));
      await Promise.all([a.connect(), b.connect()]);
      await a.join('general');
      const reports: ChatSyncReport[] = [];
      a.onSyncComplete((report) => reports.push(report));
      const atB: ChatMessage[] = [];
      b.on('message', (message) => atB.push(message));

      await sample.stop();
      await reachState(a, ConnectionState.RECONNECTING);
      const queued = a.sendMessage('sent while away', { roomId: 'general' });
      await sample.start();
      await reachState(b, ConnectionState.ACTIVE);
      expect(a.state).not.toBe(ConnectionState.ACTIVE);
      await reachState(a, ConnectionState.ACTIVE);
      const { id } = await queued;
      await eventually(() => atB.some((m) => m.id === id), 5000, 'bob receives the queued message');
      expect(atB.filter((m) => m.id === id)).toHaveLength(1);
      expect(reports).toEqual([{ rooms: ['general'], recovered: false }]);
    }, 60_000);
  });

  describe('RealtimeEventsClient (rt_* events)', () => {
    it('receives typed rt_module_added on its page and answers rt_sync', async () => {
      const owner = await sample.login('erin');
      const events = track(
        new RealtimeEventsClient({ url: sample.url, token: owner.token, page: 'modules' }),
      );
      await events.connect();
      const added: ModuleAddedPayload[] = [];
      events.on('rt_module_added', (payload) => added.push(payload));

      await request(sample.url)
        .post('/modules')
        .set('Authorization', `Bearer ${owner.token}`)
        .send({ moduleId: 'MC-2001-SDK', name: 'Station SDK', type: 'Station' })
        .expect(201);
      await eventually(() => added.length === 1, 5000, 'rt_module_added');
      expect(added[0]).toEqual({
        moduleId: 'MC-2001-SDK',
        name: 'Station SDK',
        type: 'Station',
        userId: owner.user.id,
      });

      const state = await events.sync();
      expect(state.user).toMatchObject({ id: owner.user.id, page: 'modules' });
      expect(state.modules).toEqual(
        expect.arrayContaining([expect.objectContaining({ moduleId: 'MC-2001-SDK' })]),
      );
    });

    it('synchronises with rt_sync after a reconnection (onSyncComplete)', async () => {
      const admin = await sample.login('admin');
      const events = track(
        new RealtimeEventsClient({
          url: sample.url,
          token: admin.token,
          page: 'admin',
          reconnection: FAST_RETRY,
        }),
      );
      await events.connect();
      const synced: Array<SyncStatePayload | undefined> = [];
      events.onSyncComplete((state) => synced.push(state));
      const disconnects: string[] = [];
      events.onDisconnect((reason) => disconnects.push(reason));

      await sample.stop();
      await reachState(events, ConnectionState.RECONNECTING);
      await sample.start();
      await reachState(events, ConnectionState.ACTIVE);
      expect(disconnects).toHaveLength(1);
      expect(synced).toHaveLength(1);
      expect(synced[0]?.user).toMatchObject({ id: admin.user.id, isAdmin: true });
      expect(synced[0]?.stats?.connections).toBeGreaterThanOrEqual(1);
    }, 60_000);
  });
});
