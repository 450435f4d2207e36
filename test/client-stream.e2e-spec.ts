// LogStreamClient (seed 004) and ConnectionPool against the real sample app: authentication, logs of
// the client's app, the subscribe filter kept across a reconnection, and the pool's maximum.
import request from 'supertest';
import {
  ConnectionPool,
  ConnectionState,
  LogStreamClient,
  RoomsClient,
  type LogEntry,
  type PerformanceMetrics,
} from 'nest-realtime-client';
import { CLIENT_TEST_LIMITS, eventually, reachState, RestartableSample } from './support/client-sample';

const FAST_RETRY = { reconnectDelay: 50, maxReconnectDelay: 200, maxReconnectAttempts: 200 };

describe('LogStreamClient and ConnectionPool against the sample app', () => {
  const sample = new RestartableSample({ ...CLIENT_TEST_LIMITS, stream: { metricsIntervalMs: 200 } });
  const clients: Array<{ close(): void }> = [];
  const track = <T extends { close(): void }>(client: T): T => {
    clients.push(client);
    return client;
  };
  const postLogs = (appId: string, token: string, body: object) =>
    request(sample.url)
      .post(`/apps/${appId}/logs`)
      .set('Authorization', `Bearer ${token}`)
      .send(body)
      .expect(202);

  beforeAll(() => sample.start());
  afterEach(() => {
    while (clients.length) clients.pop()?.close();
  });
  afterAll(() => sample.dispose());

  describe('LogStreamClient', () => {
    it('authenticates, receives its app’s logs and metrics, and filters with subscribe', async () => {
      const ann = await sample.login('ann', { appId: 'app-sdk' });
      const stream = track(new LogStreamClient({ url: sample.url, token: ann.token }));
      const logs: LogEntry[] = [];
      stream.on('logs', (entries) => logs.push(...entries));
      const metrics: PerformanceMetrics[] = [];
      stream.on('metrics', (sample) => metrics.push(sample));

      await stream.connect();
      expect(stream.identity).toEqual({ appId: 'app-sdk', userId: ann.user.id });
      await postLogs('app-sdk', ann.token, { level: 'info', message: 'first' });
      await eventually(() => logs.length === 1, 5000, 'the log entry');
      expect(logs[0]).toMatchObject({ appId: 'app-sdk', level: 'info', message: 'first' });
      await eventually(() => metrics.length > 0, 5000, 'a metrics frame');
      expect(metrics[0]?.cpu.cores).toBeGreaterThan(0);

      expect(await stream.subscribe({ levels: ['warn'] })).toEqual({ levels: ['warn'] });
      await postLogs('app-sdk', ann.token, [
        { level: 'info', message: 'filtered out' },
        { level: 'warn', message: 'kept' },
      ]);
      await eventually(() => logs.length === 2, 5000, 'the warn entry');
      expect(logs.map((entry) => entry.message)).toEqual(['first', 'kept']);
    });

    it('AUTH_FAILED (auth_error) goes to ERROR without a token provider', async () => {
      const stream = track(new LogStreamClient({ url: sample.url, token: 'forged' }));
      await expect(stream.connect()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      expect(stream.state).toBe(ConnectionState.ERROR);
    });

    it('after a server restart sends its filter again: only matching entries arrive, each once', async () => {
      const ann = await sample.login('ann', { appId: 'app-resync' });
      const stream = track(
        new LogStreamClient({ url: sample.url, token: ann.token, reconnection: FAST_RETRY }),
      );
      const logs: LogEntry[] = [];
      stream.on('logs', (entries) => logs.push(...entries));
      await stream.connect();
      await stream.subscribe({ levels: ['error'] });
      await postLogs('app-resync', ann.token, { level: 'error', message: 'before' });
      await eventually(() => logs.length === 1, 5000, 'the first entry');

      // The server restarts; the backlog it may send again after authentication is not delivered twice.
      await sample.stop();
      await reachState(stream, ConnectionState.RECONNECTING);
      await sample.start();
      await reachState(stream, ConnectionState.ACTIVE);
      await postLogs('app-resync', ann.token, [
        { level: 'info', message: 'not for me' },
        { level: 'error', message: 'after' },
      ]);
      await eventually(
        () => logs.some((entry) => entry.message === 'after'),
        5000,
        'the entry after reconnection',
      );
      expect(logs.map((entry) => entry.message)).toEqual(['before', 'after']);
      expect(new Set(logs.map((entry) => entry.id)).size).toBe(logs.length);
    }, 60_000);
  });

  describe('ConnectionPool', () => {
    it('refuses past its maximum with "Maximum connections reached" and frees a slot on release', async () => {
      const alice = await sample.login('alice');
      const pool = new ConnectionPool(
        () => track(new RoomsClient({ url: sample.url, token: alice.token })),
        2,
      );
      const first = await pool.acquire();
      await pool.acquire();
      await expect(pool.acquire()).rejects.toMatchObject({
        code: 'POOL_EXHAUSTED',
        message: 'Maximum connections reached',
      });
      expect(pool.size).toBe(2);
      pool.release(first);
      expect(first.state).toBe(ConnectionState.CLOSED);
      const third = await pool.acquire();
      expect(third.state).toBe(ConnectionState.ACTIVE);
      pool.closeAll();
      expect(pool.size).toBe(0);
      expect(third.state).toBe(ConnectionState.CLOSED);
    });

    it('frees the slot of a client that fails to connect', async () => {
      const pool = new ConnectionPool(() => track(new RoomsClient({ url: sample.url, token: 'forged' })), 1);
      await expect(pool.acquire()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      expect(pool.size).toBe(0);
    });
  });
});
