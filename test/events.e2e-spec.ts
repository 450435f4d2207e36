// Seed 002 against the real sample app: who receives which rt_* event, dedupe, and refused handshakes.
import request from 'supertest';
import type { Socket } from 'socket.io-client';
import {
  EventsManager,
  RT_SYNC_EVENT,
  type GlobalStatsUpdatedPayload,
  type SyncStatePayload,
} from 'nest-realtime';
import { connectIo, ioRefusal, nextEvent, recordEvents, signToken } from './support/clients';
import { startSample, TEST_SECRET, type RunningSample } from './support/sample-app';

describe('Real-time events API (seed 002)', () => {
  let sample: RunningSample;
  const sockets: Socket[] = [];

  async function open(token: string, page?: string): Promise<Socket> {
    const socket = await connectIo(sample.url, page ? { token, page } : { token });
    sockets.push(socket);
    return socket;
  }

  /**
   * Emits a marker to everyone and waits until `socket` has it: everything the server sent to that
   * socket before the marker has then arrived (Socket.IO keeps order per socket).
   */
  async function barrier(socket: Socket): Promise<void> {
    const marker = `barrier-${Math.random()}`;
    const arrived = new Promise<void>((resolve) => {
      const handler = (value: string) => {
        if (value !== marker) return;
        socket.off('rt_test_barrier', handler);
        resolve();
      };
      socket.on('rt_test_barrier', handler);
    });
    sample.app.get(EventsManager).broadcast('rt_test_barrier', marker);
    await arrived;
  }

  beforeAll(async () => {
    sample = await startSample({ overrides: { events: { statsThrottleMs: 50 } } });
  });

  afterEach(() => {
    while (sockets.length) sockets.pop()?.close();
  });

  afterAll(async () => {
    await sample.close();
  });

  it('tells an admin socket about a login (rt_user_logged_in), and never a non-admin one', async () => {
    const admin = await sample.login('admin');
    const user = await sample.login('carol');
    const adminSocket = await open(admin.token, 'admin');
    const userSocket = await open(user.token, 'admin');
    const userSeen = recordEvents(userSocket);

    const received = nextEvent<Record<string, unknown>>(adminSocket, 'rt_user_logged_in');
    await request(sample.url)
      .post('/auth/login')
      .send({ username: 'dave', email: 'dave@example.com' })
      .expect(200);
    const payload = await received;
    expect(payload).toEqual({
      id: expect.any(String),
      name: 'dave',
      email: 'dave@example.com',
      isAdmin: false,
    });

    const loggedOut = nextEvent<Record<string, unknown>>(adminSocket, 'rt_user_logged_out');
    await request(sample.url).post('/auth/logout').set('Authorization', `Bearer ${user.token}`).expect(204);
    expect(await loggedOut).toEqual({ id: user.user.id, name: 'carol', logoutTime: expect.any(String) });

    await barrier(userSocket);
    expect(
      userSeen.map((e) => e.event).filter((e) => e.startsWith('rt_') && e !== 'rt_test_barrier'),
    ).toEqual([]);
  });

  it('sends rt_module_added to the modules page and not to a socket on another page', async () => {
    const owner = await sample.login('erin');
    const watcher = await open(owner.token, 'modules');
    const elsewhere = await open((await sample.login('frank')).token, 'dashboard');
    const elsewhereSeen = recordEvents(elsewhere);

    const added = nextEvent<Record<string, unknown>>(watcher, 'rt_module_added');
    await request(sample.url)
      .post('/modules')
      .set('Authorization', `Bearer ${owner.token}`)
      .send({ moduleId: 'MC-1001-STN', name: 'Station principale', type: 'Station' })
      .expect(201);
    expect(await added).toEqual({
      moduleId: 'MC-1001-STN',
      name: 'Station principale',
      type: 'Station',
      userId: owner.user.id,
    });

    const updated = nextEvent(watcher, 'rt_module_updated');
    await request(sample.url)
      .patch('/modules/MC-1001-STN')
      .set('Authorization', `Bearer ${owner.token}`)
      .send({ name: 'Station 2' })
      .expect(200);
    expect(await updated).toEqual({ moduleId: 'MC-1001-STN', name: 'Station 2', type: 'Station' });

    const online = nextEvent<Record<string, unknown>>(watcher, 'rt_module_online');
    await request(sample.url)
      .post('/modules/MC-1001-STN/online')
      .set('Authorization', `Bearer ${owner.token}`)
      .expect(200);
    expect(await online).toMatchObject({ moduleId: 'MC-1001-STN', lastSeen: expect.any(String) });

    const offline = nextEvent(watcher, 'rt_module_offline');
    await request(sample.url)
      .post('/modules/MC-1001-STN/offline')
      .set('Authorization', `Bearer ${owner.token}`)
      .expect(200);
    expect(await offline).toEqual({ moduleId: 'MC-1001-STN', disconnectedAt: expect.any(String) });

    const removed = nextEvent(watcher, 'rt_module_removed');
    await request(sample.url)
      .delete('/modules/MC-1001-STN')
      .set('Authorization', `Bearer ${owner.token}`)
      .expect(204);
    expect(await removed).toEqual({ moduleId: 'MC-1001-STN', userId: owner.user.id });

    await barrier(elsewhere);
    expect(elsewhereSeen.filter((e) => e.event.startsWith('rt_module'))).toEqual([]);
  });

  it('suppresses an unchanged telemetry post (same values, other key order)', async () => {
    const owner = await sample.login('grace');
    const watcher = await open(owner.token, 'modules');
    const seen = recordEvents(watcher);
    const auth = { Authorization: `Bearer ${owner.token}` };
    await request(sample.url)
      .post('/modules')
      .set(auth)
      .send({ moduleId: 'TEL-1', name: 'Probe', type: 'Sensor' })
      .expect(201);

    const first = await request(sample.url)
      .post('/modules/TEL-1/telemetry')
      .set(auth)
      .send({ telemetry: { temperature: 21.5, humidity: 40, nested: { a: 1, b: 2 } } })
      .expect(200);
    expect(first.body).toEqual({ moduleId: 'TEL-1', emitted: true });
    const same = await request(sample.url)
      .post('/modules/TEL-1/telemetry')
      .set(auth)
      .send({ telemetry: { nested: { b: 2, a: 1 }, humidity: 40, temperature: 21.5 } })
      .expect(200);
    expect(same.body).toEqual({ moduleId: 'TEL-1', emitted: false });
    const changed = await request(sample.url)
      .post('/modules/TEL-1/telemetry')
      .set(auth)
      .send({ telemetry: { temperature: 22, humidity: 40, nested: { a: 1, b: 2 } } })
      .expect(200);
    expect(changed.body).toEqual({ moduleId: 'TEL-1', emitted: true });

    await barrier(watcher);
    const telemetry = seen.filter((e) => e.event === 'rt_telemetry_updated').map((e) => e.payload);
    expect(telemetry).toEqual([
      { moduleId: 'TEL-1', telemetry: { temperature: 21.5, humidity: 40, nested: { a: 1, b: 2 } } },
      { moduleId: 'TEL-1', telemetry: { temperature: 22, humidity: 40, nested: { a: 1, b: 2 } } },
    ]);
  });

  it('emitToUser reaches every socket of that user and nobody else', async () => {
    const heidi = await sample.login('heidi');
    const ivan = await sample.login('ivan');
    const tab1 = await open(heidi.token, 'modules');
    const tab2 = await open(heidi.token, 'dashboard');
    const other = await open(ivan.token, 'modules');
    const otherSeen = recordEvents(other);

    const got1 = nextEvent(tab1, 'rt_private_note');
    const got2 = nextEvent(tab2, 'rt_private_note');
    sample.app.get(EventsManager).emitToUser(heidi.user.id, 'rt_private_note', { text: 'for heidi' });
    expect(await got1).toEqual({ text: 'for heidi' });
    expect(await got2).toEqual({ text: 'for heidi' });

    await barrier(other);
    expect(otherSeen.filter((e) => e.event === 'rt_private_note')).toEqual([]);
  });

  it('sends admins rt_global_stats_updated with real figures when connections change', async () => {
    const admin = await sample.login('admin');
    const adminSocket = await open(admin.token, 'admin');
    const judy = await sample.login('judy');
    const before = sample.app.get(EventsManager).emittedCount;
    expect(before).toBeGreaterThan(0);

    const stats = new Promise<GlobalStatsUpdatedPayload>((resolve) => {
      adminSocket.on('rt_global_stats_updated', (payload: GlobalStatsUpdatedPayload) => {
        if (payload.stats.connections === 2) resolve(payload);
      });
    });
    await open(judy.token);
    const payload = await stats;
    expect(payload.stats.activeUsers).toBe(2);
    expect(payload.stats.connectionsByTransport).toEqual({ socketIo: 2, ws: 0 });
    const users = await request(sample.url).post('/auth/login').send({ username: 'admin' }).expect(200);
    expect(users.body.user.isAdmin).toBe(true);
    expect(payload.stats.totalUsers).toBeGreaterThanOrEqual(2);
  });

  it('answers rt_sync with the current state: modules for the modules page, stats for admins', async () => {
    const owner = await sample.login('kim');
    await request(sample.url)
      .post('/modules')
      .set('Authorization', `Bearer ${owner.token}`)
      .send({ moduleId: 'SYNC-1', name: 'Synced', type: 'Relay' })
      .expect(201);
    const socket = await open(owner.token, 'modules');
    const state = (await socket.timeout(5000).emitWithAck(RT_SYNC_EVENT, {})) as SyncStatePayload;
    expect(state.user).toEqual({ id: owner.user.id, username: 'kim', isAdmin: false, page: 'modules' });
    // The sample's module table is the library's source of module states: the stored status too.
    expect(state.modules).toContainEqual({
      moduleId: 'SYNC-1',
      definition: { name: 'Synced', type: 'Relay' },
      status: 'offline',
    });
    expect(state.stats).toBeUndefined();

    const admin = await open((await sample.login('admin')).token, 'admin');
    const adminState = (await admin.timeout(5000).emitWithAck(RT_SYNC_EVENT, {})) as SyncStatePayload;
    expect(adminState.stats?.connections).toBeGreaterThanOrEqual(2);
  });

  describe('refused handshakes', () => {
    it.each([
      ['no token', {}, 'Authentication token missing'],
      ['a garbage token', { token: 'not-a-jwt' }, 'Token invalid'],
      [
        'a token signed with another secret',
        { token: signToken({ sub: '1' }, {}, 'another-secret-0123456789abcdef') },
        'Token signature invalid',
      ],
      [
        'an expired token',
        { token: signToken({ sub: '1', exp: Math.floor(Date.now() / 1000) - 10 }) },
        'Token expired',
      ],
      [
        'an HS512 token (algorithm not pinned)',
        { token: signToken({ sub: '1' }, { algorithm: 'HS512' }) },
        'Token algorithm not accepted',
      ],
    ])('refuses %s with connect_error AUTH_FAILED', async (_name, auth, message) => {
      const error = await ioRefusal(sample.url, auth);
      expect(error.message).toBe(message);
      expect(error.data).toEqual({ code: 'AUTH_FAILED', message, details: {} });
    });

    it('refuses an unsigned alg:none token', async () => {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const token = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: '1', username: 'admin', roles: ['admin'] })}.`;
      const error = await ioRefusal(sample.url, { token });
      expect(error.data?.code).toBe('AUTH_FAILED');
    });

    it('accepts the token from the query string and from an Authorization header', async () => {
      const token = signToken({ sub: '77', username: 'query-user' }, {}, TEST_SECRET);
      const viaQuery = await connectIo(sample.url, {}, { query: { token } });
      sockets.push(viaQuery);
      const viaHeader = await connectIo(
        sample.url,
        {},
        { extraHeaders: { Authorization: `Bearer ${token}` } },
      );
      sockets.push(viaHeader);
      expect(viaQuery.connected && viaHeader.connected).toBe(true);
    });
  });

  it('closes a Socket.IO connection whose token expired, at its expiry, with AUTH_FAILED', async () => {
    const exp = Math.ceil((Date.now() + 1500) / 1000);
    const socket = await open(signToken({ sub: '88', username: 'short-lived', exp }));
    const error = nextEvent<{ code: string; message: string }>(socket, 'error', 5000);
    const disconnected = nextEvent<string>(socket, 'disconnect', 5000);
    expect(await error).toEqual({ code: 'AUTH_FAILED', message: 'Token expired', details: {} });
    expect(await disconnected).toBe('io server disconnect');
    // Not before the token's expiry (second precision).
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
  });
});
