// Request ids on /ws/chat end to end: a frame's `ref` comes back on its answer, on its errors and on
// the sending connection's copy of the message it posted, never on anyone else's copy (the same
// user's other connection included); frames without a ref are answered as before.
// "Received nothing more" is proven with an ordering barrier: a later pong on the same connection.
import request from 'supertest';
import type { RoomMessagePayload } from 'nest-realtime';
import { TestWs, waitUntil, type WsFrame } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

/** A server frame as the wire has it, request id included. */
type RefFrame = WsFrame & { ref?: string };

interface TestUser {
  token: string;
  wire: number;
}

/** Frames a connection gets, outbound batches unwrapped into their inner frames. */
function unwrapped(client: TestWs): RefFrame[] {
  const seen: RefFrame[] = [];
  client.socket.on('message', (raw) => {
    const frame = JSON.parse((raw as Buffer).toString('utf8')) as RefFrame;
    if (frame.type === 'message_batch') seen.push(...(frame.data as { messages: RefFrame[] }).messages);
    else seen.push(frame);
  });
  return seen;
}

function text(room: string, content: string, ref?: string) {
  return { type: 'room_message', data: { room, content, message_type: 'text' }, ...(ref ? { ref } : {}) };
}

describe('/ws/chat request ids (ref)', () => {
  let sample: RunningSample;
  const open: TestWs[] = [];
  let seq = 0;

  async function user(prefix: string): Promise<TestUser> {
    seq += 1;
    const login = await sample.login(`${prefix}${seq}`);
    return { token: login.token, wire: Number(login.user.id) };
  }

  async function connect(who: TestUser, query = ''): Promise<TestWs> {
    const client = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/chat?token=${who.token}${query}`);
    open.push(client);
    return client;
  }

  async function join(client: TestWs, room: string): Promise<void> {
    client.send({ type: 'join_room', data: { room } });
    await client.next('join_room_ack');
  }

  /** Ordering barrier: once the pong is back, every frame sent before it has arrived. */
  async function barrier(client: TestWs): Promise<void> {
    client.send({ type: 'ping', data: {} });
    await client.next('pong');
  }

  async function errorOf(client: TestWs): Promise<RefFrame> {
    return client.next('error');
  }

  beforeAll(async () => {
    sample = await startSample({
      overrides: { limits: { rateLimit: { perMinute: 8, perHour: 100 } } },
    });
  });
  afterEach(async () => {
    const clients = open.splice(0);
    for (const client of clients) client.close();
    await Promise.all(clients.map((client) => client.closedWithin()));
  });
  afterAll(async () => {
    await sample.close();
  });

  it("puts the ref on the sending connection's room_message only: not on another member's, nor on the same user's other connection", async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const tab1 = await connect(alice);
    const tab2 = await connect(alice);
    const other = await connect(bob);
    for (const client of [tab1, tab2, other]) await join(client, 'general');

    tab1.send(text('general', 'same text', 'tab1-1'));
    const own = (await tab1.next('room_message')) as RefFrame;
    const atTab2 = (await tab2.next('room_message')) as RefFrame;
    const atOther = (await other.next('room_message')) as RefFrame;
    expect(own.ref).toBe('tab1-1');
    expect(Object.keys(own)).toEqual(['type', 'data', 'timestamp', 'user_id', 'ref']);
    for (const copy of [atTab2, atOther]) {
      expect(Object.keys(copy)).toEqual(['type', 'data', 'timestamp', 'user_id']);
      expect(copy.data).toEqual(own.data);
      expect(copy.timestamp).toBe(own.timestamp);
    }
    expect((own.data as RoomMessagePayload).content).toBe('same text');
  });

  it("puts the ref on the sending connection's direct_message only", async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const tab1 = await connect(alice);
    const tab2 = await connect(alice);
    const recipient = await connect(bob);
    tab1.send({ type: 'direct_message', data: { to_user_id: bob.wire, content: 'psst' }, ref: 'dm.1' });
    expect(((await tab1.next('direct_message')) as RefFrame).ref).toBe('dm.1');
    for (const client of [tab2, recipient]) {
      expect(Object.keys(await client.next('direct_message'))).toEqual([
        'type',
        'data',
        'timestamp',
        'user_id',
      ]);
    }
  });

  it('echoes the ref on join_room_ack, leave_room_ack, message_history, dm_conversations and pong', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const client = await connect(alice);
    const asked: Array<[string, object, string]> = [
      ['join_room', { room: 'general' }, 'join_room_ack'],
      ['room_history', { room: 'general' }, 'message_history'],
      ['dm_history', { with_user: bob.wire }, 'message_history'],
      ['dm_conversations', {}, 'dm_conversations'],
      ['ping', {}, 'pong'],
      ['leave_room', { room: 'general' }, 'leave_room_ack'],
    ];
    for (const [index, [type, data, answer]] of asked.entries()) {
      const ref = `req:${index}`;
      client.send({ type, data, ref });
      const frame = (await client.next(answer)) as RefFrame;
      expect(frame.ref).toBe(ref);
      expect(Object.keys(frame)).toEqual(['type', 'data', 'timestamp', 'ref']);
    }
  });

  it('echoes the ref on the errors a frame causes, from direct routes, gateway handlers and the dispatcher', async () => {
    const alice = await user('alice');
    const client = await connect(alice);
    const cases: Array<[object, string, Record<string, unknown>?]> = [
      // Posting to a room the connection has not joined (the direct route's rule).
      [text('general', 'not joined'), 'PERMISSION_DENIED'],
      // A bad DTO on the direct route and on a gateway handler (ValidationPipe through the filter).
      [{ type: 'room_message', data: { room: 'general' } }, 'INVALID_FORMAT'],
      [{ type: 'join_room', data: {} }, 'INVALID_FORMAT', { field: 'room' }],
      // A service error through the gateway's filter.
      [{ type: 'leave_room', data: { room: 'no-such-room-ref' } }, 'ROOM_NOT_FOUND'],
      [{ type: 'no_such_type', data: {} }, 'INVALID_FORMAT', { type: 'no_such_type' }],
      [{ type: 'message_batch', data: { messages: [] } }, 'INVALID_FORMAT', { field: 'messages' }],
    ];
    for (const [index, [frame, code, details]] of cases.entries()) {
      const ref = `err-${index}`;
      client.send({ ...frame, ref });
      const error = await errorOf(client);
      expect(error.data).toMatchObject({ code, ...(details ? { details } : {}) });
      expect(error.ref).toBe(ref);
      expect(Object.keys(error)).toEqual(['type', 'data', 'timestamp', 'ref']);
    }
  });

  it('echoes the ref on RATE_LIMITED', async () => {
    const alice = await user('alice');
    const client = await connect(alice);
    await join(client, 'general');
    // The limit is 8 a minute: the ninth is refused.
    for (let i = 0; i < 8; i += 1) {
      client.send(text('general', `n${i}`, `ok-${i}`));
      expect(((await client.next('room_message')) as RefFrame).ref).toBe(`ok-${i}`);
    }
    client.send(text('general', 'one too many', 'limited'));
    const error = await errorOf(client);
    expect(error.data).toMatchObject({ code: 'RATE_LIMITED' });
    expect(error.ref).toBe('limited');
  });

  it('answers an invalid ref with INVALID_FORMAT field ref, without a ref, and does not handle the frame', async () => {
    const alice = await user('alice');
    const client = await connect(alice);
    for (const ref of ['', 'has space', 'x'.repeat(65), 42, { id: 1 }]) {
      client.send({ type: 'ping', data: {}, ref });
      const error = await errorOf(client);
      expect(error.data).toMatchObject({ code: 'INVALID_FORMAT', details: { field: 'ref' } });
      expect(error.ref).toBeUndefined();
    }
    await barrier(client);
    expect(client.frames.map((frame) => frame.type)).toEqual([]);
  });

  it('answers frames without a ref exactly as before (no ref key anywhere)', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const client = await connect(alice);
    const other = await connect(bob);
    await join(other, 'general');
    client.send({ type: 'ping', data: {} });
    expect(Object.keys(await client.next('pong'))).toEqual(['type', 'data', 'timestamp']);
    client.send({ type: 'join_room', data: { room: 'general' } });
    expect(Object.keys(await client.next('join_room_ack'))).toEqual(['type', 'data', 'timestamp']);
    client.send(text('general', 'plain'));
    for (const at of [client, other]) {
      expect(Object.keys(await at.next('room_message'))).toEqual(['type', 'data', 'timestamp', 'user_id']);
    }
    client.send({ type: 'join_room', data: {} });
    expect(Object.keys(await client.next('error'))).toEqual(['type', 'data', 'timestamp']);
  });

  it("message_batch: each inner message's answers carry its own ref (none without one, never the batch's)", async () => {
    const alice = await user('alice');
    const client = await connect(alice);
    client.send({
      type: 'message_batch',
      ref: 'batch-1',
      data: {
        messages: [
          { type: 'join_room', data: { room: 'general' }, ref: 'b-join' },
          { ...text('general', 'in a batch'), ref: 'b-post' },
          { type: 'ping', data: {} },
          { type: 'ping', data: {}, ref: 'not valid!' },
          { type: 'leave_room', data: { room: 'no-such-room-batch' }, ref: 'b-leave' },
          { type: 42, ref: 'b-bad' },
          { type: 'ping', data: {}, ref: 'b-ping' },
        ],
      },
    });
    expect(((await client.next('join_room_ack')) as RefFrame).ref).toBe('b-join');
    expect(((await client.next('room_message')) as RefFrame).ref).toBe('b-post');
    expect(((await client.next('pong')) as RefFrame).ref).toBeUndefined();
    const badRef = await errorOf(client);
    expect(badRef.data).toMatchObject({ code: 'INVALID_FORMAT', details: { field: 'ref', index: 3 } });
    expect(badRef.ref).toBeUndefined();
    const notFound = await errorOf(client);
    expect(notFound.data).toMatchObject({ code: 'ROOM_NOT_FOUND' });
    expect(notFound.ref).toBe('b-leave');
    const badType = await errorOf(client);
    expect(badType.data).toMatchObject({ code: 'INVALID_FORMAT', details: { field: 'messages[5].type' } });
    expect(badType.ref).toBe('b-bad');
    expect(((await client.next('pong')) as RefFrame).ref).toBe('b-ping');
  });

  it("outbound batching (?batch=1): the sender's copy carries the ref, the other batched member's does not", async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = `batched-${seq}`;
    await request(sample.url)
      .post('/rooms')
      .set('Authorization', `Bearer ${bob.token}`)
      .send({ name: room, isPrivate: false })
      .expect(201);
    const sender = await connect(alice, '&batch=1');
    const other = await connect(bob, '&batch=1');
    for (const client of [sender, other]) await join(client, room);
    const atSender = unwrapped(sender);
    const atOther = unwrapped(other);

    sender.send(text(room, 'one', 'bt-1'));
    sender.send(text(room, 'two', 'bt-2'));
    const messages = (frames: RefFrame[]) => frames.filter((frame) => frame.type === 'room_message');
    await waitUntil(() => messages(atSender).length === 2 && messages(atOther).length === 2);
    expect(messages(atSender).map((frame) => frame.ref)).toEqual(['bt-1', 'bt-2']);
    expect(messages(atOther).map((frame) => Object.keys(frame))).toEqual([
      ['type', 'data', 'timestamp', 'user_id'],
      ['type', 'data', 'timestamp', 'user_id'],
    ]);
  });
});
