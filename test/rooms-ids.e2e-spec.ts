// Rooms endpoint, message ids and history pages through the real sample app: `reply_to`, `after_id`
// and `before_id` are accepted as numbers or decimal strings ("42", as the wire prints ids and as
// the chat's `context.replyTo` takes them), anything else is INVALID_FORMAT naming the field; a
// history request without `limit` returns a page of 50, the seed's default.
import request from 'supertest';
import type {
  DirectMessagePayload,
  DmConversationListData,
  MessageHistoryData,
  RoomMessagePayload,
} from 'nest-realtime';
import { TestWs, type WsFrame } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

interface TestUser {
  token: string;
  /** The id as the wire shows it (numeric ids are numbers). */
  wire: number;
}

/** The seed's default page size (003: `getRoomHistory(room, limit = 50, ...)`). */
const DEFAULT_PAGE = 50;

describe('rooms endpoint: message ids as numbers or decimal strings, default history page', () => {
  let sample: RunningSample;
  const clients: TestWs[] = [];
  let seq = 0;

  beforeAll(async () => {
    // Well over the default 10/minute: a spec posts more than a page of messages.
    sample = await startSample({
      overrides: { limits: { rateLimit: { perMinute: 1000, perHour: 10_000 } } },
    });
  });
  afterEach(async () => {
    const open = clients.splice(0);
    for (const client of open) client.close();
    await Promise.all(open.map((client) => client.closedWithin()));
  });
  afterAll(async () => {
    await sample.close();
  });

  async function user(): Promise<TestUser> {
    seq += 1;
    const login = await sample.login(`ids${seq}`);
    return { token: login.token, wire: Number(login.user.id) };
  }

  async function open(who: TestUser): Promise<TestWs> {
    const client = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/chat?token=${who.token}`);
    clients.push(client);
    return client;
  }

  /** A fresh public room, created through the sample's REST and joined by `client`. */
  async function joinedRoom(creator: TestUser, client: TestWs): Promise<string> {
    seq += 1;
    const room = `ids-${seq}`;
    await request(sample.url)
      .post('/rooms')
      .set('Authorization', `Bearer ${creator.token}`)
      .send({ name: room, isPrivate: false })
      .expect(201);
    client.send({ type: 'join_room', data: { room } });
    await client.next('join_room_ack');
    return room;
  }

  async function post(
    client: TestWs,
    room: string,
    content: string,
    extra = {},
  ): Promise<RoomMessagePayload> {
    client.send({ type: 'room_message', data: { room, content, message_type: 'text', ...extra } });
    return (await client.next('room_message')).data as RoomMessagePayload;
  }

  async function direct(client: TestWs, to: TestUser, content: string): Promise<DirectMessagePayload> {
    client.send({ type: 'direct_message', data: { to_user_id: to.wire, content, message_type: 'text' } });
    return (await client.next('direct_message')).data as DirectMessagePayload;
  }

  async function answer<T>(client: TestWs, frame: unknown, type: string): Promise<T> {
    client.send(frame);
    const reply = await Promise.race([client.next(type), client.next('error')]);
    if (reply.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(reply.data)}`);
    return reply.data as T;
  }

  describe('history without limit', () => {
    it(`room_history and dm_history return the newest ${DEFAULT_PAGE} messages`, async () => {
      const alice = await user();
      const bob = await user();
      const a = await open(alice);
      const room = await joinedRoom(alice, a);
      const roomIds: number[] = [];
      const dmIds: number[] = [];
      for (let i = 0; i < DEFAULT_PAGE + 5; i += 1) {
        roomIds.push((await post(a, room, `m${i}`)).id);
        dmIds.push((await direct(a, bob, `d${i}`)).id);
      }

      const roomPage = await answer<MessageHistoryData>(
        a,
        { type: 'room_history', data: { room } },
        'message_history',
      );
      expect(roomPage.messages.map((m) => m.id)).toEqual(roomIds.slice(-DEFAULT_PAGE));
      expect(roomPage).toMatchObject({ total: DEFAULT_PAGE + 5, has_more: true });

      const dmPage = await answer<MessageHistoryData>(
        a,
        { type: 'dm_history', data: { with_user: bob.wire } },
        'message_history',
      );
      expect(dmPage.messages.map((m) => m.id)).toEqual(dmIds.slice(-DEFAULT_PAGE));
      expect(dmPage).toMatchObject({ total: DEFAULT_PAGE + 5, has_more: true });

      // after_id without limit: the same page size, oldest first.
      const catchUp = await answer<MessageHistoryData>(
        a,
        { type: 'room_history', data: { room, after_id: 0 } },
        'message_history',
      );
      expect(catchUp.messages.map((m) => m.id)).toEqual(roomIds.slice(0, DEFAULT_PAGE));
      expect(catchUp.has_more).toBe(true);
    });
  });

  describe('ids as decimal strings', () => {
    it('room_message reply_to "42" is stored as the reply to message 42', async () => {
      const alice = await user();
      const a = await open(alice);
      const room = await joinedRoom(alice, a);
      const first = await post(a, room, 'first');
      const reply = await post(a, room, '👍', { message_type: 'reaction', reply_to: String(first.id) });
      expect(reply).toMatchObject({ message_type: 'reaction', reply_to: first.id });
    });

    it('room_history and dm_history after_id "N" page after message N', async () => {
      const alice = await user();
      const bob = await user();
      const a = await open(alice);
      const room = await joinedRoom(alice, a);
      const posted = [await post(a, room, 'one'), await post(a, room, 'two'), await post(a, room, 'three')];
      const roomPage = await answer<MessageHistoryData>(
        a,
        { type: 'room_history', data: { room, after_id: String(posted[0]!.id) } },
        'message_history',
      );
      expect(roomPage.messages.map((m) => m.id)).toEqual([posted[1]!.id, posted[2]!.id]);

      const dms = [await direct(a, bob, 'one'), await direct(a, bob, 'two')];
      const dmPage = await answer<MessageHistoryData>(
        a,
        { type: 'dm_history', data: { with_user: bob.wire, after_id: String(dms[0]!.id), limit: 10 } },
        'message_history',
      );
      expect(dmPage.messages.map((m) => m.id)).toEqual([dms[1]!.id]);
    });

    it('dm_conversations after_id "N" and before_id "N"', async () => {
      const alice = await user();
      const bob = await user();
      const carol = await user();
      const a = await open(alice);
      const toBob = await direct(a, bob, 'hi bob');
      const toCarol = await direct(a, carol, 'hi carol');

      const after = await answer<DmConversationListData>(
        a,
        { type: 'dm_conversations', data: { after_id: String(toBob.id) } },
        'dm_conversations',
      );
      expect(after.conversations).toEqual([{ with_user: carol.wire, last_id: toCarol.id }]);

      const before = await answer<DmConversationListData>(
        a,
        { type: 'dm_conversations', data: { after_id: '0', before_id: String(toCarol.id) } },
        'dm_conversations',
      );
      expect(before.conversations).toEqual([{ with_user: bob.wire, last_id: toBob.id }]);
    });
  });

  describe('anything else is INVALID_FORMAT naming the field', () => {
    const NOT_IDS: unknown[] = [
      '4.2',
      '-1',
      '0x10',
      '',
      '12abc',
      ' 42',
      '1e3',
      '+7',
      String(Number.MAX_SAFE_INTEGER + 2),
      '99999999999999999999999',
      4.2,
      -1,
      true,
    ];
    /** Each frame with the field set to `value`. */
    const FIELDS: Array<[string, (room: string, value: unknown, to: number) => WsFrame]> = [
      [
        'reply_to',
        (room, value) => ({ type: 'room_message', data: { room, content: 'x', reply_to: value } }),
      ],
      ['after_id', (room, value) => ({ type: 'room_history', data: { room, after_id: value } })],
      ['after_id', (_room, value, to) => ({ type: 'dm_history', data: { with_user: to, after_id: value } })],
      ['after_id', (_room, value) => ({ type: 'dm_conversations', data: { after_id: value } })],
      ['before_id', (_room, value) => ({ type: 'dm_conversations', data: { before_id: value } })],
    ];

    it.each(FIELDS)('%s of %#', async (field, frame) => {
      const alice = await user();
      const bob = await user();
      const a = await open(alice);
      const room = await joinedRoom(alice, a);
      for (const value of NOT_IDS) {
        a.send(frame(room, value, bob.wire));
        const error = (await a.next('error')).data as { code: string; details: { field?: string } };
        expect({ value, code: error.code, field: error.details.field }).toEqual({
          value,
          code: 'INVALID_FORMAT',
          field,
        });
      }
      // Zero is no message to reply to, or to page before.
      if (field !== 'after_id') {
        a.send(frame(room, '0', bob.wire));
        expect((await a.next('error')).data).toMatchObject({ code: 'INVALID_FORMAT', details: { field } });
      }
      // Nothing refused was stored.
      const page = await answer<MessageHistoryData>(
        a,
        { type: 'room_history', data: { room } },
        'message_history',
      );
      expect(page.total).toBe(0);
    });
  });
});
