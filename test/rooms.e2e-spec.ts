// Seed 003 end to end: the sample app on port 0, real `ws` clients on /ws/chat (and one Socket.IO
// client), users created through the sample's /auth/login and rooms through its /rooms REST.
// "Received nothing" is proven with an ordering barrier: a later frame on the same connection (pong).
import request from 'supertest';
import { runInNewContext } from 'vm';
import WebSocket from 'ws';
import {
  ConversationBus,
  RoomDirectory,
  RoomMembersRegistry,
  type DirectMessagePayload,
  type DmConversationListData,
  type MessageHistoryData,
  type RoomMessagePayload,
  type StoredMessage,
} from 'nest-realtime';
// Internal: the specs' stored-message fixture.
import { storedMessage } from 'nest-realtime/conversations/stored-message.helper-spec';
import { connectIo, TestWs, waitUntil, type WsFrame } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

interface TestUser {
  token: string;
  id: string;
  /** The id as the wire shows it (numeric ids are numbers). */
  wire: number;
  name: string;
}

/** One running sample app with helpers bound to it. */
class ChatHarness {
  private readonly clients: TestWs[] = [];
  private seq = 0;

  constructor(readonly sample: RunningSample) {}

  async user(prefix = 'user'): Promise<TestUser> {
    this.seq += 1;
    const login = await this.sample.login(`${prefix}${this.seq}`);
    return { token: login.token, id: login.user.id, wire: Number(login.user.id), name: login.user.username };
  }

  async open(user: TestUser, query = '', options: WebSocket.ClientOptions = {}): Promise<TestWs> {
    const client = await TestWs.open(
      `ws://127.0.0.1:${this.sample.port}/ws/chat?token=${user.token}${query}`,
      options,
    );
    this.clients.push(client);
    return client;
  }

  async join(client: TestWs, room: string): Promise<WsFrame> {
    client.send({ type: 'join_room', data: { room } });
    return client.next('join_room_ack');
  }

  /** A fresh public or private room, created through the sample's REST by `creator`. */
  async room(creator: TestUser, prefix: string, isPrivate = false): Promise<string> {
    this.seq += 1;
    const name = `${prefix}-${this.seq}`;
    await request(this.sample.url)
      .post('/rooms')
      .set('Authorization', `Bearer ${creator.token}`)
      .send({ name, isPrivate })
      .expect(201);
    return name;
  }

  async closeClients(): Promise<void> {
    const open = this.clients.splice(0);
    for (const client of open) client.close();
    await Promise.all(open.map((client) => client.closedWithin()));
  }
}

/** Ordering barrier: once the pong is back, every frame sent to this client before it has arrived. */
async function barrier(client: TestWs): Promise<void> {
  client.send({ type: 'ping', data: {} });
  await client.next('pong');
}

function typesOf(client: TestWs): string[] {
  return client.frames.map((frame) => frame.type);
}

async function expectError(client: TestWs, code: string, details?: Record<string, unknown>) {
  const frame = await client.next('error');
  expect(frame.data).toMatchObject({ code, ...(details ? { details } : {}) });
  expect(typeof (frame.data as { message: unknown }).message).toBe('string');
  return frame.data as { code: string; message: string; details: Record<string, unknown> };
}

function expectIsoTimestamp(value: unknown): void {
  expect(typeof value).toBe('string');
  expect(new Date(value as string).toISOString()).toBe(value);
}

function text(room: string, content: string) {
  return { type: 'room_message', data: { room, content, message_type: 'text' } };
}

describe('/ws/chat (seed 003) with default options', () => {
  let sample: RunningSample;
  let chat: ChatHarness;

  beforeAll(async () => {
    sample = await startSample();
    chat = new ChatHarness(sample);
  });
  afterEach(async () => {
    await chat.closeClients();
  });
  afterAll(async () => {
    await sample.close();
  });

  describe('connection', () => {
    it('accepts the token in ?token= or in an Authorization: Bearer header, and answers ping with pong { timestamp }', async () => {
      const alice = await chat.user('alice');
      const byQuery = await chat.open(alice);
      const byHeader = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/chat`, {
        headers: { Authorization: `Bearer ${alice.token}` },
      });
      try {
        for (const client of [byQuery, byHeader]) {
          client.send({ type: 'ping', data: {} });
          const pong = await client.next('pong');
          expectIsoTimestamp(pong.timestamp);
          expectIsoTimestamp((pong.data as { timestamp: unknown }).timestamp);
          expect(Object.keys(pong.data as object)).toEqual(['timestamp']);
        }
      } finally {
        byHeader.close();
      }
    });

    it('AUTH_FAILED: a missing or forged token gets an error frame, then close 4401', async () => {
      for (const query of ['', '?token=not-a-jwt']) {
        const client = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/chat${query}`);
        const error = await client.next('error');
        expect(error.data).toMatchObject({ code: 'AUTH_FAILED' });
        expectIsoTimestamp(error.timestamp);
        expect((await client.closedWithin()).code).toBe(4401);
      }
    });

    it('does not negotiate permessage-deflate when compression is off (the default), even if offered', async () => {
      const client = await chat.open(await chat.user(), '', { perMessageDeflate: true });
      expect(client.socket.extensions).toBe('');
    });

    it('closes a frame over the maximum payload (default 1 MiB) with 1009', async () => {
      const client = await chat.open(await chat.user());
      client.send(JSON.stringify(text('general', 'x'.repeat(1024 * 1024))));
      expect((await client.closedWithin()).code).toBe(1009);
    });
  });

  describe('rooms', () => {
    it('join_room → join_room_ack; a room_message is stored, then delivered to every member, the sender included', async () => {
      const alice = await chat.user('alice');
      const bob = await chat.user('bob');
      const a = await chat.open(alice);
      const b = await chat.open(bob);
      const ack = await chat.join(a, 'general');
      expect(ack.data).toEqual({ room: 'general', success: true, message: 'Joined room successfully' });
      expectIsoTimestamp(ack.timestamp);
      await chat.join(b, 'general');

      a.send(text('general', 'Bonjour tout le monde !'));
      const [toAlice, toBob] = await Promise.all([a.next('room_message'), b.next('room_message')]);
      expect(toBob.data).toEqual({
        id: expect.any(Number),
        room: 'general',
        user_id: alice.wire,
        username: alice.name,
        content: 'Bonjour tout le monde !',
        message_type: 'text',
        created_at: expect.any(String),
      });
      expect(toBob.user_id).toBe(alice.wire);
      expectIsoTimestamp(toBob.timestamp);
      expectIsoTimestamp((toBob.data as RoomMessagePayload).created_at);
      // The sender learns the stored id from the same frame the others get.
      expect(toAlice.data).toEqual(toBob.data);

      // Delivered after it was stored: the history already holds it, under the same id.
      b.send({ type: 'room_history', data: { room: 'general', limit: 1 } });
      const history = (await b.next('message_history')).data as MessageHistoryData;
      expect(history.room).toBe('general');
      expect(history.messages).toEqual([
        {
          id: (toBob.data as RoomMessagePayload).id,
          user_id: alice.wire,
          username: alice.name,
          content: 'Bonjour tout le monde !',
          message_type: 'text',
          created_at: (toBob.data as RoomMessagePayload).created_at,
        },
      ]);
    });

    it('serialises a room broadcast once, whatever the number of recipients', async () => {
      const users = await Promise.all([chat.user(), chat.user(), chat.user(), chat.user()]);
      const clients = await Promise.all(users.map((user) => chat.open(user)));
      const room = await chat.room(users[0], 'fanout');
      for (const client of clients) await chat.join(client, room);
      const sender = clients[0] as TestWs;
      const frame = JSON.stringify(text(room, 'counted'));
      const stringify = jest.spyOn(JSON, 'stringify');
      try {
        sender.send(frame);
        const received = await Promise.all(clients.map((client) => client.next('room_message')));
        expect(received.map((f) => (f.data as RoomMessagePayload).content)).toEqual(
          clients.map(() => 'counted'),
        );
        const roomMessageSerialisations = stringify.mock.calls.filter(
          ([value]) => (value as { type?: unknown } | null)?.type === 'room_message',
        );
        expect(roomMessageSerialisations).toHaveLength(1);
      } finally {
        stringify.mockRestore();
      }
    });

    it('a missing room: ROOM_NOT_FOUND (details.room) for room_history and leave_room; room_message asks for a join first; nothing is created', async () => {
      const client = await chat.open(await chat.user());
      const frames = [
        { type: 'room_history', data: { room: 'nonexistent_room', limit: 10, offset: 0 } },
        { type: 'leave_room', data: { room: 'nonexistent_room' } },
      ];
      for (const frame of frames) {
        client.send(frame);
        const error = await expectError(client, 'ROOM_NOT_FOUND', { room: 'nonexistent_room' });
        expect(error.message).toBe('Room not found');
      }
      // A join would bring the room into being (rooms.autoCreate), so an unjoined post is told to join.
      client.send(text('nonexistent_room', 'hello?'));
      const error = await expectError(client, 'PERMISSION_DENIED', { room: 'nonexistent_room' });
      expect(error.message).toBe('Join the room before sending to it');
      expect(await sample.app.get(RoomDirectory).find('nonexistent_room')).toBeNull();
    });

    it('PERMISSION_DENIED for a room_message to a room the connection has not joined; nothing is stored or sent', async () => {
      const alice = await chat.user('alice');
      const bob = await chat.user('bob');
      const room = await chat.room(bob, 'notjoined');
      const a = await chat.open(alice);
      const b = await chat.open(bob);
      await chat.join(b, room);
      const a2 = await chat.open(alice);
      await chat.join(a2, room); // the user's other connection joined: this one still may not send

      a.send(text(room, 'not a member here'));
      await expectError(a, 'PERMISSION_DENIED', { room });
      await barrier(b);
      expect(typesOf(b)).not.toContain('room_message');
      b.send({ type: 'room_history', data: { room } });
      expect(((await b.next('message_history')).data as MessageHistoryData).total).toBe(0);
    });

    it('private rooms admit members only (PERMISSION_DENIED); an admin adds a member through the REST', async () => {
      const admin = await chat.user('admin-ish');
      const realAdmin = { ...(await sample.login('admin')) };
      const adminUser: TestUser = {
        token: realAdmin.token,
        id: realAdmin.user.id,
        wire: Number(realAdmin.user.id),
        name: 'admin',
      };
      const alice = await chat.user('alice');
      const room = await chat.room(adminUser, 'vip', true);
      const a = await chat.open(alice);

      a.send({ type: 'join_room', data: { room } });
      await expectError(a, 'PERMISSION_DENIED', { room });
      a.send({ type: 'room_history', data: { room } });
      await expectError(a, 'PERMISSION_DENIED', { room });

      // A non-admin may not add members to a private room; an admin may.
      await request(sample.url)
        .post(`/rooms/${room}/members`)
        .set('Authorization', `Bearer ${admin.token}`)
        .send({ userId: alice.wire })
        .expect(403);
      await request(sample.url)
        .post(`/rooms/${room}/members`)
        .set('Authorization', `Bearer ${adminUser.token}`)
        .send({ userId: alice.wire })
        .expect(200, { room, userId: alice.id });
      await request(sample.url)
        .post(`/rooms/${room}/members`)
        .set('Authorization', `Bearer ${adminUser.token}`)
        .send({ userId: '999999' })
        .expect(404);
      await request(sample.url)
        .post('/rooms/no-such-room/members')
        .set('Authorization', `Bearer ${adminUser.token}`)
        .send({ userId: alice.id })
        .expect(404);
      await request(sample.url)
        .post('/rooms')
        .set('Authorization', `Bearer ${adminUser.token}`)
        .send({ name: room })
        .expect(409);
      await request(sample.url).post('/rooms').send({ name: 'anonymous' }).expect(401);

      expect((await chat.join(a, room)).data).toMatchObject({ room, success: true });
      a.send(text(room, 'members only'));
      expect(((await a.next('room_message')).data as RoomMessagePayload).content).toBe('members only');
    });

    it('user_connected / user_disconnected on join, leave and drop: once per user, not per connection', async () => {
      const carol = await chat.user('carol');
      const alice = await chat.user('alice');
      const bob = await chat.user('bob');
      const room = await chat.room(carol, 'presence');
      const observer = await chat.open(carol);
      await chat.join(observer, room);

      const a1 = await chat.open(alice);
      await chat.join(a1, room);
      const joined = await observer.next('user_connected');
      expect(joined.data).toEqual({ user_id: alice.wire, username: alice.name, room });
      expectIsoTimestamp(joined.timestamp);

      // Alice's second connection in the room: she is already announced.
      const a2 = await chat.open(alice);
      await chat.join(a2, room);
      const b = await chat.open(bob);
      await chat.join(b, room);
      expect((await observer.next('user_connected')).data).toEqual({
        user_id: bob.wire,
        username: bob.name,
        room,
      });
      expect((await a1.next('user_connected')).data).toMatchObject({ user_id: bob.wire });
      expect(typesOf(observer)).not.toContain('user_connected');

      // a1 leaves: alice is still in through a2, and a1 no longer receives the room's messages.
      a1.send({ type: 'leave_room', data: { room } });
      expect((await a1.next('leave_room_ack')).data).toEqual({
        room,
        success: true,
        message: 'Left room successfully',
      });
      observer.send(text(room, 'after a1 left'));
      expect(((await a2.next('room_message')).data as RoomMessagePayload).content).toBe('after a1 left');
      await observer.next('room_message');
      await barrier(a1);
      expect(typesOf(a1)).not.toContain('room_message');
      expect(typesOf(observer)).not.toContain('user_disconnected');

      // a2 drops: alice's last connection in the room.
      a2.close();
      const left = await observer.next('user_disconnected');
      expect(left.data).toEqual({ user_id: alice.wire, username: alice.name, room });
      expect((await b.next('user_disconnected')).data).toMatchObject({ user_id: alice.wire });

      // bob leaves explicitly.
      b.send({ type: 'leave_room', data: { room } });
      await b.next('leave_room_ack');
      expect((await observer.next('user_disconnected')).data).toEqual({
        user_id: bob.wire,
        username: bob.name,
        room,
      });
      // Leaving again is harmless.
      b.send({ type: 'leave_room', data: { room } });
      expect((await b.next('leave_room_ack')).data).toMatchObject({ room, success: true });
      await barrier(observer);
      expect(typesOf(observer)).toEqual([]);
    });

    it('accepts image, audio and reaction messages and delivers their fields', async () => {
      const alice = await chat.user('alice');
      const room = await chat.room(alice, 'media');
      const a = await chat.open(alice);
      await chat.join(a, room);

      a.send({
        type: 'room_message',
        data: {
          room,
          message_type: 'image',
          content: 'Regardez cette photo !',
          media_url: '/uploads/images/photo123.jpg',
          media_type: 'image/jpeg',
        },
      });
      const image = (await a.next('room_message')).data as RoomMessagePayload;
      expect(image).toMatchObject({
        message_type: 'image',
        media_url: '/uploads/images/photo123.jpg',
        media_type: 'image/jpeg',
      });

      a.send({
        type: 'room_message',
        data: {
          room,
          message_type: 'audio',
          content: 'Message vocal',
          media_url: 'https://cdn.example.com/voice123.mp3',
          duration: 15.5,
        },
      });
      expect((await a.next('room_message')).data).toMatchObject({
        message_type: 'audio',
        media_url: 'https://cdn.example.com/voice123.mp3',
        duration: 15.5,
      });

      a.send({
        type: 'room_message',
        data: { room, message_type: 'reaction', content: '👍', reply_to: image.id },
      });
      const reaction = (await a.next('room_message')).data as RoomMessagePayload;
      expect(reaction).toMatchObject({ message_type: 'reaction', content: '👍', reply_to: image.id });
      expect(reaction).not.toHaveProperty('media_url');

      // A reaction names a message of the same conversation, and is short.
      await chat.join(a, 'general');
      a.send({
        type: 'room_message',
        data: { room: 'general', message_type: 'reaction', content: '👍', reply_to: image.id },
      });
      await expectError(a, 'INVALID_FORMAT', { field: 'reply_to', reply_to: image.id });
      a.send({
        type: 'room_message',
        data: { room, message_type: 'reaction', content: 'x'.repeat(33), reply_to: image.id },
      });
      await expectError(a, 'INVALID_FORMAT', { field: 'content' });
    });

    it('MESSAGE_TOO_LONG above 4096 characters (the default); 4096 is accepted', async () => {
      const alice = await chat.user('alice');
      const a = await chat.open(alice);
      await chat.join(a, 'general');
      a.send(text('general', 'x'.repeat(4097)));
      await expectError(a, 'MESSAGE_TOO_LONG', { max_length: 4096, length: 4097 });
      a.send({ type: 'direct_message', data: { to_user_id: alice.wire, content: 'y'.repeat(5000) } });
      await expectError(a, 'MESSAGE_TOO_LONG', { max_length: 4096 });
      a.send(text('general', 'x'.repeat(4096)));
      expect(((await a.next('room_message')).data as RoomMessagePayload).content).toHaveLength(4096);
    });

    it('delivers a message posted through the Socket.IO chat to /ws/chat members of the room', async () => {
      const alice = await chat.user('alice');
      const bob = await chat.user('bob');
      const b = await chat.open(bob);
      await chat.join(b, 'general');
      const socket = await connectIo(sample.url, { token: alice.token });
      try {
        const ack = (await socket.emitWithAck('message', { message: 'from socket.io' })) as { id: string };
        const frame = await b.next('room_message');
        expect(frame.data).toMatchObject({
          id: Number(ack.id),
          room: 'general',
          user_id: alice.wire,
          username: alice.name,
          content: 'from socket.io',
          message_type: 'text',
        });
      } finally {
        socket.close();
      }
    });
  });

  describe('direct messages', () => {
    it('reach every connection of the recipient and of the sender (two connections each); ids may be numbers or strings', async () => {
      const alice = await chat.user('alice');
      const bob = await chat.user('bob');
      const carol = await chat.user('carol');
      const [a1, a2, b1, b2, c] = await Promise.all([
        chat.open(alice),
        chat.open(alice),
        chat.open(bob),
        chat.open(bob),
        chat.open(carol),
      ]);

      a1.send({
        type: 'direct_message',
        data: { to_user_id: bob.wire, content: 'Salut, comment ça va ?', message_type: 'text' },
      });
      const first = await Promise.all([a1, a2, b1, b2].map((client) => client.next('direct_message')));
      expect(first[2]?.data).toEqual({
        id: expect.any(Number),
        from_user_id: alice.wire,
        from_username: alice.name,
        to_user_id: bob.wire,
        content: 'Salut, comment ça va ?',
        message_type: 'text',
        created_at: expect.any(String),
      });
      expect(first[2]?.user_id).toBe(alice.wire);
      for (const frame of first) expect(frame.data).toEqual(first[2]?.data);

      // to_user_id as a string is accepted too.
      b2.send({ type: 'direct_message', data: { to_user_id: alice.id, content: 'Très bien !' } });
      const second = await Promise.all([a1, a2, b1, b2].map((client) => client.next('direct_message')));
      for (const frame of second) {
        expect(frame.data).toMatchObject({
          from_user_id: bob.wire,
          to_user_id: alice.wire,
          content: 'Très bien !',
        });
      }

      await barrier(c);
      expect(typesOf(c)).not.toContain('direct_message');

      // dm_history: oldest first, from either side, with_user as number or string.
      a2.send({ type: 'dm_history', data: { with_user: bob.wire, limit: 50, offset: 0 } });
      const history = (await a2.next('message_history')).data as MessageHistoryData;
      expect(history).toMatchObject({
        with_user: bob.wire,
        messages: [
          expect.objectContaining({
            user_id: alice.wire,
            to_user_id: bob.wire,
            content: 'Salut, comment ça va ?',
          }),
          expect.objectContaining({ user_id: bob.wire, to_user_id: alice.wire, content: 'Très bien !' }),
        ],
        has_more: false,
      });
      b1.send({ type: 'dm_history', data: { with_user: alice.id } });
      const fromBob = (await b1.next('message_history')).data as MessageHistoryData;
      expect(fromBob.with_user).toBe(alice.wire);
      expect(fromBob.messages.map((m) => m.id)).toEqual(history.messages.map((m) => m.id));
      c.send({ type: 'dm_history', data: { with_user: alice.wire } });
      expect((await c.next('message_history')).data).toMatchObject({
        messages: [],
        total: 0,
        has_more: false,
      });
    });

    it('USER_NOT_FOUND for a direct_message or dm_history naming an unknown user', async () => {
      const a = await chat.open(await chat.user());
      a.send({ type: 'direct_message', data: { to_user_id: 999999, content: 'anyone?' } });
      await expectError(a, 'USER_NOT_FOUND', { user_id: 999999 });
      a.send({ type: 'direct_message', data: { to_user_id: 'ghost', content: 'anyone?' } });
      await expectError(a, 'USER_NOT_FOUND', { user_id: 'ghost' });
      a.send({ type: 'dm_history', data: { with_user: 999999 } });
      await expectError(a, 'USER_NOT_FOUND', { user_id: 999999 });
    });
    // Guards the DM thread counter: `total` and has_more come from it, not from a COUNT(*).
    it('dm_history pages a conversation of three messages: total 3, has_more', async () => {
      const alice = await chat.user('alice');
      const bob = await chat.user('bob');
      const a = await chat.open(alice);
      for (const content of ['d1', 'd2', 'd3']) {
        a.send({ type: 'direct_message', data: { to_user_id: bob.wire, content } });
        await a.next('direct_message');
      }
      a.send({ type: 'dm_history', data: { with_user: bob.wire, limit: 2 } });
      const page = (await a.next('message_history')).data as MessageHistoryData;
      expect(page.messages.map((m) => m.content)).toEqual(['d2', 'd3']);
      expect(page).toMatchObject({ total: 3, has_more: true });
    });

    it('dm_conversations lists the direct conversations with messages after after_id, newest first, for both participants', async () => {
      const alice = await chat.user('alice');
      const bob = await chat.user('bob');
      const carol = await chat.user('carol');
      const dave = await chat.user('dave');
      const a = await chat.open(alice);
      const b = await chat.open(bob);
      const c = await chat.open(carol);
      const d = await chat.open(dave);
      const conversations = async (client: TestWs, data?: Record<string, unknown>) => {
        client.send(data === undefined ? { type: 'dm_conversations' } : { type: 'dm_conversations', data });
        const frame = await client.next('dm_conversations');
        expectIsoTimestamp(frame.timestamp);
        return frame.data as DmConversationListData;
      };
      // Each DM reaches both participants: both consume it, so the next wait sees the next DM.
      const direct = async (from: TestWs, to: TestWs, toUser: TestUser, content: string) => {
        from.send({ type: 'direct_message', data: { to_user_id: toUser.wire, content } });
        const echo = (await from.next('direct_message')).data as DirectMessagePayload;
        const received = (await to.next('direct_message')).data as DirectMessagePayload;
        expect([echo.content, received.id]).toEqual([content, echo.id]);
        return echo.id;
      };

      // Room messages are no direct conversation: a user who only posts to rooms has none.
      const room = await chat.room(dave, 'no-dm');
      await chat.join(d, room);
      d.send(text(room, 'room only'));
      await d.next('room_message');
      expect(await conversations(d)).toEqual({ conversations: [], has_more: false });
      expect(await conversations(d, {})).toEqual({ conversations: [], has_more: false });

      const ab1 = await direct(a, b, bob, 'ab1');
      const ca1 = await direct(c, a, alice, 'ca1');
      const ab2 = await direct(b, a, alice, 'ab2');
      expect(ab1).toBeLessThan(ca1);

      expect(await conversations(a, {})).toEqual({
        conversations: [
          { with_user: bob.wire, last_id: ab2 },
          { with_user: carol.wire, last_id: ca1 },
        ],
        has_more: false,
      });
      expect(await conversations(b)).toEqual({
        conversations: [{ with_user: alice.wire, last_id: ab2 }],
        has_more: false,
      });
      expect(await conversations(c)).toEqual({
        conversations: [{ with_user: alice.wire, last_id: ca1 }],
        has_more: false,
      });
      expect(await conversations(d)).toEqual({ conversations: [], has_more: false });

      // after_id: only conversations with a newer message; before_id: the next page.
      expect((await conversations(a, { after_id: ab1 })).conversations).toEqual([
        { with_user: bob.wire, last_id: ab2 },
        { with_user: carol.wire, last_id: ca1 },
      ]);
      expect((await conversations(a, { after_id: ca1 })).conversations).toEqual([
        { with_user: bob.wire, last_id: ab2 },
      ]);
      expect(await conversations(a, { after_id: ab2 })).toEqual({ conversations: [], has_more: false });
      expect((await conversations(c, { after_id: ca1 })).conversations).toEqual([]);
      expect((await conversations(a, { before_id: ab2 })).conversations).toEqual([
        { with_user: carol.wire, last_id: ca1 },
      ]);
    });

    it('dm_conversations: a bad after_id or before_id is INVALID_FORMAT naming the field', async () => {
      const a = await chat.open(await chat.user());
      for (const after_id of [-1, 1.5, 'x']) {
        a.send({ type: 'dm_conversations', data: { after_id } });
        await expectError(a, 'INVALID_FORMAT', { field: 'after_id' });
      }
      a.send({ type: 'dm_conversations', data: { before_id: 0 } });
      await expectError(a, 'INVALID_FORMAT', { field: 'before_id' });
      a.send({ type: 'dm_conversations', data: { after_id: 0 } });
      expect((await a.next('dm_conversations')).data).toEqual({ conversations: [], has_more: false });
    });
  });

  describe('history', () => {
    it('pages from the newest with limit/offset: oldest first within a page, total and has_more', async () => {
      const alice = await chat.user('alice');
      const room = await chat.room(alice, 'paging');
      const a = await chat.open(alice);
      await chat.join(a, room);
      const ids: number[] = [];
      for (let n = 1; n <= 7; n++) {
        a.send(text(room, `m${n}`));
        ids.push(((await a.next('room_message')).data as RoomMessagePayload).id);
      }
      const page = async (offset: number) => {
        a.send({ type: 'room_history', data: { room, limit: 3, offset } });
        return (await a.next('message_history')).data as MessageHistoryData;
      };
      const newest = await page(0);
      expect(newest.messages.map((m) => m.content)).toEqual(['m5', 'm6', 'm7']);
      expect(newest.messages.map((m) => m.id)).toEqual(ids.slice(4));
      expect(newest).toMatchObject({ room, total: 7, has_more: true });
      const middle = await page(3);
      expect(middle.messages.map((m) => m.content)).toEqual(['m2', 'm3', 'm4']);
      expect(middle).toMatchObject({ total: 7, has_more: true });
      const oldest = await page(6);
      expect(oldest.messages.map((m) => m.content)).toEqual(['m1']);
      expect(oldest).toMatchObject({ total: 7, has_more: false });
      const beyond = await page(9);
      expect(beyond).toMatchObject({ messages: [], total: 7, has_more: false });

      // Defaults: limit 50, offset 0.
      a.send({ type: 'room_history', data: { room } });
      expect(((await a.next('message_history')).data as MessageHistoryData).messages).toHaveLength(7);
    });

    it('after_id: a reconnecting client fetches exactly the messages it missed', async () => {
      const alice = await chat.user('alice');
      const bob = await chat.user('bob');
      const room = await chat.room(alice, 'catchup');
      const a = await chat.open(alice);
      const b = await chat.open(bob);
      await chat.join(a, room);
      await chat.join(b, room);
      b.send(text(room, 'seen 1'));
      await a.next('room_message');
      b.send(text(room, 'seen 2'));
      const lastSeen = ((await a.next('room_message')).data as RoomMessagePayload).id;

      a.close();
      await a.closedWithin();
      for (const content of ['missed 1', 'missed 2', 'missed 3']) {
        b.send(text(room, content));
        await b.next('room_message');
      }

      const again = await chat.open(alice);
      again.send({ type: 'room_history', data: { room, after_id: lastSeen, limit: 2 } });
      const first = (await again.next('message_history')).data as MessageHistoryData;
      expect(first.messages.map((m) => m.content)).toEqual(['missed 1', 'missed 2']);
      expect(first).toMatchObject({ total: 5, has_more: true });
      const cursor = first.messages[1]?.id;
      again.send({ type: 'room_history', data: { room, after_id: cursor, limit: 2 } });
      const rest = (await again.next('message_history')).data as MessageHistoryData;
      expect(rest.messages.map((m) => m.content)).toEqual(['missed 3']);
      expect(rest.has_more).toBe(false);
    });
  });

  describe('malformed input', () => {
    it('answers every malformed frame with INVALID_FORMAT naming the field, and the connection stays usable', async () => {
      const alice = await chat.user('alice');
      const a = await chat.open(alice);
      await chat.join(a, 'general');
      const cases: Array<[string, unknown, Record<string, unknown>]> = [
        ['not JSON', '{"type": "room_message",', {}],
        ['not an object', '[1,2,3]', {}],
        ['no type', { data: { room: 'general' } }, { field: 'type' }],
        ['unknown type', { type: 'teleport', data: {} }, { type: 'teleport' }],
        ['missing room', { type: 'join_room', data: {} }, { field: 'room' }],
        ['room not a string', { type: 'join_room', data: { room: 42 } }, { field: 'room' }],
        ['data not an object', { type: 'join_room', data: 'general' }, {}],
        ['missing content', { type: 'room_message', data: { room: 'general' } }, { field: 'content' }],
        [
          'content not a string',
          { type: 'room_message', data: { room: 'general', content: 5 } },
          { field: 'content' },
        ],
        [
          'empty text',
          { type: 'room_message', data: { room: 'general', content: '  ' } },
          { field: 'content' },
        ],
        [
          'unknown message_type',
          { type: 'room_message', data: { room: 'general', content: 'x', message_type: 'video' } },
          { field: 'message_type' },
        ],
        [
          'image without media_url',
          {
            type: 'room_message',
            data: { room: 'general', content: 'x', message_type: 'image', media_type: 'image/png' },
          },
          { field: 'media_url' },
        ],
        [
          'image over plain http',
          {
            type: 'room_message',
            data: {
              room: 'general',
              content: 'x',
              message_type: 'image',
              media_url: 'http://example.com/a.png',
              media_type: 'image/png',
            },
          },
          { field: 'media_url' },
        ],
        ...['//evil.example/a.png', '/\\evil.example/a.png', '/\\/evil.example/a.png'].map(
          (url): [string, unknown, { field: string }] => [
            `image on another host through a relative-looking path (${url})`,
            {
              type: 'room_message',
              data: {
                room: 'general',
                content: 'x',
                message_type: 'image',
                media_url: url,
                media_type: 'image/png',
              },
            },
            { field: 'media_url' },
          ],
        ),
        [
          'image with a non-image media_type',
          {
            type: 'room_message',
            data: {
              room: 'general',
              content: 'x',
              message_type: 'image',
              media_url: '/a.png',
              media_type: 'text/html',
            },
          },
          { field: 'media_type' },
        ],
        [
          'audio without a positive duration',
          {
            type: 'room_message',
            data: { room: 'general', content: 'x', message_type: 'audio', media_url: '/a.mp3', duration: 0 },
          },
          { field: 'duration' },
        ],
        [
          'duration not a number',
          {
            type: 'room_message',
            data: {
              room: 'general',
              content: 'x',
              message_type: 'audio',
              media_url: '/a.mp3',
              duration: '15',
            },
          },
          { field: 'duration' },
        ],
        [
          'reaction to a missing message',
          {
            type: 'room_message',
            data: { room: 'general', content: '👍', message_type: 'reaction', reply_to: 99999999 },
          },
          { field: 'reply_to' },
        ],
        [
          'reaction without reply_to',
          { type: 'room_message', data: { room: 'general', content: '👍', message_type: 'reaction' } },
          { field: 'reply_to' },
        ],
        [
          'to_user_id of the wrong type',
          { type: 'direct_message', data: { to_user_id: { id: 1 }, content: 'x' } },
          { field: 'to_user_id' },
        ],
        [
          'limit not an integer',
          { type: 'room_history', data: { room: 'general', limit: 'ten' } },
          { field: 'limit' },
        ],
        [
          'limit over the maximum (100)',
          { type: 'room_history', data: { room: 'general', limit: 101 } },
          { field: 'limit', max: 100 },
        ],
        [
          'negative offset',
          { type: 'room_history', data: { room: 'general', offset: -1 } },
          { field: 'offset' },
        ],
        [
          'negative after_id',
          { type: 'dm_history', data: { with_user: alice.wire, after_id: -5 } },
          { field: 'after_id' },
        ],
        ['missing with_user', { type: 'dm_history', data: {} }, { field: 'with_user' }],
        ['an empty inbound batch', { type: 'message_batch', data: { messages: [] } }, { field: 'messages' }],
      ];
      for (const [label, frame, details] of cases) {
        a.send(frame);
        const error = await a.next('error');
        try {
          expect(error.data).toMatchObject({ code: 'INVALID_FORMAT', details });
        } catch (failure) {
          throw new Error(`${label}: ${(failure as Error).message}`);
        }
      }
      a.send(text('general', 'still usable'));
      expect(((await a.next('room_message')).data as RoomMessagePayload).content).toBe('still usable');
      expect(typesOf(a)).toEqual([]);
    });
  });

  describe('message_batch', () => {
    it('inbound: each message is handled in order and answered as if sent alone', async () => {
      const alice = await chat.user('alice');
      const room = await chat.room(alice, 'batch-in');
      // A private room of another user: its join and its post are refused.
      const hidden = await chat.room(await chat.user('bob'), 'batch-hidden', true);
      const a = await chat.open(alice);
      const order: string[] = [];
      a.socket.on('message', (raw: Buffer) => order.push((JSON.parse(raw.toString()) as WsFrame).type));
      a.send({
        type: 'message_batch',
        data: {
          messages: [
            { type: 'join_room', data: { room } },
            { type: 'room_message', data: { room, content: 'batched', message_type: 'text' } },
            { type: 'ping', data: {} },
            { type: 'room_history', data: { room, limit: 5 } },
            { type: 'join_room', data: { room: hidden } },
            { type: 'message_batch', data: { messages: [] } },
            // room_message is routed past Nest's pipeline: its errors are answered the same way.
            { type: 'room_message', data: { room } },
            { type: 'room_message', data: { room: hidden, content: 'lost' } },
            { type: 'room_message', data: { room, content: 'after the errors' } },
          ],
        },
      });
      await a.next('join_room_ack');
      expect(((await a.next('room_message')).data as RoomMessagePayload).content).toBe('batched');
      await a.next('pong');
      const history = (await a.next('message_history')).data as MessageHistoryData;
      expect(history.messages.map((m) => m.content)).toEqual(['batched']);
      await expectError(a, 'PERMISSION_DENIED', { room: hidden });
      await expectError(a, 'INVALID_FORMAT', { index: 5 });
      await expectError(a, 'INVALID_FORMAT', { field: 'content' });
      await expectError(a, 'PERMISSION_DENIED', { room: hidden });
      expect(((await a.next('room_message')).data as RoomMessagePayload).content).toBe('after the errors');
      expect(order).toEqual([
        'join_room_ack',
        'room_message',
        'pong',
        'message_history',
        'error',
        'error',
        'error',
        'error',
        'room_message',
      ]);
    });

    it('outbound: a ?batch=1 connection gets the frames of one tick as one message_batch; others get them one by one', async () => {
      const alice = await chat.user('alice');
      const room = await chat.room(alice, 'batch-out');
      const batched = await chat.open(alice, '&batch=1');
      const plain = await chat.open(alice);
      await chat.join(batched, room);
      await chat.join(plain, room);

      // A lone message is not wrapped.
      plain.send(text(room, 'alone'));
      expect(((await batched.next('room_message')).data as RoomMessagePayload).content).toBe('alone');
      await plain.next('room_message');

      // Three stored messages published in the same tick (as a busy room would).
      const bus = sample.app.get(ConversationBus);
      const stored = (id: number): StoredMessage =>
        storedMessage({
          id,
          room,
          senderId: alice.id,
          senderUsername: alice.name,
          content: `tick ${id}`,
          createdAt: Date.now(),
        });
      for (const id of [900001, 900002, 900003]) bus.publish({ kind: 'room', room, message: stored(id) });

      const batch = await batched.next('message_batch');
      expectIsoTimestamp(batch.timestamp);
      const inner = (batch.data as { messages: WsFrame[] }).messages;
      expect(inner.map((frame) => frame.type)).toEqual(['room_message', 'room_message', 'room_message']);
      expect(inner.map((frame) => (frame.data as RoomMessagePayload).content)).toEqual([
        'tick 900001',
        'tick 900002',
        'tick 900003',
      ]);
      for (const frame of inner) expectIsoTimestamp(frame.timestamp);
      const one = await Promise.all([
        plain.next('room_message'),
        plain.next('room_message'),
        plain.next('room_message'),
      ]);
      expect(one.map((frame) => frame.data)).toEqual(inner.map((frame) => frame.data));
      await barrier(plain);
      expect(typesOf(plain)).not.toContain('message_batch');
    });
  });

  describe("the seed's WebSocketClient class", () => {
    // The class exactly as seed 003 prints it. The only substitution, made below before running it:
    // the hard-coded `ws://localhost:8080` becomes this test's `ws://127.0.0.1:<port>`. It runs in
    // a VM context whose global `WebSocket` is the `ws` package's (Node 20 has no global WebSocket)
    // and whose `console` records instead of printing.
    const SEED_CLIENT = `
class WebSocketClient {
    constructor(token) {
        this.token = token;
        this.ws = null;
        this.reconnectAttempts = 0;
        this.maxReconnectAttempts = 5;
        this.reconnectDelay = 1000;
        this.messageHandlers = new Map();
    }

    connect() {
        this.ws = new WebSocket(\`ws://localhost:8080/ws/chat?token=\${this.token}\`);
        
        this.ws.onopen = () => {
            console.log('WebSocket connecté');
            this.reconnectAttempts = 0;
        };

        this.ws.onmessage = (event) => {
            const message = JSON.parse(event.data);
            this.handleMessage(message);
        };

        this.ws.onclose = (event) => {
            console.log('WebSocket fermé:', event.code, event.reason);
            this.handleReconnect();
        };

        this.ws.onerror = (error) => {
            console.error('Erreur WebSocket:', error);
        };
    }

    handleMessage(message) {
        const handler = this.messageHandlers.get(message.type);
        if (handler) {
            handler(message.data);
        }
    }

    onMessage(type, handler) {
        this.messageHandlers.set(type, handler);
    }

    send(type, data) {
        if (this.ws && this.ws.readyState === WebSocket.OPEN) {
            const message = {
                type,
                data,
                timestamp: new Date().toISOString()
            };
            this.ws.send(JSON.stringify(message));
        }
    }

    joinRoom(room) {
        this.send('join_room', { room });
    }

    sendRoomMessage(room, content) {
        this.send('room_message', {
            room,
            content,
            message_type: 'text'
        });
    }

    sendDirectMessage(toUserId, content) {
        this.send('direct_message', {
            to_user_id: toUserId,
            content,
            message_type: 'text'
        });
    }

    getRoomHistory(room, limit = 50, offset = 0) {
        this.send('room_history', { room, limit, offset });
    }

    handleReconnect() {
        if (this.reconnectAttempts < this.maxReconnectAttempts) {
            this.reconnectAttempts++;
            setTimeout(() => {
                console.log(\`Tentative de reconnexion \${this.reconnectAttempts}\`);
                this.connect();
            }, this.reconnectDelay * this.reconnectAttempts);
        }
    }

    disconnect() {
        if (this.ws) {
            this.ws.close();
        }
    }
}
WebSocketClient;
`;

    interface SeedClient {
      ws: WebSocket | null;
      maxReconnectAttempts: number;
      connect(): void;
      onMessage(type: string, handler: (data: unknown) => void): void;
      joinRoom(room: string): void;
      sendRoomMessage(room: string, content: string): void;
      sendDirectMessage(toUserId: number, content: string): void;
      getRoomHistory(room: string, limit?: number, offset?: number): void;
      disconnect(): void;
    }

    function loadSeedClient(port: number, logs: unknown[][]): new (token: string) => SeedClient {
      const source = SEED_CLIENT.replace('ws://localhost:8080', `ws://127.0.0.1:${port}`);
      const record = (...args: unknown[]) => logs.push(args);
      return runInNewContext(source, {
        WebSocket,
        console: { log: record, error: record },
        setTimeout,
      }) as new (token: string) => SeedClient;
    }

    function nextOf(client: SeedClient, type: string): Promise<unknown> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} within 5000 ms`)), 5000);
        client.onMessage(type, (data) => {
          clearTimeout(timer);
          resolve(data);
        });
      });
    }

    it('joins, posts, sends a direct message and reads history against this server', async () => {
      const alice = await chat.user('alice');
      const bob = await chat.user('bob');
      const b = await chat.open(bob);
      const logs: unknown[][] = [];
      const SeedWebSocketClient = loadSeedClient(sample.port, logs);
      const client = new SeedWebSocketClient(alice.token);
      client.connect();
      await waitUntil(() => client.ws?.readyState === WebSocket.OPEN);
      expect(logs).toContainEqual(['WebSocket connecté']);
      try {
        const acked = nextOf(client, 'join_room_ack');
        client.joinRoom('general');
        expect(await acked).toEqual({ room: 'general', success: true, message: 'Joined room successfully' });

        const echoed = nextOf(client, 'room_message');
        client.sendRoomMessage('general', 'Bonjour depuis le client du seed');
        expect(await echoed).toMatchObject({
          room: 'general',
          user_id: alice.wire,
          content: 'Bonjour depuis le client du seed',
        });

        const sent = nextOf(client, 'direct_message');
        client.sendDirectMessage(bob.wire, 'Salut Bob');
        const atBob = await b.next('direct_message');
        expect(atBob.data).toMatchObject({
          from_user_id: alice.wire,
          to_user_id: bob.wire,
          content: 'Salut Bob',
        });
        expect(await sent).toEqual(atBob.data);

        const history = nextOf(client, 'message_history');
        client.getRoomHistory('general', 1);
        expect(await history).toMatchObject({
          room: 'general',
          messages: [{ content: 'Bonjour depuis le client du seed' }],
          has_more: true,
        });
      } finally {
        // The seed's disconnect() would reconnect through onclose → handleReconnect: switch that off.
        client.maxReconnectAttempts = 0;
        client.disconnect();
        await waitUntil(() => client.ws?.readyState === WebSocket.CLOSED);
      }
    });
  });
});

describe('/ws/chat with configured limits', () => {
  let sample: RunningSample;
  let chat: ChatHarness;

  beforeAll(async () => {
    sample = await startSample({
      overrides: {
        limits: {
          rateLimit: { perMinute: 3, perHour: 5 },
          maxMessageLength: 20,
          maxHistoryLimit: 5,
          heartbeatIntervalMs: 100,
        },
        compression: { enabled: true, threshold: 256 },
        rooms: { autoCreate: false },
      },
    });
    chat = new ChatHarness(sample);
  });
  afterEach(async () => {
    await chat.closeClients();
  });
  afterAll(async () => {
    await sample.close();
  });

  it('rooms.autoCreate false: ROOM_NOT_FOUND (details.room) for join_room, room_message, room_history and leave_room', async () => {
    const client = await chat.open(await chat.user());
    const frames = [
      { type: 'join_room', data: { room: 'nonexistent_room' } },
      text('nonexistent_room', 'hello?'),
      { type: 'room_history', data: { room: 'nonexistent_room', limit: 5, offset: 0 } },
      { type: 'leave_room', data: { room: 'nonexistent_room' } },
    ];
    for (const frame of frames) {
      client.send(frame);
      const error = await expectError(client, 'ROOM_NOT_FOUND', { room: 'nonexistent_room' });
      expect(error.message).toBe('Room not found');
    }
  });

  it('RATE_LIMITED per user across connections and conversations (details.retry_after_ms); nothing is stored or sent', async () => {
    const alice = await chat.user('alice');
    const bob = await chat.user('bob');
    const room = await chat.room(bob, 'limited');
    const a1 = await chat.open(alice);
    const a2 = await chat.open(alice);
    const observer = await chat.open(bob);
    for (const client of [a1, a2, observer]) await chat.join(client, room);

    a1.send(text(room, 'one'));
    a2.send(text(room, 'two'));
    a1.send({ type: 'direct_message', data: { to_user_id: bob.wire, content: 'three' } });
    await observer.next('room_message');
    await observer.next('room_message');
    await observer.next('direct_message');

    a2.send(text(room, 'four'));
    const error = await expectError(a2, 'RATE_LIMITED', { limit: 3, window: 'minute' });
    expect(error.details.retry_after_ms).toBeGreaterThan(0);
    expect(error.details.retry_after_ms).toBeLessThanOrEqual(60_000);
    a1.send({ type: 'direct_message', data: { to_user_id: bob.wire, content: 'five' } });
    await expectError(a1, 'RATE_LIMITED');

    await barrier(observer);
    expect(typesOf(observer)).toEqual([]);
    observer.send({ type: 'room_history', data: { room } });
    const history = (await observer.next('message_history')).data as MessageHistoryData;
    expect(history.messages.map((m) => m.content).sort()).toEqual(['one', 'two']);
    expect(history.total).toBe(2);

    // Another user is not limited by alice's count.
    observer.send(text(room, 'bob is fine'));
    expect(((await observer.next('room_message')).data as RoomMessagePayload).content).toBe('bob is fine');
  });

  it('uses the configured maximum content length and history page size', async () => {
    const a = await chat.open(await chat.user());
    await chat.join(a, 'general');
    a.send(text('general', 'x'.repeat(21)));
    await expectError(a, 'MESSAGE_TOO_LONG', { max_length: 20, length: 21 });
    a.send({ type: 'room_history', data: { room: 'general', limit: 6 } });
    await expectError(a, 'INVALID_FORMAT', { field: 'limit', max: 5 });
    a.send({ type: 'room_history', data: { room: 'general', limit: 5 } });
    await a.next('message_history');
    // Without a limit the page is 50, or the configured maximum when lower.
    a.send({ type: 'room_history', data: { room: 'general' } });
    await a.next('message_history');
  });

  /** A compression-enabled client, and how many bytes a frame exchange took on the TCP socket. */
  async function deflateProbe() {
    const probe = await chat.open(await chat.user(), '', { perMessageDeflate: true });
    // Heartbeat pings (2-byte frames, never compressed) may fall in a measured window: counted apart.
    const tcp = (probe.socket as unknown as { _socket: { bytesRead: number } })._socket;
    let pingBytes = 0;
    probe.socket.on('ping', () => (pingBytes += 2));
    const rawFrames: string[] = [];
    probe.socket.on('message', (raw: Buffer) => rawFrames.push(raw.toString()));
    const measure = async (exchange: () => Promise<unknown>) => {
      const before = tcp.bytesRead - pingBytes;
      await exchange();
      return { wire: tcp.bytesRead - pingBytes - before, text: rawFrames.at(-1) ?? '' };
    };
    return { probe, measure };
  }

  it('negotiates permessage-deflate when offered and compresses large frames', async () => {
    const { probe, measure } = await deflateProbe();
    expect(probe.socket.extensions).toContain('permessage-deflate');
    const large = await measure(async () => {
      probe.send({ type: 'x'.repeat(2000), data: {} });
      await probe.next('error');
    });
    expect(Buffer.byteLength(large.text)).toBeGreaterThan(4000);
    expect(large.wire).toBeLessThan(Buffer.byteLength(large.text) / 10);
  });

  // `ws` applies `threshold` only without server context takeover: guards that the adapter sets it.
  it('sends frames under compression.threshold uncompressed', async () => {
    const { probe, measure } = await deflateProbe();
    const small = await measure(() => barrier(probe));
    expect(Buffer.byteLength(small.text)).toBeLessThan(126);
    expect(small.wire).toBe(Buffer.byteLength(small.text) + 2); // a plain frame: 2-byte header + payload
  });

  it('sends ping frames at the heartbeat interval and terminates a peer that misses two', async () => {
    const user = await chat.user();
    const alive = await chat.open(user);
    let pings = 0;
    alive.socket.on('ping', () => (pings += 1));
    await waitUntil(() => pings >= 3, 3000);
    await barrier(alive);

    const silent = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/chat?token=${user.token}`, {
      autoPong: false,
    });
    expect((await silent.closedWithin(3000)).code).toBe(1006);
    expect(silent.pings).toBeGreaterThanOrEqual(2);
    await barrier(alive);
  });
});

describe('/ws/chat slow consumer', () => {
  let sample: RunningSample;
  let chat: ChatHarness;

  beforeAll(async () => {
    sample = await startSample({
      overrides: { limits: { maxBufferedBytes: 64 * 1024, rateLimit: { perMinute: 1000, perHour: 1000 } } },
    });
    chat = new ChatHarness(sample);
  });
  afterEach(async () => {
    await chat.closeClients();
  });
  afterAll(async () => {
    await sample.close();
  });

  it('closes a client that does not read with 4508 once its send buffer passes the bound', async () => {
    const writer = await chat.user('writer');
    const reader = await chat.user('reader');
    const room = await chat.room(writer, 'firehose');
    const w = await chat.open(writer);
    await chat.join(w, room);
    const big = 'z'.repeat(4000);
    const posts = Array.from({ length: 50 }, () => text(room, big));
    for (let round = 0; round < 2; round++) {
      w.send({ type: 'message_batch', data: { messages: posts } });
      for (let n = 0; n < 50; n++) await w.next('room_message');
    }

    const slow = await chat.open(reader);
    await chat.join(slow, room);
    const [serverSide] = [...(sample.app.get(RoomMembersRegistry).userGroup(reader.id) ?? [])];
    expect(serverSide?.isOpen).toBe(true);
    // The client stops reading, then asks for ~20 MB of history: the kernel buffers fill, then the
    // server's own send buffer passes 64 KiB and the server closes the connection.
    slow.socket.pause();
    const history = { type: 'room_history', data: { room, limit: 100 } };
    slow.send({ type: 'message_batch', data: { messages: Array.from({ length: 50 }, () => history) } });
    await waitUntil(() => serverSide?.isOpen === false, 15_000);
    slow.socket.resume();
    expect(await slow.closedWithin(15_000)).toEqual({
      code: 4508,
      reason: 'Slow consumer: send buffer full',
    });
  });
});
