// Rooms that come into being on first use and the host's room policy, end to end on the sample app:
// the chat (Socket.IO) and the rooms endpoint (raw ws) see the same rooms and get the same answers;
// a refused or rate-limited creation stores nothing.
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import {
  RoomDirectory,
  type ChatMessage,
  type ChatMessageAck,
  type MessageHistoryData,
  type RealtimeErrorPayload,
  type RoomMessagePayload,
} from 'nest-realtime';
import { ChatClient } from './fixtures/seed-chat-client';
import { connectIo, nextEvent, TestWs } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

interface User {
  token: string;
  id: string;
  username: string;
}

/** The seed's class is untyped JavaScript: this is the surface the spec uses. */
interface SeedChatClient {
  socket: Socket;
  sendMessage(message: string, context?: Record<string, unknown>): void;
  disconnect(): void;
}

/** Clients of one running sample, closed after each test. */
class Clients {
  private readonly io: Socket[] = [];
  private readonly ws: TestWs[] = [];
  private seq = 0;

  constructor(readonly sample: RunningSample) {}

  async user(prefix: string): Promise<User> {
    this.seq += 1;
    const login = await this.sample.login(`${prefix}${this.seq}`);
    return { token: login.token, id: login.user.id, username: login.user.username };
  }

  async chat(user: User): Promise<Socket> {
    const socket = await connectIo(this.sample.url, { token: user.token });
    this.io.push(socket);
    return socket;
  }

  async rooms(user: User): Promise<TestWs> {
    const client = await TestWs.open(`ws://127.0.0.1:${this.sample.port}/ws/chat?token=${user.token}`);
    this.ws.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const socket of this.io.splice(0)) socket.close();
    const open = this.ws.splice(0);
    for (const client of open) client.close();
    await Promise.all(open.map((client) => client.closedWithin()));
  }
}

function post(socket: Socket, message: string, roomId: string): Promise<ChatMessageAck> {
  return socket
    .timeout(5000)
    .emitWithAck('message', { message, context: { roomId } }) as Promise<ChatMessageAck>;
}

function chatJoin(
  socket: Socket,
  roomId: string,
): Promise<{ roomId: string; joined: boolean } | { error: RealtimeErrorPayload }> {
  return socket.timeout(5000).emitWithAck('join', { roomId }) as Promise<
    { roomId: string; joined: boolean } | { error: RealtimeErrorPayload }
  >;
}

/** The error of a refused chat ack (fails when the ack was a success). */
function ackError(ack: unknown): RealtimeErrorPayload {
  expect(ack).toHaveProperty('error');
  return (ack as { error: RealtimeErrorPayload }).error;
}

async function wsJoin(client: TestWs, room: string): Promise<void> {
  client.send({ type: 'join_room', data: { room } });
  expect((await client.next('join_room_ack')).data).toMatchObject({ room, success: true });
}

async function wsHistory(client: TestWs, room: string): Promise<MessageHistoryData> {
  client.send({ type: 'room_history', data: { room, limit: 10 } });
  return (await client.next('message_history')).data as MessageHistoryData;
}

async function wsError(client: TestWs, frame: unknown): Promise<RealtimeErrorPayload> {
  client.send(frame);
  return (await client.next('error')).data as RealtimeErrorPayload;
}

const joinFrame = (room: string) => ({ type: 'join_room', data: { room } });
const messageFrame = (room: string, content: string) => ({
  type: 'room_message',
  data: { room, content, message_type: 'text' },
});
const historyFrame = (room: string) => ({ type: 'room_history', data: { room, limit: 10 } });

describe('rooms on first use and the room policy (default options, the sample policy)', () => {
  let sample: RunningSample;
  let clients: Clients;

  beforeAll(async () => {
    sample = await startSample();
    clients = new Clients(sample);
  });
  afterEach(() => clients.close());
  afterAll(() => sample.close());

  it("runs the chat specification's client verbatim: its message to room '123' is stored and the rooms endpoint sees the room", async () => {
    const mia = await clients.user('mia');
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const chat = new ChatClient(sample.url, mia.token) as unknown as SeedChatClient;
    try {
      await nextEvent(chat.socket, 'connect');
      const own = nextEvent<ChatMessage>(chat.socket, 'message');
      chat.sendMessage('Bonjour !', { roomId: '123' });
      expect(await own).toMatchObject({ message: 'Bonjour !', userId: mia.id, context: { roomId: '123' } });
      expect(error).not.toHaveBeenCalled();
    } finally {
      chat.disconnect();
      log.mockRestore();
      error.mockRestore();
    }

    const reader = await clients.rooms(await clients.user('reader'));
    await wsJoin(reader, '123');
    const history = await wsHistory(reader, '123');
    expect(history.messages.map((m) => [m.username, m.content])).toEqual([[mia.username, 'Bonjour !']]);
    expect(await sample.app.get(RoomDirectory).find('123')).toMatchObject({ isPrivate: false });
  });

  it('creates a room on a rooms-endpoint join; the chat then posts there and the ws member receives it', async () => {
    const [wsUser, ioUser] = [await clients.user('ws'), await clients.user('io')];
    const member = await clients.rooms(wsUser);
    await wsJoin(member, 'made-by-join');

    const socket = await clients.chat(ioUser);
    const delivered = member.next('room_message');
    const ack = await post(socket, 'hello from the chat', 'made-by-join');
    expect(ack).toEqual({ id: expect.stringMatching(/^\d+$/) });
    expect((await delivered).data).toMatchObject({
      room: 'made-by-join',
      content: 'hello from the chat',
      username: ioUser.username,
    } satisfies Partial<RoomMessagePayload>);

    // The chat's explicit join creates a room just the same, and the rooms endpoint can post there.
    expect(await chatJoin(socket, 'made-by-chat-join')).toEqual({
      roomId: 'made-by-chat-join',
      joined: true,
    });
    const atChat = nextEvent<ChatMessage>(socket, 'message');
    await wsJoin(member, 'made-by-chat-join');
    member.send(messageFrame('made-by-chat-join', 'hello from ws'));
    expect(await atChat).toMatchObject({
      message: 'hello from ws',
      context: { roomId: 'made-by-chat-join' },
    });
  });

  it('answers ROOM_NOT_FOUND for the history of a missing room and creates nothing', async () => {
    const client = await clients.rooms(await clients.user('hist'));
    const error = await wsError(client, historyFrame('never-used'));
    expect(error).toMatchObject({ code: 'ROOM_NOT_FOUND', details: { room: 'never-used' } });
    expect(await sample.app.get(RoomDirectory).find('never-used')).toBeNull();
  });

  it('keeps a private room invite-only on both endpoints', async () => {
    const [owner, outsider] = [await clients.user('owner'), await clients.user('outsider')];
    await request(sample.url)
      .post('/rooms')
      .set('Authorization', `Bearer ${owner.token}`)
      .send({ name: 'hideout', isPrivate: true })
      .expect(201);

    const socket = await clients.chat(outsider);
    expect(ackError(await post(socket, 'let me in', 'hideout'))).toMatchObject({
      code: 'PERMISSION_DENIED',
      details: { room: 'hideout' },
    });
    expect(ackError(await chatJoin(socket, 'hideout')).code).toBe('PERMISSION_DENIED');
    const ws = await clients.rooms(outsider);
    expect(await wsError(ws, joinFrame('hideout'))).toMatchObject({
      code: 'PERMISSION_DENIED',
      details: { room: 'hideout' },
    });
    expect(await sample.app.get(RoomDirectory).find('hideout')).toMatchObject({ isPrivate: true });

    const member = await clients.rooms(owner);
    await wsJoin(member, 'hideout');
  });

  it("applies the sample's policy: an admins- room refuses a non-admin's join, post and history on both endpoints; an admin passes", async () => {
    // The sample's login gives the user named "admin" the admin role.
    const adminLogin = await sample.login('admin');
    const root: User = {
      token: adminLogin.token,
      id: adminLogin.user.id,
      username: adminLogin.user.username,
    };
    const someone = await clients.user('someone');

    // The admin brings the room into being from the chat, and reads it from the rooms endpoint.
    const rootChat = await clients.chat(root);
    expect(await post(rootChat, 'for admins', 'admins-ops')).toHaveProperty('id');
    const rootWs = await clients.rooms(root);
    await wsJoin(rootWs, 'admins-ops');
    expect((await wsHistory(rootWs, 'admins-ops')).messages.map((m) => m.content)).toEqual(['for admins']);

    const refused = { code: 'PERMISSION_DENIED', details: { room: 'admins-ops' } };
    const socket = await clients.chat(someone);
    expect(ackError(await post(socket, 'hello?', 'admins-ops'))).toMatchObject(refused);
    expect(ackError(await chatJoin(socket, 'admins-ops'))).toMatchObject(refused);
    const ws = await clients.rooms(someone);
    expect(await wsError(ws, joinFrame('admins-ops'))).toMatchObject(refused);
    expect(await wsError(ws, messageFrame('admins-ops', 'hello?'))).toMatchObject(refused);
    expect(await wsError(ws, historyFrame('admins-ops'))).toMatchObject(refused);
    // Nothing of the refused user was stored.
    expect((await wsHistory(rootWs, 'admins-ops')).messages.map((m) => m.content)).toEqual(['for admins']);
    // Other rooms are the library's rules as usual.
    expect(await post(socket, 'elsewhere', 'not-admins-ops')).toHaveProperty('id');
  });
});

describe('the room policy and the creation limit before a room is created (default options, the sample policy)', () => {
  let sample: RunningSample;
  let clients: Clients;

  beforeAll(async () => {
    sample = await startSample();
    clients = new Clients(sample);
  });
  afterEach(() => clients.close());
  afterAll(() => sample.close());

  it("stores no room for a join or a post the sample's policy refuses, on either endpoint", async () => {
    const someone = await clients.user('creator');
    const directory = sample.app.get(RoomDirectory);

    const socket = await clients.chat(someone);
    expect(ackError(await post(socket, 'mine now', 'admins-x'))).toMatchObject({
      code: 'PERMISSION_DENIED',
      details: { room: 'admins-x' },
    });
    expect(ackError(await chatJoin(socket, 'admins-x')).code).toBe('PERMISSION_DENIED');
    expect(await directory.find('admins-x')).toBeNull();

    const ws = await clients.rooms(someone);
    expect(await wsError(ws, joinFrame('admins-y'))).toMatchObject({
      code: 'PERMISSION_DENIED',
      details: { room: 'admins-y' },
    });
    expect(await directory.find('admins-y')).toBeNull();
  });

  it('answers RATE_LIMITED with retry_after_ms once a user has created its rooms for the minute, and stores no more', async () => {
    // The room-create bucket of docs/rooms.md: 10 rooms per user per minute, 30 per hour.
    const perMinute = 10;
    const busy = await clients.user('busy');
    const directory = sample.app.get(RoomDirectory);
    const ws = await clients.rooms(busy);
    for (let index = 0; index < perMinute; index += 1) await wsJoin(ws, `busy-room-${index}`);
    const before = (await directory.list()).length;

    const limited = {
      code: 'RATE_LIMITED',
      details: {
        bucket: 'room-create',
        window: 'minute',
        limit: perMinute,
        retry_after_ms: expect.any(Number),
      },
    };
    expect(await wsError(ws, joinFrame('busy-room-extra'))).toMatchObject(limited);
    const socket = await clients.chat(busy);
    expect(ackError(await post(socket, 'one more', 'busy-room-chat'))).toMatchObject(limited);
    expect((await directory.list()).length).toBe(before);
    expect(await directory.find('busy-room-extra')).toBeNull();

    // Rooms that exist stay open to the user, and other users create their own.
    expect(await post(socket, 'still here', 'busy-room-0')).toHaveProperty('id');
    const other = await clients.chat(await clients.user('calm'));
    expect(await post(other, 'my room', 'calm-room')).toHaveProperty('id');
  });
});

describe('rooms on first use turned off (rooms.autoCreate: false)', () => {
  let sample: RunningSample;
  let clients: Clients;

  beforeAll(async () => {
    sample = await startSample({ overrides: { rooms: { autoCreate: false } } });
    clients = new Clients(sample);
  });
  afterEach(() => clients.close());
  afterAll(() => sample.close());

  it('answers ROOM_NOT_FOUND on both endpoints and creates nothing', async () => {
    const user = await clients.user('off');
    const notFound = { code: 'ROOM_NOT_FOUND', message: 'Room not found', details: { room: 'nowhere' } };
    const socket = await clients.chat(user);
    expect(ackError(await post(socket, 'hm', 'nowhere'))).toEqual(notFound);
    expect(ackError(await chatJoin(socket, 'nowhere'))).toEqual(notFound);
    const ws = await clients.rooms(user);
    for (const frame of [joinFrame('nowhere'), messageFrame('nowhere', 'hm'), historyFrame('nowhere')]) {
      expect(await wsError(ws, frame)).toEqual(notFound);
    }
    expect(await sample.app.get(RoomDirectory).find('nowhere')).toBeNull();
    // Rooms that exist are used as before.
    expect(await post(socket, 'in general', 'general')).toHaveProperty('id');
  });
});

describe('rooms on first use at the cap (rooms.maxRooms)', () => {
  let sample: RunningSample;
  let clients: Clients;

  beforeAll(async () => {
    // "general" is created at start: one more room may come into being.
    sample = await startSample({ overrides: { rooms: { maxRooms: 2 } } });
    clients = new Clients(sample);
  });
  afterEach(() => clients.close());
  afterAll(() => sample.close());

  it('answers ROOM_NOT_FOUND with reason room_limit on both endpoints once the store holds maxRooms rooms', async () => {
    const user = await clients.user('cap');
    const socket = await clients.chat(user);
    expect(await post(socket, 'the last one', 'last-room')).toHaveProperty('id');

    const atCap = {
      code: 'ROOM_NOT_FOUND',
      message: expect.stringContaining('maximum of 2 rooms'),
      details: { room: 'one-too-many', reason: 'room_limit', max_rooms: 2 },
    };
    expect(ackError(await post(socket, 'hm', 'one-too-many'))).toEqual(atCap);
    expect(ackError(await chatJoin(socket, 'one-too-many'))).toEqual(atCap);
    const ws = await clients.rooms(user);
    expect(await wsError(ws, joinFrame('one-too-many'))).toEqual(atCap);
    expect(await wsError(ws, messageFrame('one-too-many', 'hm'))).toEqual(atCap);
    expect((await sample.app.get(RoomDirectory).list()).map((room) => room.name)).toEqual([
      'general',
      'last-room',
    ]);

    // Existing rooms stay usable at the cap.
    await wsJoin(ws, 'last-room');
    expect((await wsHistory(ws, 'last-room')).messages.map((m) => m.content)).toEqual(['the last one']);
  });
});
