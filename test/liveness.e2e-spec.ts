// Connection liveness against the real sample app, one rule on every transport: listeners that answer
// heartbeats stay (the idle timeout is off by default); with an idle timeout, only application frames
// count as activity, and an idle raw ws client is told IDLE_TIMEOUT before its 4408 close; an
// expiring token ends listeners at its expiry; a peer that stops answering heartbeats is dropped. Transports: the rooms endpoint, the log stream (app port and its own port),
// the Socket.IO chat and events sockets.
import request from 'supertest';
import type { Socket } from 'socket.io-client';
import { REALTIME_OPTIONS, StreamPortListener, type ResolvedRealtimeOptions } from 'nest-realtime';
import { connectIo, nextEvent, signToken, SilentIoPeer, TestWs, waitUntil } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

const HEARTBEAT_MS = 100;
const IDLE_MS = 600;
const STREAM = { port: 0, host: '127.0.0.1' };

interface Listeners {
  rooms: TestWs;
  streamOnAppPort: TestWs;
  streamOnOwnPort: TestWs;
  chat: Socket;
  events: Socket;
}

/** A user of the sample and a token for it with the given claims (an `exp` of its own, an appId). */
async function userToken(sample: RunningSample, name: string, claims: Record<string, unknown> = {}) {
  const { user } = await sample.login(name);
  return signToken({ sub: user.id, username: user.username, roles: [], appId: `app-${name}`, ...claims });
}

/**
 * One listener per transport, each having done what a real client does first: the rooms client
 * joined a room, the log stream clients authenticated by URL token, the chat socket sent a message,
 * the events socket connected to a page. After that they only listen.
 */
async function openListeners(sample: RunningSample, token: string): Promise<Listeners> {
  const room = `liveness-${Math.random().toString(36).slice(2, 8)}`;
  await request(sample.url)
    .post('/rooms')
    .set('Authorization', `Bearer ${token}`)
    .send({ name: room, isPrivate: false })
    .expect(201);
  const rooms = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/chat?token=${token}`);
  rooms.send({ type: 'join_room', data: { room } });
  await rooms.next('join_room_ack');

  const streamPort = sample.app.get(StreamPortListener).port ?? 0;
  const streamOnAppPort = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/logs?token=${token}`);
  const streamOnOwnPort = await TestWs.open(`ws://127.0.0.1:${streamPort}/?token=${token}`);
  await Promise.all([streamOnAppPort.next('auth_success'), streamOnOwnPort.next('auth_success')]);

  const chat = await connectIo(sample.url, { token });
  const ack = (await chat.timeout(5000).emitWithAck('message', { message: 'hello, then silence' })) as {
    id?: string;
  };
  expect(typeof ack.id).toBe('string');
  const events = await connectIo(sample.url, { token, page: 'modules' });
  return { rooms, streamOnAppPort, streamOnOwnPort, chat, events };
}

function rawClients(listeners: Listeners): TestWs[] {
  return [listeners.rooms, listeners.streamOnAppPort, listeners.streamOnOwnPort];
}

function ioClients(listeners: Listeners): Socket[] {
  return [listeners.chat, listeners.events];
}

/** Heartbeats each client has answered so far: ws ping frames, Socket.IO engine pings. */
function countHeartbeats(listeners: Listeners): () => number[] {
  const counts = [...rawClients(listeners), ...ioClients(listeners)].map(() => ({ n: 0 }));
  const counted = counts.values();
  for (const client of rawClients(listeners)) {
    const count = counted.next().value as { n: number };
    client.socket.on('ping', () => (count.n += 1));
  }
  for (const socket of ioClients(listeners)) {
    const count = counted.next().value as { n: number };
    socket.io.on('ping', () => (count.n += 1));
  }
  return () => counts.map((count) => count.n);
}

/** What an idle raw ws client gets: the IDLE_TIMEOUT error in its endpoint's frames, then 4408. */
async function expectIdleClose(listeners: Listeners): Promise<void> {
  const told = {
    code: 'IDLE_TIMEOUT',
    message: 'Idle timeout',
    details: { close_code: 4408, idle_timeout_ms: IDLE_MS },
  };
  expect((await listeners.rooms.next('error', 4000)).data).toEqual(told);
  expect(await listeners.rooms.closedWithin(4000)).toEqual({ code: 4408, reason: 'Idle timeout' });
  for (const stream of [listeners.streamOnAppPort, listeners.streamOnOwnPort]) {
    expect((await stream.next('error', 4000)).payload).toEqual(told);
    expect(await stream.closedWithin(4000)).toEqual({ code: 4408, reason: 'Idle timeout' });
  }
}

function closeAll(listeners: Listeners): void {
  rawClients(listeners).forEach((client) => client.close());
  ioClients(listeners).forEach((socket) => socket.close());
}

describe('Liveness with the default idle timeout (off)', () => {
  let sample: RunningSample;

  beforeAll(async () => {
    sample = await startSample({
      overrides: { limits: { heartbeatIntervalMs: HEARTBEAT_MS, heartbeatTimeoutMs: 300 }, stream: STREAM },
    });
  });
  afterAll(async () => {
    await sample.close();
  });

  it('keeps every listener that answers heartbeats connected, on every transport', async () => {
    // No idle timeout is in force by default: only the heartbeat decides.
    expect(sample.app.get<ResolvedRealtimeOptions>(REALTIME_OPTIONS).limits.idleTimeoutMs).toBe(0);
    const listeners = await openListeners(sample, await userToken(sample, 'listener'));
    const heartbeats = countHeartbeats(listeners);
    const ended: string[] = [];
    rawClients(listeners).forEach((client, index) =>
      client.socket.on('close', (code) => ended.push(`raw ${index}: ${code}`)),
    );
    ioClients(listeners).forEach((socket, index) =>
      socket.on('disconnect', (reason) => ended.push(`io ${index}: ${reason}`)),
    );
    try {
      // 10 heartbeats each: the sweeps that would drop a peer have run many times over.
      await waitUntil(() => heartbeats().every((count) => count >= 10), 10_000);
      expect(ended).toEqual([]);
      expect(rawClients(listeners).every((client) => client.socket.readyState === client.socket.OPEN)).toBe(
        true,
      );
      expect(ioClients(listeners).every((socket) => socket.connected)).toBe(true);
    } finally {
      closeAll(listeners);
    }
  });

  it('drops a raw ws peer that stops answering ping frames, on the rooms endpoint and the log stream', async () => {
    const token = await userToken(sample, 'mute');
    const streamPort = sample.app.get(StreamPortListener).port ?? 0;
    const mutes = await Promise.all(
      [
        `ws://127.0.0.1:${sample.port}/ws/chat?token=${token}`,
        `ws://127.0.0.1:${sample.port}/ws/logs?token=${token}`,
        `ws://127.0.0.1:${streamPort}/?token=${token}`,
      ].map((url) => TestWs.open(url, { autoPong: false })),
    );
    for (const client of mutes) expect((await client.closedWithin(3000)).code).toBe(1006);
    // Counted from the socket's creation: a sweep right after the upgrade may ping before `open` resolves.
    expect(mutes.map((client) => client.pings >= 2)).toEqual([true, true, true]);
  });

  it('drops a Socket.IO peer that stops answering engine pings', async () => {
    const token = await userToken(sample, 'mute-io');
    // Connected to the namespace at the engine.io level, and then silent: it never answers a ping.
    const peer = await SilentIoPeer.open(sample.url, { token, page: 'modules' });
    try {
      await peer.closedWithin(3000);
      expect(peer.pings).toBeGreaterThanOrEqual(1);
    } finally {
      peer.close();
    }
  });
});

describe('Liveness with limits.idleTimeoutMs set', () => {
  let sample: RunningSample;

  beforeAll(async () => {
    sample = await startSample({
      overrides: { limits: { heartbeatIntervalMs: HEARTBEAT_MS, idleTimeoutMs: IDLE_MS }, stream: STREAM },
    });
  });
  afterAll(async () => {
    await sample.close();
  });

  it('closes listeners that only answer heartbeats, on every transport, telling Socket.IO clients why', async () => {
    const listeners = await openListeners(sample, await userToken(sample, 'quiet'));
    const lastSent = Date.now();
    const told = ioClients(listeners).map((socket) => nextEvent<unknown>(socket, 'error', 4000));
    const gone = ioClients(listeners).map((socket) => nextEvent<string>(socket, 'disconnect', 4000));
    try {
      await expectIdleClose(listeners);
      for (const error of told) {
        expect(await error).toEqual({
          code: 'IDLE_TIMEOUT',
          message: 'Idle timeout',
          details: { close_code: 4408, idle_timeout_ms: IDLE_MS },
        });
      }
      for (const reason of gone) expect(await reason).toBe('io server disconnect');
      expect(Date.now() - lastSent).toBeGreaterThanOrEqual(IDLE_MS);
    } finally {
      closeAll(listeners);
    }
  });

  it('keeps connections that send application frames, then closes them once they stop, on every transport', async () => {
    const listeners = await openListeners(sample, await userToken(sample, 'chatty'));
    const heartbeats = countHeartbeats(listeners);
    // Application frames of each protocol: the rooms and log stream `ping` frames, a chat `typing`,
    // an events `rt_sync`.
    const talk = (): void => {
      listeners.rooms.send({ type: 'ping', data: {} });
      listeners.streamOnAppPort.send({ type: 'ping', payload: {} });
      listeners.streamOnOwnPort.send({ type: 'ping', payload: {} });
      listeners.chat.emit('typing', false);
      listeners.events.emit('rt_sync', () => undefined);
    };
    const talking = setInterval(talk, IDLE_MS / 4);
    try {
      // 25 heartbeats each: four times the idle timeout.
      await waitUntil(() => heartbeats().every((count) => count >= 25), 15_000);
      expect(rawClients(listeners).every((client) => client.socket.readyState === client.socket.OPEN)).toBe(
        true,
      );
      expect(ioClients(listeners).every((socket) => socket.connected)).toBe(true);

      clearInterval(talking);
      const gone = ioClients(listeners).map((socket) => nextEvent<string>(socket, 'disconnect', 4000));
      await expectIdleClose(listeners);
      for (const reason of gone) expect(await reason).toBe('io server disconnect');
    } finally {
      clearInterval(talking);
      closeAll(listeners);
    }
  });
});

describe('Liveness: token expiry of listeners', () => {
  let sample: RunningSample;

  beforeAll(async () => {
    // The default heartbeat (30 s): an expiring token ends its connection at its expiry, not at a sweep.
    sample = await startSample({ overrides: { stream: STREAM } });
  });
  afterAll(async () => {
    await sample.close();
  });

  it('tells every listener AUTH_FAILED "Token expired" at its expiry and closes it, on every transport', async () => {
    // 1.5 to 2.5 s ahead (exp has whole seconds): never already expired when the clients connect.
    const exp = Math.ceil((Date.now() + 1500) / 1000);
    const listeners = await openListeners(sample, await userToken(sample, 'expiring', { exp }));
    const told = ioClients(listeners).map((socket) => nextEvent<unknown>(socket, 'error', 5000));
    const gone = ioClients(listeners).map((socket) => nextEvent<string>(socket, 'disconnect', 5000));
    try {
      expect((await listeners.rooms.next('error', 5000)).data).toEqual({
        code: 'AUTH_FAILED',
        message: 'Token expired',
        details: {},
      });
      expect(await listeners.rooms.closedWithin()).toEqual({ code: 4401, reason: 'Token expired' });
      for (const stream of [listeners.streamOnAppPort, listeners.streamOnOwnPort]) {
        expect((await stream.next('auth_error', 5000)).payload).toEqual({ message: 'Token expired' });
        expect(await stream.closedWithin()).toEqual({ code: 4401, reason: 'Token expired' });
      }
      for (const error of told) {
        expect(await error).toEqual({ code: 'AUTH_FAILED', message: 'Token expired', details: {} });
      }
      for (const reason of gone) expect(await reason).toBe('io server disconnect');
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    } finally {
      closeAll(listeners);
    }
  });
});
