// Two nodes of the sample app sharing one real Redis: events emitted on one node reach the sockets
// connected to the other.
import { EventsManager, RealtimeApi } from 'nest-realtime';
import type { Socket } from 'socket.io-client';
import { connectIo, nextEvent, signToken } from './support/clients';
import { startRedis, type RedisServer } from './support/redis-server';
import { startSample, type RunningSample } from './support/sample-app';

describe('scale-out over Redis (two nodes)', () => {
  let redis: RedisServer;
  let nodeA: RunningSample;
  let nodeB: RunningSample;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    nodeA = await startSample({ overrides: { redis: { url: redis.url, keyPrefix: 'rt-e2e' } } });
    nodeB = await startSample({ overrides: { redis: { url: redis.url, keyPrefix: 'rt-e2e' } } });
  }, 60_000);

  afterAll(async () => {
    sockets.forEach((socket) => socket.close());
    await nodeA?.close();
    await nodeB?.close();
    await redis?.stop();
  });

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

  it('refuses to boot when Redis cannot be reached, naming the URL', async () => {
    await expect(
      startSample({ overrides: { redis: { url: 'redis://127.0.0.1:1', connectTimeoutMs: 1000 } } }),
    ).rejects.toThrow('RealtimeModule: cannot reach Redis at redis://127.0.0.1:1');
  });
});
