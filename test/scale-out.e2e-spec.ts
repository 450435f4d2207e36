// Two nodes of the sample app sharing one real Redis and one database: events emitted on one node
// reach the sockets connected to the other, and so do raw-ws room messages, direct messages, chat
// messages (exactly once) and log entries.
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import { EventsManager, RealtimeApi, type LogEntry } from 'nest-realtime';
import type { Socket } from 'socket.io-client';
import { connectIo, nextEvent, recordEvents, signToken, TestWs, waitUntil } from './support/clients';
import { startRedis, type RedisServer } from './support/redis-server';
import { startSample, type RunningSample } from './support/sample-app';

describe('scale-out over Redis (two nodes)', () => {
  let redis: RedisServer;
  let nodeA: RunningSample;
  let nodeB: RunningSample;
  const sockets: Socket[] = [];
  const raw: TestWs[] = [];
  // One database for both nodes, as a deployment behind a load balancer has.
  const dataDir = mkdtempSync(join(tmpdir(), 'rt-e2e-nodes-'));

  beforeAll(async () => {
    redis = await startRedis();
    const overrides = { redis: { url: redis.url, keyPrefix: 'rt-e2e' } };
    nodeA = await startSample({ config: { dataDir }, overrides });
    nodeB = await startSample({ config: { dataDir }, overrides });
  }, 60_000);

  afterAll(async () => {
    sockets.forEach((socket) => socket.close());
    raw.forEach((client) => client.close());
    await nodeA?.close();
    await nodeB?.close();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function openRaw(node: RunningSample, path: string, token: string): Promise<TestWs> {
    const client = await TestWs.open(`ws://127.0.0.1:${node.port}${path}?token=${token}`);
    raw.push(client);
    return client;
  }

  async function joinGeneral(client: TestWs): Promise<void> {
    client.send({ type: 'join_room', data: { room: 'general' } });
    expect((await client.next('join_room_ack')).data).toMatchObject({ room: 'general', success: true });
  }

  async function open(
    node: RunningSample,
    sub: string,
    extra: Record<string, unknown> = {},
  ): Promise<Socket> {
    const socket = await connectIo(node.url, { token: signToken({ sub, username: `u${sub}`, ...extra }) });
    sockets.push(socket);
    return socket;
  }

  it('emitToUser on node A reaches every socket of that user on both nodes', async () => {
    const onA = await open(nodeA, '42');
    const onB = await open(nodeB, '42');
    const gotA = nextEvent(onA, 'rt_note');
    const gotB = nextEvent(onB, 'rt_note');
    nodeA.app.get(EventsManager).emitToUser('42', 'rt_note', { text: 'across nodes' });
    expect(await gotA).toEqual({ text: 'across nodes' });
    expect(await gotB).toEqual({ text: 'across nodes' });
  });

  it('admin events emitted on node B reach an admin connected to node A', async () => {
    const admin = await open(nodeA, '1', { roles: ['admin'] });
    const received = nextEvent(admin, 'rt_user_logged_in');
    nodeB.app.get(RealtimeApi).emitUserLoggedIn({ id: '9', name: 'remote', email: null, isAdmin: false });
    expect(await received).toEqual({ id: '9', name: 'remote', email: null, isAdmin: false });
  });

  it('delivers a raw-ws room message stored on node A to the members on node B, once', async () => {
    const ann = await nodeA.login('ann');
    const bob = await nodeB.login('bob');
    const onA = await openRaw(nodeA, '/ws/chat', ann.token);
    const onB = await openRaw(nodeB, '/ws/chat', bob.token);
    await joinGeneral(onA);
    await joinGeneral(onB);
    for (const content of ['first', 'second', 'third']) {
      onA.send({ type: 'room_message', data: { room: 'general', content, message_type: 'text' } });
      await onA.next('room_message');
    }
    const contents: string[] = [];
    for (let i = 0; i < 3; i++) {
      const data = (await onB.next('room_message')).data as { content: string };
      contents.push(data.content);
    }
    expect(contents).toEqual(['first', 'second', 'third']);
    onB.send({ type: 'ping', data: {} });
    await onB.next('pong');
    expect(onB.frames.filter((f) => f.type === 'room_message')).toEqual([]);
  });

  it('delivers a direct message sent on node B to the recipient connected to node A', async () => {
    const cid = await nodeA.login('cid');
    const dee = await nodeB.login('dee');
    const cidOnA = await openRaw(nodeA, '/ws/chat', cid.token);
    const deeOnB = await openRaw(nodeB, '/ws/chat', dee.token);
    deeOnB.send({
      type: 'direct_message',
      data: { to_user_id: Number(cid.user.id), content: 'across', message_type: 'text' },
    });
    expect((await deeOnB.next('direct_message')).data).toMatchObject({ content: 'across' });
    expect((await cidOnA.next('direct_message')).data).toMatchObject({ content: 'across' });
  });

  it('delivers a Socket.IO chat message to the sockets of both nodes exactly once', async () => {
    const eve = await open(nodeA, '501');
    const fay = await open(nodeB, '502');
    const fayEvents = recordEvents(fay);
    const eveEvents = recordEvents(eve);
    const ack = (await eve.timeout(5000).emitWithAck('message', { message: 'hello nodes' })) as {
      id?: string;
    };
    expect(typeof ack.id).toBe('string');
    await waitUntil(() => fayEvents.some((e) => e.event === 'message'));
    // A Socket.IO round trip on each socket: anything emitted before it has arrived.
    await fay.timeout(5000).emitWithAck('onlineUsers');
    await eve.timeout(5000).emitWithAck('onlineUsers');
    const messages = (events: typeof fayEvents) =>
      events.filter((e) => e.event === 'message').map((e) => (e.payload as { message: string }).message);
    expect(messages(fayEvents)).toEqual(['hello nodes']);
    expect(messages(eveEvents)).toEqual(['hello nodes']);
  });

  it('delivers logs posted on node A to the subscribers of that app on node B, and their backlog', async () => {
    const token = signToken({ sub: 'ops', username: 'ops', appId: 'shared-app' });
    const subscriber = await openRaw(nodeB, '/ws/logs', token);
    await subscriber.next('auth_success');
    await subscriber.next('logs');
    await request(nodeA.url)
      .post('/apps/shared-app/logs')
      .set('Authorization', `Bearer ${token}`)
      .send([
        { level: 'info', message: 'one' },
        { level: 'warn', message: 'two' },
      ])
      .expect(202);
    const live = (await subscriber.next('logs')).payload as LogEntry[];
    expect(live.map((e) => e.message)).toEqual(['one', 'two']);

    const late = await openRaw(nodeB, '/ws/logs', token);
    await late.next('auth_success');
    expect(((await late.next('logs')).payload as LogEntry[]).map((e) => e.id)).toEqual(live.map((e) => e.id));
  });

  it('refuses to boot when Redis cannot be reached, naming the URL', async () => {
    await expect(
      startSample({ overrides: { redis: { url: 'redis://127.0.0.1:1', connectTimeoutMs: 1000 } } }),
    ).rejects.toThrow('RealtimeModule: cannot reach Redis at redis://127.0.0.1:1');
  });
});
