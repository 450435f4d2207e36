// Sessions that outlive a token, against the real sample app: a fresh token sent on an open connection
// keeps the session on every transport (rooms `auth_refresh`, Socket.IO `authRefresh`, the log
// stream's second `auth`), with no presence change, and the connection is then ended at the new
// token's expiry instead of the first's; a token of another user or app, or an invalid one, is
// refused and the session keeps its identity; the SDK's four clients refresh through their token
// provider before expiry, fall back to a reconnection when a refresh is refused, and a Socket.IO
// session ended by an expired token asks the provider at once.
import { LogStreamService, RealtimeApi, toWireUserId } from 'nest-realtime';
import {
  ChatClient,
  ConnectionState,
  LogStreamClient,
  RealtimeEventsClient,
  RoomsClient,
  type ChatMessage,
  type LogEntry,
  type ModuleAddedPayload,
  type RoomMessagePayload,
  type StateChange,
  type SyncStatePayload,
} from 'nest-realtime-client';
import { Clients, nextEvent, recordEvents, signToken, TestWs, waitUntil } from './support/clients';
import { eventually, reachState } from './support/client-sample';
import { startSample, type RunningSample } from './support/sample-app';

const LOOSE_LIMITS = { limits: { rateLimit: { perMinute: 100_000, perHour: 1_000_000 } } };
const FAST_RETRY = { reconnectDelay: 50, maxReconnectDelay: 200, maxReconnectAttempts: 200 };
const REFUSED = { reason: 'refresh_refused' };
const OTHER_SECRET = 'not-the-sample-secret-0123456789abcdef';

interface User {
  id: string;
  username: string;
}

/** `exp` (epoch seconds) at least `seconds` from now: JWT expiries are whole seconds. */
function expIn(seconds: number): number {
  return Math.ceil((Date.now() + seconds * 1000) / 1000);
}

function tokenOf(user: User, exp: number, claims: Record<string, unknown> = {}, secret?: string): string {
  return signToken({ sub: user.id, username: user.username, roles: [], exp, ...claims }, {}, secret);
}

/** Until the wall clock is past `exp` (epoch seconds) by `marginMs`: the point is that time passed. */
function pastExpiry(exp: number, marginMs = 300): Promise<void> {
  return waitUntil(() => Date.now() >= exp * 1000 + marginMs, exp * 1000 + marginMs - Date.now() + 2000);
}

function iso(exp: number): string {
  return new Date(exp * 1000).toISOString();
}

describe('Token refresh on open connections', () => {
  let sample: RunningSample;
  const clients = new Clients();
  let roomSequence = 0;
  const newRoom = () => `refresh-${++roomSequence}-${Math.random().toString(36).slice(2, 6)}`;
  const roomsUrl = (token: string) => `ws://127.0.0.1:${sample.port}/ws/chat?token=${token}`;
  const logsUrl = (token: string) => `ws://127.0.0.1:${sample.port}/ws/logs?token=${token}`;
  const login = async (name: string, appId?: string): Promise<User> =>
    (await sample.login(name, appId === undefined ? {} : { appId })).user;

  async function joined(token: string, room: string): Promise<TestWs> {
    const client = await clients.ws(roomsUrl(token));
    client.send({ type: 'join_room', data: { room } });
    await client.next('join_room_ack');
    return client;
  }

  beforeAll(async () => {
    sample = await startSample({ overrides: LOOSE_LIMITS });
  });
  afterEach(() => clients.closeAll());
  afterAll(async () => {
    await sample.close();
  });

  describe('rooms endpoint: auth_refresh', () => {
    it('keeps the connection and its room past the first expiry, without presence notices, then ends it at the new expiry', async () => {
      const ann = await login('ann-rooms');
      const bob = await login('bob-rooms');
      const room = newRoom();
      const firstExp = expIn(2);
      const annWs = await joined(tokenOf(ann, firstExp), room);
      const bobWs = await joined(tokenOf(bob, expIn(60)), room);
      await annWs.next('user_connected');

      const secondExp = firstExp + 3;
      annWs.send({ type: 'auth_refresh', data: { token: tokenOf(ann, secondExp) }, ref: 'refresh-1' });
      const ack = await annWs.next('auth_refresh_ack');
      expect(ack.ref).toBe('refresh-1');
      expect(ack.data).toEqual({ user_id: toWireUserId(ann.id), expires_at: iso(secondExp) });

      await pastExpiry(firstExp);
      expect(annWs.socket.readyState).toBe(annWs.socket.OPEN);
      bobWs.send({ type: 'room_message', data: { room, content: 'after the first expiry' } });
      const received = await annWs.nextMatching((f) => f.type === 'room_message');
      expect(received.data).toMatchObject({
        room,
        content: 'after the first expiry',
        username: bob.username,
      });
      await bobWs.nextMatching((f) => f.type === 'room_message');
      // The refresh changed nothing for the others: no user_disconnected / user_connected of ann.
      expect(bobWs.frames.filter((f) => f.type.startsWith('user_'))).toEqual([]);

      // Liveness follows the new expiry: the connection ends then, not at the first one, nor later.
      expect((await annWs.next('error', 5000)).data).toEqual({
        code: 'AUTH_FAILED',
        message: 'Token expired',
        details: {},
      });
      expect(await annWs.closedWithin()).toEqual({ code: 4401, reason: 'Token expired' });
      expect(Date.now()).toBeGreaterThanOrEqual(secondExp * 1000);
      expect(Date.now()).toBeLessThan(secondExp * 1000 + 2000);
    });

    it('refuses a token of another user, a forged and an expired one; the connection keeps its user and room', async () => {
      const ann = await login('ann-refused');
      const bob = await login('bob-refused');
      const room = newRoom();
      const annWs = await joined(tokenOf(ann, expIn(60)), room);
      const refusals: Array<[string, string, string]> = [
        ['other-user', tokenOf(bob, expIn(60)), 'Token is for another user'],
        ['forged', tokenOf(ann, expIn(60), {}, OTHER_SECRET), 'Token signature invalid'],
        ['expired', tokenOf(ann, Math.floor(Date.now() / 1000) - 5), 'Token expired'],
      ];
      for (const [ref, token, message] of refusals) {
        annWs.send({ type: 'auth_refresh', data: { token }, ref });
        const error = await annWs.next('error');
        expect(error.ref).toBe(ref);
        expect(error.data).toEqual({ code: 'AUTH_FAILED', message, details: REFUSED });
      }
      annWs.send({ type: 'room_message', data: { room, content: 'still ann' } });
      const own = await annWs.next('room_message');
      expect(own.data).toMatchObject({ room, content: 'still ann', user_id: toWireUserId(ann.id) });
      expect(annWs.socket.readyState).toBe(annWs.socket.OPEN);
    });
  });

  describe('Socket.IO: authRefresh', () => {
    it('keeps a chat socket in its room past the first expiry, without a userStatus change, then ends it at the new expiry', async () => {
      const ann = await login('ann-chat');
      const bob = await login('bob-chat');
      const room = newRoom();
      const firstExp = expIn(2);
      const chat = await clients.io(sample.url, { token: tokenOf(ann, firstExp) });
      const watcher = await clients.io(sample.url, { token: tokenOf(bob, expIn(60)) });
      for (const socket of [chat, watcher]) {
        expect(await socket.timeout(5000).emitWithAck('join', { roomId: room })).toEqual({
          roomId: room,
          joined: true,
        });
      }
      const seenByWatcher = recordEvents(watcher);

      const secondExp = firstExp + 3;
      const ack: unknown = await chat
        .timeout(5000)
        .emitWithAck('authRefresh', { token: tokenOf(ann, secondExp) });
      expect(ack).toEqual({ userId: ann.id, expiresAt: iso(secondExp) });

      await pastExpiry(firstExp);
      expect(chat.connected).toBe(true);
      const arriving = nextEvent<ChatMessage>(chat, 'message');
      watcher.emit('message', { message: 'after the first expiry', context: { roomId: room } });
      expect(await arriving).toMatchObject({ message: 'after the first expiry', userId: bob.id });
      const annStatus = seenByWatcher.filter(
        ({ event, payload }) => event === 'userStatus' && (payload as { userId?: string }).userId === ann.id,
      );
      expect(annStatus).toEqual([]);

      const told = nextEvent<unknown>(chat, 'error', 5000);
      const gone = nextEvent<string>(chat, 'disconnect', 5000);
      expect(await told).toEqual({ code: 'AUTH_FAILED', message: 'Token expired', details: {} });
      expect(await gone).toBe('io server disconnect');
      expect(Date.now()).toBeGreaterThanOrEqual(secondExp * 1000);
      expect(Date.now()).toBeLessThan(secondExp * 1000 + 2000);
    });

    it('keeps an events API socket on its page past the first expiry, still receiving rt_* events', async () => {
      const eve = await login('eve-events');
      const firstExp = expIn(2);
      const events = await clients.io(sample.url, { token: tokenOf(eve, firstExp), page: 'modules' });
      const ack: unknown = await events
        .timeout(5000)
        .emitWithAck('authRefresh', { token: tokenOf(eve, expIn(60)) });
      expect(ack).toMatchObject({ userId: eve.id });

      await pastExpiry(firstExp);
      const added = nextEvent<ModuleAddedPayload>(events, 'rt_module_added');
      sample.app
        .get(RealtimeApi)
        .emitModuleAdded(eve.id, { moduleId: 'MC-REFRESH-1', name: 'R', type: 'Station' });
      expect(await added).toMatchObject({ moduleId: 'MC-REFRESH-1' });
      const state = (await events.timeout(5000).emitWithAck('rt_sync')) as SyncStatePayload;
      expect(state.user).toEqual({ id: eve.id, username: eve.username, isAdmin: false, page: 'modules' });
      expect(events.connected).toBe(true);
    });

    it('refuses a token of another user or app with an AUTH_FAILED ack and error event; the socket keeps its user', async () => {
      const ann = await login('ann-io-refused');
      const bob = await login('bob-io-refused');
      const room = newRoom();
      const chat = await clients.io(sample.url, { token: tokenOf(ann, expIn(60)) });
      for (const [token, message] of [
        [tokenOf(bob, expIn(60)), 'Token is for another user'],
        [tokenOf(ann, expIn(60), { appId: 'elsewhere' }), 'Token is for another app'],
      ] as const) {
        const told = nextEvent<unknown>(chat, 'error');
        const ack: unknown = await chat.timeout(5000).emitWithAck('authRefresh', { token });
        const refusal = { code: 'AUTH_FAILED', message, details: REFUSED };
        expect(ack).toEqual({ error: refusal });
        expect(await told).toEqual(refusal);
      }
      const own = nextEvent<ChatMessage>(chat, 'message');
      const sent = (await chat
        .timeout(5000)
        .emitWithAck('message', { message: 'still ann', context: { roomId: room } })) as { id?: string };
      expect(typeof sent.id).toBe('string');
      expect(await own).toMatchObject({ id: sent.id, userId: ann.id });
      expect(chat.connected).toBe(true);
    });
  });

  describe('log stream: a second auth', () => {
    it('refreshes: auth_success with the new expiry, no backlog again, the filter kept past the first expiry; another app is refused', async () => {
      const ann = await login('ann-logs');
      const appId = `app-refresh-${Math.random().toString(36).slice(2, 8)}`;
      const firstExp = expIn(2);
      const stream = await clients.ws(logsUrl(tokenOf(ann, firstExp, { appId })));
      expect((await stream.next('auth_success')).payload).toEqual({ appId, userId: ann.id });
      await stream.next('logs'); // the backlog
      stream.send({ type: 'subscribe', payload: { levels: ['error'] } });
      await stream.next('subscribed');

      const secondExp = firstExp + 3;
      stream.send({ type: 'auth', payload: { token: tokenOf(ann, secondExp, { appId }) } });
      expect((await stream.next('auth_success')).payload).toEqual({
        appId,
        userId: ann.id,
        expiresAt: secondExp * 1000,
      });
      stream.send({ type: 'auth', payload: { token: tokenOf(ann, expIn(60), { appId: 'another-app' }) } });
      expect((await stream.next('error')).payload).toEqual({
        code: 'AUTH_FAILED',
        message: 'Token is for another app',
        details: REFUSED,
      });

      await pastExpiry(firstExp);
      sample.app.get(LogStreamService).publish(appId, [
        { level: 'info', message: 'filtered out' },
        { level: 'error', message: 'still streaming' },
      ]);
      const live = (await stream.next('logs')).payload as LogEntry[];
      expect(live.map((entry) => entry.message)).toEqual(['still streaming']);

      expect((await stream.next('auth_error', 5000)).payload).toEqual({ message: 'Token expired' });
      expect(await stream.closedWithin()).toEqual({ code: 4401, reason: 'Token expired' });
      expect(Date.now()).toBeGreaterThanOrEqual(secondExp * 1000);
    });
  });

  describe('SDK', () => {
    /** Every state change and reconnection of a client from now on. */
    function watch(client: {
      onStateChange(listener: (change: StateChange) => void): () => void;
      onReconnect(listener: () => void): () => void;
    }) {
      const seen = { changes: [] as StateChange[], reconnects: 0 };
      client.onStateChange((change) => seen.changes.push(change));
      client.onReconnect(() => (seen.reconnects += 1));
      return seen;
    }

    it('refreshes 5-second tokens through the provider on every client: connected for 11 s and more, no reconnection, still receiving', async () => {
      const ann = await login('ann-sdk');
      const bob = await login('bob-sdk');
      const appId = `app-sdk-${Math.random().toString(36).slice(2, 8)}`;
      const room = newRoom();
      const issued = { rooms: 0, chat: 0, events: 0, logs: 0 };
      const provider = (client: keyof typeof issued) => () => {
        issued[client] += 1;
        return tokenOf(ann, expIn(5), { appId });
      };
      const base = { url: sample.url, reconnection: FAST_RETRY };
      const rooms = clients.track(new RoomsClient({ ...base, tokenProvider: provider('rooms') }));
      const chat = clients.track(new ChatClient({ ...base, tokenProvider: provider('chat') }));
      const events = clients.track(
        new RealtimeEventsClient({ ...base, tokenProvider: provider('events'), page: 'modules' }),
      );
      const logs = clients.track(new LogStreamClient({ ...base, tokenProvider: provider('logs') }));
      await Promise.all([rooms.connect(), chat.connect(), events.connect(), logs.connect()]);
      await rooms.joinRoom(room);
      await chat.join(room);
      await logs.subscribe({ levels: ['warn'] });
      const seen = [rooms, chat, events, logs].map(watch);
      const firstTokensExpireBy = Date.now() + 6000;
      const roomMessages: RoomMessagePayload[] = [];
      const chatMessages: ChatMessage[] = [];
      const modules: ModuleAddedPayload[] = [];
      const entries: LogEntry[] = [];
      rooms.on('room_message', (message) => roomMessages.push(message));
      chat.on('message', (message) => chatMessages.push(message));
      events.on('rt_module_added', (payload) => modules.push(payload));
      logs.on('logs', (batch) => entries.push(...batch));

      const started = Date.now();
      await waitUntil(() => Date.now() - started >= 11_000, 15_000);
      // Two token lifetimes and more: the first tokens expired long ago.
      expect(Date.now()).toBeGreaterThan(firstTokensExpireBy + 3000);

      const bobRooms = await joined(tokenOf(bob, expIn(60)), room);
      bobRooms.send({ type: 'room_message', data: { room, content: 'after 11 seconds' } });
      sample.app
        .get(RealtimeApi)
        .emitModuleAdded(ann.id, { moduleId: 'MC-SDK-REFRESH', name: 'S', type: 'Station' });
      sample.app.get(LogStreamService).publish(appId, [
        { level: 'info', message: 'not subscribed' },
        { level: 'warn', message: 'after 11 seconds' },
      ]);
      await eventually(
        () => roomMessages.some((m) => m.content === 'after 11 seconds'),
        5000,
        'rooms message',
      );
      await eventually(
        () => chatMessages.some((m) => m.message === 'after 11 seconds'),
        5000,
        'chat message',
      );
      await eventually(() => modules.some((m) => m.moduleId === 'MC-SDK-REFRESH'), 5000, 'rt_module_added');
      await eventually(() => entries.length > 0, 5000, 'logs');
      expect(entries.map((entry) => entry.message)).toEqual(['after 11 seconds']);

      for (const client of [rooms, chat, events, logs]) expect(client.state).toBe(ConnectionState.ACTIVE);
      expect(seen).toEqual([0, 1, 2, 3].map(() => ({ changes: [], reconnects: 0 })));
      // The first token, then one refresh per 80 % of a 5 to 6 s lifetime: at least two in 11 s (a
      // refresh leaves about a second before expiry, margin for a loaded machine).
      for (const count of Object.values(issued)) expect(count).toBeGreaterThanOrEqual(3);
    }, 40_000);

    it('reconnects with the fresh token when the server refuses the refresh (a token of another user)', async () => {
      const ann = await login('ann-sdk-refused');
      const bob = await login('bob-sdk-refused');
      const room = newRoom();
      const tokens = [tokenOf(ann, expIn(3)), tokenOf(bob, expIn(60))];
      let asked = 0;
      const rooms = clients.track(
        new RoomsClient({
          url: sample.url,
          reconnection: FAST_RETRY,
          tokenProvider: () => tokens[Math.min(asked++, 1)] as string,
        }),
      );
      await rooms.connect();
      await rooms.joinRoom(room);
      expect(rooms.userId).toBe(ann.id);
      const seen = watch(rooms);

      await eventually(() => seen.reconnects === 1, 8000, 'the reconnection');
      expect(seen.changes[0]).toMatchObject({
        from: ConnectionState.ACTIVE,
        to: ConnectionState.ERROR,
        final: false,
        reason: 'token refresh refused (Token is for another user); reconnecting with the fresh token',
      });
      expect(rooms.state).toBe(ConnectionState.ACTIVE);
      expect(rooms.userId).toBe(bob.id);
      expect(rooms.joinedRooms).toEqual([room]);
    }, 20_000);

    it('a Socket.IO session ended by its expired token asks the token provider at once (no attempt with the expired token)', async () => {
      const ann = await login('ann-sdk-expiry');
      let asked = 0;
      const chat = clients.track(
        new ChatClient({
          url: sample.url,
          reconnection: FAST_RETRY,
          tokenRefresh: false,
          tokenProvider: () => {
            asked += 1;
            return tokenOf(ann, expIn(asked === 1 ? 2 : 60));
          },
        }),
      );
      await chat.connect();
      const seen = watch(chat);
      await reachState(chat, ConnectionState.ERROR, 6000);
      await reachState(chat, ConnectionState.ACTIVE, 6000);
      expect(seen.changes.map(({ to }) => to)).toEqual([
        ConnectionState.ERROR,
        ConnectionState.RECONNECTING,
        ConnectionState.CONNECTING,
        ConnectionState.AUTHENTICATING,
        ConnectionState.CONNECTED,
        ConnectionState.ACTIVE,
      ]);
      expect(seen.changes[0]).toMatchObject({
        final: false,
        reason: 'AUTH_FAILED: Token expired; asking for a fresh token',
      });
      expect(asked).toBe(2);
    }, 20_000);
  });
});
