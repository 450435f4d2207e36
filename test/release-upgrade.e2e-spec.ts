// Upgrade: the current sample app boots on a copy of the library database that release 0.1.0 wrote
// (test/fixtures/releases/0.1.0, see its README for how it was produced and what it holds), runs the
// migrations, and serves the old users, rooms, direct messages and log backlog through its public
// interfaces, then stores new messages after the old ones.
import { getDataSourceToken } from '@nestjs/typeorm';
import type { Socket } from 'socket.io-client';
import type { DataSource } from 'typeorm';
import {
  LogStreamService,
  REALTIME_CONNECTION,
  type HistoryMessage,
  type LogEntry,
  type MessageHistoryData,
  type RealtimeErrorPayload,
} from 'nest-realtime';
// Internal: the migrations of the current version, to compare with what the database records.
import { REALTIME_MIGRATIONS } from 'nest-realtime/storage/typeorm/migrations';
import { connectIo, nextEvent, TestWs, type WsFrame } from './support/clients';
import {
  appliedMigrations,
  copyReleaseDatabase,
  hasPendingMigrations,
  type ReleaseDataDir,
} from './support/release-fixture';
import { startSample, type RunningSample } from './support/sample-app';

/** What release 0.1.0 wrote (the fixture's README lists the same). */
const V010 = {
  users: { admin: '1', alice: '2', bob: '3', carol: '4', dave: '5' },
  migrations: [
    { id: 1, timestamp: 1732300000000, name: 'CreateUsers1732300000000' },
    { id: 2, timestamp: 1732300000001, name: 'CreateConversations1732300000001' },
    { id: 3, timestamp: 1732300000002, name: 'CreateLogEntries1732300000002' },
    { id: 4, timestamp: 1732300000003, name: 'IndexDirectConversations1732300000003' },
    { id: 5, timestamp: 1732300000004, name: 'PartialHistoryIndexes1732300000004' },
  ],
  /** Newest message id of the whole database (rooms and direct messages share one sequence). */
  lastMessageId: 10,
  /** Newest message id of town-square. */
  lastTownSquareId: 4,
  releaseAppLogIds: [
    '1796585812794-0000000001-2fcee1',
    '1796585812794-0000000002-2fcee1',
    '1796585812794-0000000003-2fcee1',
    '1796585812794-0000000004-2fcee1',
    '1796585812794-0000000005-2fcee1',
  ],
  otherAppLogIds: ['1796585812799-0000000006-2fcee1'],
};

interface Login {
  token: string;
  id: string;
}

/** The fields of a history message a spec compares (created_at is checked on its own). */
function brief(message: HistoryMessage) {
  const { created_at: createdAt, ...rest } = message;
  expect(new Date(createdAt).toISOString()).toBe(createdAt);
  return rest;
}

describe('Upgrade: the current version on a database written by release 0.1.0', () => {
  let fixture: ReleaseDataDir;
  let sample: RunningSample;
  const clients: TestWs[] = [];
  const sockets: Socket[] = [];

  async function login(username: string, appId?: string): Promise<Login> {
    const result = await sample.login(username, appId === undefined ? {} : { appId });
    return { token: result.token, id: result.user.id };
  }

  async function openChat(user: Login): Promise<TestWs> {
    const client = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/chat?token=${user.token}`);
    clients.push(client);
    return client;
  }

  async function openLogs(token: string): Promise<TestWs> {
    const client = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/logs?token=${token}`);
    clients.push(client);
    return client;
  }

  async function ask(client: TestWs, type: string, data: object): Promise<MessageHistoryData> {
    client.send({ type, data });
    return (await client.next('message_history')).data as MessageHistoryData;
  }

  function realtimeDataSource(): DataSource {
    return sample.app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION));
  }

  async function refusal(client: TestWs, frame: object): Promise<RealtimeErrorPayload> {
    client.send(frame);
    return (await client.next('error')).data as RealtimeErrorPayload;
  }

  beforeAll(async () => {
    fixture = copyReleaseDatabase('0.1.0');
    sample = await startSample({
      config: { dataDir: fixture.dataDir },
      overrides: { stream: { persist: true } },
    });
  });

  afterEach(async () => {
    const open = clients.splice(0);
    for (const client of open) client.close();
    await Promise.all(open.map((client) => client.closedWithin()));
    while (sockets.length) sockets.pop()?.close();
  });

  afterAll(async () => {
    await sample?.close();
    fixture?.remove();
  });

  it('boots: the migrations 0.1.0 applied are kept as they were, and every current migration is applied once', async () => {
    const applied = await appliedMigrations(sample.app);
    expect(applied.slice(0, V010.migrations.length)).toEqual(V010.migrations);
    expect(applied.map((row) => row.name)).toEqual(REALTIME_MIGRATIONS.map((migration) => migration.name));
    expect(await hasPendingMigrations(sample.app)).toBe(false);
  });

  it('existing users log in with the ids and e-mail 0.1.0 gave them; a new user gets the next id', async () => {
    for (const [username, id] of Object.entries(V010.users)) {
      const result = await sample.login(username);
      expect(result.user).toMatchObject({ id, username, isAdmin: username === 'admin' });
    }
    expect((await sample.login('alice')).user.email).toBe('alice@example.com');
    expect((await sample.login('erin')).user.id).toBe('6');
  });

  it('room history returns the 0.1.0 messages in order, with the reply and reaction links intact', async () => {
    const dave = await openChat(await login('dave'));
    const history = await ask(dave, 'room_history', { room: 'town-square', limit: 50 });
    expect(history).toMatchObject({ room: 'town-square', total: 4, has_more: false });
    expect(history.messages.map(brief)).toEqual([
      { id: 1, user_id: 2, username: 'alice', content: 'Hello from release 0.1.0', message_type: 'text' },
      { id: 2, user_id: 3, username: 'bob', content: 'Welcome, alice!', message_type: 'text', reply_to: 1 },
      { id: 3, user_id: 4, username: 'carol', content: 'carol here, via Socket.IO', message_type: 'text' },
      { id: 4, user_id: 2, username: 'alice', content: '+1', message_type: 'reaction', reply_to: 2 },
    ]);
    const times = history.messages.map((message) => Date.parse(message.created_at));
    expect([...times].sort((x, y) => x - y)).toEqual(times);

    // The lobby message carol sent through Socket.IO without a room.
    const lobby = await ask(dave, 'room_history', { room: 'general' });
    expect(lobby.messages.map(brief)).toEqual([
      { id: 5, user_id: 4, username: 'carol', content: 'hello lobby', message_type: 'text' },
    ]);
  });

  it('direct-message history between alice and bob is there, from both sides', async () => {
    const alice = await openChat(await login('alice'));
    const bob = await openChat(await login('bob'));
    const fromAlice = await ask(alice, 'dm_history', { with_user: 3 });
    expect(fromAlice).toMatchObject({ with_user: 3, total: 3, has_more: false });
    expect(fromAlice.messages.map(brief)).toEqual([
      { id: 8, user_id: 2, username: 'alice', to_user_id: 3, content: 'hi bob, a DM', message_type: 'text' },
      {
        id: 9,
        user_id: 3,
        username: 'bob',
        to_user_id: 2,
        content: 'hi alice, got it',
        message_type: 'text',
        reply_to: 8,
      },
      {
        id: 10,
        user_id: 2,
        username: 'alice',
        to_user_id: 3,
        content: 'see you in 0.2',
        message_type: 'text',
      },
    ]);
    const fromBob = await ask(bob, 'dm_history', { with_user: '2' });
    expect(fromBob.messages.map((message) => message.id)).toEqual([8, 9, 10]);

    alice.send({ type: 'dm_conversations', data: {} });
    expect((await alice.next('dm_conversations')).data).toEqual({
      conversations: [{ with_user: 3, last_id: 10 }],
      has_more: false,
    });
    // carol had no direct messages in 0.1.0.
    const carol = await openChat(await login('carol'));
    expect(await ask(carol, 'dm_history', { with_user: 2 })).toMatchObject({ messages: [], total: 0 });
  });

  it('the private room still refuses a non-member and still admits its members', async () => {
    const dave = await openChat(await login('dave'));
    for (const frame of [
      { type: 'join_room', data: { room: 'staff-room' } },
      { type: 'room_history', data: { room: 'staff-room' } },
    ]) {
      expect(await refusal(dave, frame)).toMatchObject({
        code: 'PERMISSION_DENIED',
        details: { room: 'staff-room' },
      });
    }
    const carol = await connectIo(sample.url, { token: (await login('carol')).token });
    sockets.push(carol);
    const ioAnswer = (await carol.timeout(5000).emitWithAck('join', { roomId: 'staff-room' })) as {
      error?: RealtimeErrorPayload;
    };
    expect(ioAnswer.error).toMatchObject({ code: 'PERMISSION_DENIED' });

    const bob = await openChat(await login('bob'));
    bob.send({ type: 'join_room', data: { room: 'staff-room' } });
    expect((await bob.next('join_room_ack')).data).toMatchObject({ room: 'staff-room', success: true });
    const history = await ask(bob, 'room_history', { room: 'staff-room' });
    expect(history.messages.map(brief)).toEqual([
      { id: 6, user_id: 1, username: 'admin', content: 'staff only: release plan', message_type: 'text' },
      { id: 7, user_id: 3, username: 'bob', content: 'noted', message_type: 'text', reply_to: 6 },
    ]);
  });

  it('delivers the persisted log backlog of each app after auth, then new entries live', async () => {
    const producer = await login('alice', 'release-app');
    const client = await openLogs(producer.token);
    await client.next('connect');
    expect((await client.next('auth_success')).payload).toEqual({ appId: 'release-app', userId: '2' });
    const backlog = (await client.next('logs')).payload as LogEntry[];
    expect(backlog.map((entry) => entry.id)).toEqual(V010.releaseAppLogIds);
    expect(
      backlog.map(({ level, message, metadata, appId, userId }) => ({
        level,
        message,
        metadata,
        appId,
        userId,
      })),
    ).toEqual([
      {
        level: 'info',
        message: 'release-app started',
        metadata: undefined,
        appId: 'release-app',
        userId: '2',
      },
      {
        level: 'debug',
        message: 'cache warmed',
        metadata: { entries: 42 },
        appId: 'release-app',
        userId: '2',
      },
      {
        level: 'warn',
        message: 'slow query',
        metadata: { ms: 1234, table: 'orders' },
        appId: 'release-app',
        userId: '2',
      },
      {
        level: 'error',
        message: 'payment failed',
        metadata: { orderId: 'A-17' },
        appId: 'release-app',
        userId: '2',
      },
      {
        level: 'info',
        message: 'release-app stopping',
        metadata: undefined,
        appId: 'release-app',
        userId: '2',
      },
    ]);
    expect(backlog[0]?.timestamp).toBe(1732300000000);

    const other = await openLogs((await login('bob', 'other-app')).token);
    await other.next('auth_success');
    const otherBacklog = (await other.next('logs')).payload as LogEntry[];
    expect(otherBacklog.map((entry) => [entry.id, entry.message])).toEqual([
      [V010.otherAppLogIds[0], 'other app entry'],
    ]);

    // A new entry still reaches the subscriber live, after the backlog.
    const [published] = sample.app
      .get(LogStreamService)
      .publish('release-app', { level: 'info', message: 'after the upgrade', userId: '2' });
    const live = (await client.next('logs')).payload as LogEntry[];
    expect(live.map((entry) => [entry.id, entry.message])).toEqual([[published?.id, 'after the upgrade']]);
  });

  it('numbers the 0.1.0 messages of each conversation in id order, and each counter continues from there', async () => {
    const db = realtimeDataSource();
    const messages = await db.query<Array<{ id: number; seq: number }>>(
      'SELECT id, seq FROM rt_messages ORDER BY id',
    );
    // town-square 1-4, general 5, staff-room 6-7, the alice|bob conversation 8-10.
    expect(messages.map((message) => [message.id, message.seq])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 1],
      [6, 1],
      [7, 2],
      [8, 1],
      [9, 2],
      [10, 3],
    ]);
    expect(await db.query('SELECT name, message_count, last_seq FROM rt_rooms ORDER BY id')).toEqual([
      { name: 'general', message_count: 1, last_seq: 1 },
      { name: 'town-square', message_count: 4, last_seq: 4 },
      { name: 'staff-room', message_count: 2, last_seq: 2 },
    ]);
    expect(await db.query('SELECT dm_key, message_count, last_seq FROM rt_dm_threads')).toEqual([
      { dm_key: '2|3', message_count: 3, last_seq: 3 },
    ]);
  });

  // Writes: kept last, so that the history assertions above see the database as 0.1.0 left it.
  it('a new message gets an id above the old ones, and catch-up by after_id returns exactly it', async () => {
    const aliceLogin = await login('alice');
    const alice = await openChat(aliceLogin);
    const bob = await openChat(await login('bob'));
    for (const client of [alice, bob]) {
      client.send({ type: 'join_room', data: { room: 'town-square' } });
      await client.next('join_room_ack');
    }
    alice.send({
      type: 'room_message',
      data: { room: 'town-square', content: 'first message after the upgrade', reply_to: 1 },
    });
    const delivered: WsFrame = await bob.next('room_message');
    const fresh = delivered.data as { id: number; content: string; reply_to?: number };
    expect(fresh).toMatchObject({ content: 'first message after the upgrade', reply_to: 1 });
    expect(fresh.id).toBeGreaterThan(V010.lastMessageId);

    const catchUp = await ask(bob, 'room_history', { room: 'town-square', after_id: V010.lastTownSquareId });
    expect(catchUp.messages.map((message) => [message.id, message.content])).toEqual([
      [fresh.id, 'first message after the upgrade'],
    ]);
    expect(catchUp).toMatchObject({ total: 5, has_more: false });
    // Its place in town-square follows the four messages of 0.1.0.
    expect(await realtimeDataSource().query('SELECT seq FROM rt_messages WHERE id = ?', [fresh.id])).toEqual([
      { seq: 5 },
    ]);

    // Direct messages share the sequence: a new one also lands after every old id.
    const carol = await connectIo(sample.url, { token: (await login('carol')).token });
    sockets.push(carol);
    bob.send({ type: 'direct_message', data: { to_user_id: 2, content: 'still here after the upgrade' } });
    const dm = (await alice.next('direct_message')).data as { id: number };
    expect(dm.id).toBeGreaterThan(fresh.id);
    const dmCatchUp = await ask(alice, 'dm_history', { with_user: 3, after_id: V010.lastMessageId });
    expect(dmCatchUp.messages.map((message) => [message.id, message.content])).toEqual([
      [dm.id, 'still here after the upgrade'],
    ]);

    // Socket.IO reads the same store: carol (in the lobby) gets a ws message there, numbered after it all.
    alice.send({ type: 'join_room', data: { room: 'general' } });
    await alice.next('join_room_ack');
    const atCarol = nextEvent<{ id: string; message: string }>(carol, 'message');
    alice.send({ type: 'room_message', data: { room: 'general', content: 'hello lobby, again' } });
    const lobby = await atCarol;
    expect(lobby).toMatchObject({ message: 'hello lobby, again', userId: '2' });
    expect(Number(lobby.id)).toBeGreaterThan(dm.id);
  });
});
