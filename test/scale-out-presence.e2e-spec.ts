// Several nodes with the semantics of one: presence, per-room presence, global stats, per-user limits
// and the events API's change dedupe are the deployment's, counted in one real Redis, and a node that
// dies without closing its connections stops counting within `redis.nodeExpiryMs` and a sweep.
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join as joinPath } from 'path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { RealtimeApi, resolveRealtimeOptions, type UserStatusPayload } from 'nest-realtime';
import type { Socket } from 'socket.io-client';
import { Clients, recordEvents, signToken, TestWs, waitUntil } from './support/clients';
import { startRedis, type RedisServer } from './support/redis-server';
import { startSample, type RunningSample } from './support/sample-app';

const NODE_EXPIRY_MS = 1500;
const PREFIX = 'rt-presence';

describe('scale-out presence, limits and module states (two nodes over Redis)', () => {
  let redis: RedisServer;
  let nodeA: RunningSample;
  let nodeB: RunningSample;
  const clients = new Clients();
  const dataDir = mkdtempSync(joinPath(tmpdir(), 'rt-e2e-presence-'));

  beforeAll(async () => {
    redis = await startRedis();
    const overrides = {
      redis: { url: redis.url, keyPrefix: PREFIX, nodeExpiryMs: NODE_EXPIRY_MS },
      limits: { rateLimit: { perMinute: 5, perHour: 100 }, maxConnectionsPerUser: 2 },
    };
    nodeA = await startSample({ config: { dataDir }, overrides });
    nodeB = await startSample({ config: { dataDir }, overrides });
  }, 60_000);

  afterEach(() => clients.closeAll());

  afterAll(async () => {
    clients.closeAll();
    await nodeA?.close();
    await nodeB?.close();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function io(
    node: RunningSample,
    sub: string,
    extra: Record<string, unknown> = {},
    page?: string,
  ): Promise<Socket> {
    const token = signToken({ sub, username: `u${sub}`, ...extra });
    return clients.io(node.url, page === undefined ? { token } : { token, page });
  }

  function statuses(watcher: Socket, userId: string): () => UserStatusPayload[] {
    const events = recordEvents(watcher);
    return () =>
      events
        .filter((event) => event.event === 'userStatus')
        .map((event) => event.payload as UserStatusPayload)
        .filter((status) => status.userId === userId);
  }

  /** A Socket.IO round trip on each socket: whatever was emitted to it before has arrived. */
  async function settle(...sockets: Socket[]): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 150));
    for (const socket of sockets) await socket.timeout(5000).emitWithAck('onlineUsers');
  }

  it('a user with tabs on two nodes comes online once and goes offline once, when the last tab closes', async () => {
    const watcherA = await io(nodeA, '900');
    const watcherB = await io(nodeB, '901');
    const seenOnA = statuses(watcherA, '10');
    const seenOnB = statuses(watcherB, '10');

    const tab1 = await io(nodeA, '10');
    const tab2 = await io(nodeB, '10');
    await waitUntil(() => seenOnA().length >= 1 && seenOnB().length >= 1);
    await settle(watcherA, watcherB);
    expect(seenOnA().map((s) => s.isOnline)).toEqual([true]);
    expect(seenOnB().map((s) => s.isOnline)).toEqual([true]);

    const online = (await watcherB.timeout(5000).emitWithAck('onlineUsers')) as {
      users: UserStatusPayload[];
    };
    expect(online.users.filter((user) => user.isOnline).map((user) => user.userId)).toEqual(
      expect.arrayContaining(['10', '900', '901']),
    );

    tab1.close();
    await settle(watcherA, watcherB);
    expect(seenOnA().map((s) => s.isOnline)).toEqual([true]);

    tab2.close();
    await waitUntil(() => seenOnA().length === 2 && seenOnB().length === 2);
    await settle(watcherA, watcherB);
    expect(seenOnA().map((s) => s.isOnline)).toEqual([true, false]);
    expect(seenOnB().map((s) => s.isOnline)).toEqual([true, false]);
    expect(typeof seenOnB()[1]?.lastSeen).toBe('string');
  });

  it('announces user_connected / user_disconnected per room once for the deployment', async () => {
    const ann = await nodeA.login('ann-presence');
    const bob = await nodeB.login('bob-presence');
    const watcher = await clients.ws(`ws://127.0.0.1:${nodeA.port}/ws/chat?token=${ann.token}`);
    await join(watcher, 'lobby-p');

    const bobOnB = await clients.ws(`ws://127.0.0.1:${nodeB.port}/ws/chat?token=${bob.token}`);
    const bobOnA = await clients.ws(`ws://127.0.0.1:${nodeA.port}/ws/chat?token=${bob.token}`);
    await join(bobOnB, 'lobby-p');
    await join(bobOnA, 'lobby-p');
    const presence = (): Array<{ type: string; user: unknown }> =>
      watcher.frames
        .filter((frame) => frame.type === 'user_connected' || frame.type === 'user_disconnected')
        .map((frame) => ({ type: frame.type, user: (frame.data as { username: string }).username }));
    await waitUntil(() => presence().length >= 1);
    await pingPong(watcher);
    expect(presence()).toEqual([{ type: 'user_connected', user: 'bob-presence' }]);

    bobOnB.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await pingPong(watcher);
    expect(presence()).toHaveLength(1);

    bobOnA.send({ type: 'leave_room', data: { room: 'lobby-p' } });
    await bobOnA.next('leave_room_ack');
    await waitUntil(() => presence().length === 2);
    expect(presence()[1]).toEqual({ type: 'user_disconnected', user: 'bob-presence' });
  });

  it('sends the deployment-wide figures in rt_global_stats_updated', async () => {
    const admin = await io(nodeA, '1', { roles: ['admin'] }, 'admin');
    const stats: Array<{ activeUsers: number; connections: number }> = [];
    admin.on('rt_global_stats_updated', (payload: { stats: { activeUsers: number; connections: number } }) =>
      stats.push(payload.stats),
    );
    await io(nodeB, '31');
    await io(nodeB, '32');
    // Three sockets in the deployment (the admin's on A, two on B), three users.
    await waitUntil(() => stats.some((s) => s.connections === 3 && s.activeUsers === 3), 8000);
  });

  it('takes the users of a node that stopped renewing its presence offline, within the expiry and a sweep', async () => {
    const watcher = await io(nodeB, '902');
    const seen = statuses(watcher, 'ghost');
    // What a node killed with two connections of user "ghost" leaves in Redis.
    const client = new Redis(redis.url);
    try {
      const deadNode = 'killed-node';
      await client
        .multi()
        .zadd(`${PREFIX}:presence:nodes`, Date.now() + 300, deadNode)
        .hset(`${PREFIX}:presence:node:${deadNode}`, 'ughost', '2', 'tws', '2')
        .hincrby(`${PREFIX}:presence:users`, 'ughost', 2)
        .hincrby(`${PREFIX}:presence:transports`, 'tws', 2)
        .hset(`${PREFIX}:presence:names`, 'ghost', 'Ghost')
        .exec();
      const started = Date.now();
      await waitUntil(() => seen().length > 0, 300 + NODE_EXPIRY_MS + NODE_EXPIRY_MS / 3 + 2000);
      const tookMs = Date.now() - started;
      expect(seen()).toEqual([
        expect.objectContaining({ userId: 'ghost', username: 'Ghost', isOnline: false }),
      ]);
      expect(tookMs).toBeLessThan(300 + NODE_EXPIRY_MS + NODE_EXPIRY_MS / 3 + 1000);
      expect(await client.hget(`${PREFIX}:presence:users`, 'ughost')).toBeNull();
      expect(await client.exists(`${PREFIX}:presence:node:${deadNode}`)).toBe(0);
      // Claimed once: the two live nodes both swept, one took it.
      await settle(watcher);
      expect(seen()).toHaveLength(1);
    } finally {
      client.disconnect();
    }
  });

  it('counts a node again when it was counted out while cut from Redis', async () => {
    await io(nodeA, '77');
    await io(nodeB, '78');
    const client = new Redis(redis.url);
    try {
      await waitUntil(async () => (await client.hget(`${PREFIX}:presence:users`, 'u77')) === '1');
      // What another node's sweep does to nodes whose entry expired: here, to both nodes at once.
      const nodes = await client.zrange(`${PREFIX}:presence:nodes`, 0, -1);
      expect(nodes.length).toBeGreaterThanOrEqual(2);
      for (const node of nodes) {
        await client
          .multi()
          .zrem(`${PREFIX}:presence:nodes`, node)
          .del(`${PREFIX}:presence:node:${node}`)
          .exec();
      }
      await client.del(`${PREFIX}:presence:users`, `${PREFIX}:presence:transports`);
      // At their next renewal each node finds its entry gone and counts its connections again.
      await waitUntil(
        async () =>
          (await client.hget(`${PREFIX}:presence:users`, 'u77')) === '1' &&
          (await client.hget(`${PREFIX}:presence:users`, 'u78')) === '1',
        NODE_EXPIRY_MS + 2000,
      );
      expect(await client.zcard(`${PREFIX}:presence:nodes`)).toBe(nodes.length);
      // Counted once: another tab of the same user opens and closes, and the count comes back to 1.
      const tab = await io(nodeA, '77');
      await waitUntil(async () => (await client.hget(`${PREFIX}:presence:users`, 'u77')) === '2');
      tab.close();
      await waitUntil(async () => (await client.hget(`${PREFIX}:presence:users`, 'u77')) === '1');
      const sockets = Object.values(await client.hgetall(`${PREFIX}:presence:transports`)).map(Number);
      expect(sockets.reduce((sum, count) => sum + count, 0)).toBe(2);
    } finally {
      client.disconnect();
    }
  });

  it('takes the users of a node that shuts down normally offline for the others, once', async () => {
    const nodeC = await startSample({
      config: { dataDir },
      overrides: { redis: { url: redis.url, keyPrefix: PREFIX, nodeExpiryMs: NODE_EXPIRY_MS } },
    });
    const watcher = await io(nodeA, '903');
    const seen = statuses(watcher, '88');
    let closed = false;
    try {
      await clients.io(nodeC.url, { token: signToken({ sub: '88', username: 'u88' }) });
      await waitUntil(() => seen().length === 1);
      const started = Date.now();
      await nodeC.close();
      closed = true;
      await waitUntil(() => seen().length === 2, NODE_EXPIRY_MS + 2000);
      expect(Date.now() - started).toBeLessThan(NODE_EXPIRY_MS);
      await settle(watcher);
      expect(seen().map((status) => status.isOnline)).toEqual([true, false]);
    } finally {
      if (!closed) await nodeC.close();
    }
  });

  it('drops a transition that arrives after a newer one for the same user (announcements of two nodes crossing)', async () => {
    const watcherA = await io(nodeA, '904');
    const watcherB = await io(nodeB, '905');
    const seenA = statuses(watcherA, '66');
    const seenB = statuses(watcherB, '66');
    await io(nodeB, '66');
    await waitUntil(() => seenA().length === 1 && seenB().length === 1);
    const client = new Redis(redis.url);
    try {
      const version = Number(await client.get(`${PREFIX}:presence:version`));
      // What a node whose "offline" of an earlier change reached the others late would relay.
      const relayed = (transitionVersion: number) =>
        JSON.stringify({
          node: 'another-node',
          body: {
            kind: 'user',
            transition: {
              online: false,
              userId: '66',
              username: 'u66',
              at: Date.now(),
              version: transitionVersion,
              observed: false,
            },
          },
        });
      await client.publish(`${PREFIX}:presence`, relayed(version - 1));
      await settle(watcherA, watcherB);
      expect(seenA().map((status) => status.isOnline)).toEqual([true]);
      expect(seenB().map((status) => status.isOnline)).toEqual([true]);
      // A newer one is delivered by every node to its own sockets, once.
      await client.publish(`${PREFIX}:presence`, relayed(version + 1000));
      await waitUntil(() => seenA().length === 2 && seenB().length === 2);
      await settle(watcherA, watcherB);
      expect(seenA().map((status) => status.isOnline)).toEqual([true, false]);
      expect(seenB().map((status) => status.isOnline)).toEqual([true, false]);
    } finally {
      client.disconnect();
    }
  });

  it('counts the message rate limit across nodes: the limit once for the deployment', async () => {
    const cat = await nodeA.login('cat-limits');
    const onA = await clients.ws(`ws://127.0.0.1:${nodeA.port}/ws/chat?token=${cat.token}`);
    const onB = await clients.ws(`ws://127.0.0.1:${nodeB.port}/ws/chat?token=${cat.token}`);
    await join(onA, 'limits-p');
    await join(onB, 'limits-p');
    const outcomes: string[] = [];
    for (let index = 0; index < 8; index += 1) {
      const client = index % 2 === 0 ? onA : onB;
      client.send({
        type: 'room_message',
        ref: `m${index}`,
        data: { room: 'limits-p', content: `n${index}`, message_type: 'text' },
      });
      const answer = await client.nextMatching((frame) => frame.ref === `m${index}`);
      outcomes.push(answer.type === 'error' ? String((answer.data as { code: string }).code) : answer.type);
    }
    expect(outcomes).toEqual([...Array(5).fill('room_message'), ...Array(3).fill('RATE_LIMITED')]);
    expect(outcomes.filter((outcome) => outcome === 'room_message')).toHaveLength(5);
    expect(outcomes.filter((outcome) => outcome === 'RATE_LIMITED')).toHaveLength(3);
  });

  it('counts connections per user across nodes: past maxConnectionsPerUser the newest is closed with CONNECTION_LIMIT', async () => {
    const dan = await nodeA.login('dan-limits');
    await clients.ws(`ws://127.0.0.1:${nodeA.port}/ws/chat?token=${dan.token}`);
    await clients.ws(`ws://127.0.0.1:${nodeB.port}/ws/chat?token=${dan.token}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const third = await clients.ws(`ws://127.0.0.1:${nodeA.port}/ws/chat?token=${dan.token}`);
    const error = await third.next('error');
    expect(error.data).toMatchObject({ code: 'CONNECTION_LIMIT' });
    expect((await third.closedWithin()).code).toBeGreaterThanOrEqual(4000);
  });

  it('sends a module change once when both nodes get it, and rt_sync on either node answers the same state', async () => {
    const owner = await nodeA.login('module-owner');
    await request(nodeA.url)
      .post('/modules')
      .set('Authorization', `Bearer ${owner.token}`)
      .send({ moduleId: 'SHARED-1', name: 'Shared', type: 'Relay' })
      .expect(201);
    const watcher = await io(nodeA, '950', {}, 'modules');
    const events = recordEvents(watcher);
    const telemetry = { cpu: 12, temp: 40 };
    nodeA.app.get(RealtimeApi).emitTelemetryUpdated('SHARED-1', telemetry);
    nodeB.app.get(RealtimeApi).emitTelemetryUpdated('SHARED-1', { temp: 40, cpu: 12 });
    await waitUntil(() => events.some((event) => event.event === 'rt_telemetry_updated'));
    await settle(watcher);
    expect(events.filter((event) => event.event === 'rt_telemetry_updated')).toHaveLength(1);

    const onB = await io(nodeB, '951', {}, 'modules');
    const state = (await onB.timeout(5000).emitWithAck('rt_sync', {})) as {
      modules: Array<{ moduleId: string; telemetry?: unknown }>;
    };
    expect(state.modules).toContainEqual(expect.objectContaining({ moduleId: 'SHARED-1', telemetry }));
  });

  it("refuses @nestjs/throttler's in-memory storage when redis is set", () => {
    expect(() =>
      resolveRealtimeOptions({
        auth: { secret: 'a-test-secret-of-32-characters!!' },
        redis: { url: 'redis://127.0.0.1:6379' },
        rooms: { rateLimitStorage: new ThrottlerStorageService() },
      }),
    ).toThrow(/rooms\.rateLimitStorage.*in-memory storage, which counts per node/);
  });
});

async function join(client: TestWs, room: string): Promise<void> {
  client.send({ type: 'join_room', data: { room } });
  expect((await client.next('join_room_ack')).data).toMatchObject({ room, success: true });
}

async function pingPong(client: TestWs): Promise<void> {
  client.send({ type: 'ping', data: {} });
  await client.next('pong');
}
