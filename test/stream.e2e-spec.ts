// Seed 004 against the real sample app: the log and metrics stream at /ws/logs and on its own port,
// authentication, per-app isolation, HTTP ingestion, backlog, filters, metrics, Prometheus, and the
// seed's own WebSocketClient used as written.
import { Logger, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import { mkdtempSync, rmSync, statfsSync } from 'fs';
import { createServer } from 'net';
import { cpus, tmpdir, totalmem } from 'os';
import { join } from 'path';
import request from 'supertest';
import WebSocket from 'ws';
import {
  LogStreamService,
  RealtimeAdapter,
  RealtimeLogger,
  RealtimeModule,
  StreamPortListener,
  type LogEntry,
  type PerformanceMetrics,
} from 'nest-realtime';
import { createSampleApp } from '../apps/sample/src/create-app';
import { WebSocketClient } from './fixtures/seed-log-stream-client';
import { signToken, TestWs, waitUntil, type WsFrame } from './support/clients';
import { startSample, TEST_SECRET, testSampleConfig, type RunningSample } from './support/sample-app';

const STREAM = {
  port: 0,
  host: '127.0.0.1',
  metricsIntervalMs: 300,
  authTimeoutMs: 600,
  backlogSize: 5,
  bufferSize: 50,
  maxEntriesPerRequest: 10,
};

const LOG_ENTRY_KEYS = ['appId', 'id', 'level', 'message', 'metadata', 'timestamp', 'userId'];

describe('Log and metrics stream (seed 004)', () => {
  let sample: RunningSample;
  let streamPort: number;
  const clients: TestWs[] = [];
  let appSequence = 0;
  /** A fresh app id per test, so that backlogs never leak between tests. */
  const newApp = (name: string) => `${name}-${++appSequence}`;
  const tokenFor = (appId: string | null, sub: string, extra: Record<string, unknown> = {}) =>
    signToken({ sub, username: sub, ...(appId === null ? {} : { appId }), ...extra });

  async function open(path: string, port = sample.port): Promise<TestWs> {
    const client = await TestWs.open(`ws://127.0.0.1:${port}${path}`);
    clients.push(client);
    return client;
  }

  /** Connected, authenticated by query token, backlog received. */
  async function subscriber(appId: string, sub: string): Promise<TestWs> {
    const client = await open(`/ws/logs?token=${tokenFor(appId, sub)}`);
    await client.next('connect');
    expect((await client.next('auth_success')).payload).toEqual({ appId, userId: sub });
    await client.next('logs');
    return client;
  }

  const postLogs = (appId: string, token: string | null, body: unknown) => {
    const req = request(sample.url).post(`/apps/${appId}/logs`);
    if (token !== null) req.set('Authorization', `Bearer ${token}`);
    return req.send(body as object);
  };

  const entriesOf = (frame: WsFrame) => frame.payload as LogEntry[];
  const types = (client: TestWs) => client.frames.map((frame) => frame.type);

  beforeAll(async () => {
    sample = await startSample({ overrides: { stream: STREAM } });
    streamPort = sample.app.get(StreamPortListener).port ?? 0;
  });

  afterEach(() => {
    while (clients.length) clients.pop()?.close();
  });

  afterAll(async () => {
    await sample.close();
  });

  describe('connection and authentication', () => {
    it('sends connect { appId, userId } from the query, then auth_success and the backlog, in order', async () => {
      const appId = newApp('a');
      const client = await open(`/ws/logs?appId=${appId}&userId=alice&token=${tokenFor(appId, 'alice')}`);
      await waitUntil(() => client.frames.length >= 3);
      expect(client.frames.slice(0, 3)).toEqual([
        { type: 'connect', payload: { appId, userId: 'alice' } },
        { type: 'auth_success', payload: { appId, userId: 'alice' } },
        { type: 'logs', payload: [] },
      ]);
    });

    it('sends connect with appId and userId undefined when the query has none', async () => {
      const client = await open('/ws/logs');
      const connect = await client.next('connect');
      expect(connect.payload).toEqual({});
      expect((connect.payload as Record<string, unknown>).appId).toBeUndefined();
      expect((connect.payload as Record<string, unknown>).userId).toBeUndefined();
    });

    it('authenticates by a first { type: "auth", payload: { token } } frame', async () => {
      const appId = newApp('a');
      const client = await open('/ws/logs');
      await client.next('connect');
      client.send({ type: 'auth', payload: { token: tokenFor(appId, 'bob') } });
      expect((await client.next('auth_success')).payload).toEqual({ appId, userId: 'bob' });
      expect((await client.next('logs')).payload).toEqual([]);
    });

    it('reads the app of the token, never the one the query names', async () => {
      const mine = newApp('mine');
      const other = newApp('other');
      const client = await open(`/ws/logs?appId=${other}&token=${tokenFor(mine, 'eve')}`);
      expect((await client.next('connect')).payload).toEqual({ appId: other });
      expect((await client.next('auth_success')).payload).toEqual({ appId: mine, userId: 'eve' });
      await client.next('logs');
      sample.app.get(LogStreamService).publish(other, { level: 'info', message: 'not for eve' });
      sample.app.get(LogStreamService).publish(mine, { level: 'info', message: 'for eve' });
      expect(entriesOf(await client.next('logs')).map((e) => e.message)).toEqual(['for eve']);
      expect(types(client)).not.toContain('logs');
    });

    const badTokens: Array<[string, () => string | undefined, string]> = [
      [
        'a forged token',
        () => signToken({ sub: 'x', appId: 'a' }, {}, 'not-the-server-secret-0123456789'),
        'Token signature invalid',
      ],
      [
        'an expired token',
        () => signToken({ sub: 'x', appId: 'a', exp: Math.floor(Date.now() / 1000) - 5 }),
        'Token expired',
      ],
      ['a malformed token', () => 'not-a-jwt', 'Token invalid'],
      ['a token without an appId claim', () => tokenFor(null, 'x'), 'Token has no "appId" claim'],
    ];

    it.each(badTokens)(
      'answers %s in the query with auth_error, then closes (4401)',
      async (_n, token, message) => {
        const client = await open(`/ws/logs?token=${token()}`);
        await client.next('connect');
        expect((await client.next('auth_error')).payload).toEqual({ message });
        expect(await client.closedWithin()).toEqual({ code: 4401, reason: message });
        expect(types(client)).not.toContain('auth_success');
      },
    );

    it.each([
      ...badTokens,
      ['a missing token', () => undefined, 'Authentication token missing'] as [
        string,
        () => undefined,
        string,
      ],
    ])('answers %s in an auth frame with auth_error, then closes (4401)', async (_n, token, message) => {
      const client = await open('/ws/logs');
      await client.next('connect');
      client.send({ type: 'auth', payload: { token: token() } });
      expect((await client.next('auth_error')).payload).toEqual({ message });
      expect(await client.closedWithin()).toEqual({ code: 4401, reason: message });
    });

    it('closes a client that does not authenticate within stream.authTimeoutMs, sending it no metrics', async () => {
      const watcher = await subscriber(newApp('w'), 'walt');
      const started = Date.now();
      const silent = await open('/ws/logs');
      await silent.next('connect');
      // Metrics ticks happen while the silent client waits: it must get none of them.
      await watcher.next('metrics');
      expect((await silent.next('auth_error', 3000)).payload).toEqual({ message: 'Authentication timeout' });
      expect(await silent.closedWithin()).toEqual({ code: 4401, reason: 'Authentication timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(STREAM.authTimeoutMs - 50);
      expect(types(silent)).not.toContain('metrics');
    });

    it('refuses a subscribe before authentication with auth_error and closes', async () => {
      const client = await open('/ws/logs');
      await client.next('connect');
      client.send({ type: 'subscribe', payload: { levels: ['error'] } });
      expect((await client.next('auth_error')).payload).toEqual({ message: 'Not authenticated' });
      expect((await client.closedWithin()).code).toBe(4401);
    });

    it('answers ping with pong { timestamp }, before and after authentication', async () => {
      const appId = newApp('ping');
      const client = await open('/ws/logs');
      await client.next('connect');
      const before = Date.now();
      client.send({ type: 'ping', payload: {} });
      const pong = (await client.next('pong')).payload as { timestamp: number };
      expect(pong.timestamp).toBeGreaterThanOrEqual(before);
      expect(pong.timestamp).toBeLessThanOrEqual(Date.now());
      client.send({ type: 'auth', payload: { token: tokenFor(appId, 'pia') } });
      await client.next('auth_success');
      client.send({ type: 'ping', payload: {} });
      expect((await client.next('pong')).payload).toEqual({ timestamp: expect.any(Number) as number });
    });

    it('answers bad frames with an error frame and keeps the connection', async () => {
      const appId = newApp('a');
      const client = await subscriber(appId, 'carl');
      client.send('{ not json');
      expect((await client.next('error')).payload).toEqual({
        code: 'INVALID_FORMAT',
        message: 'Frame is not valid JSON',
        details: {},
      });
      client.send({ type: 'shout', payload: {} });
      expect((await client.next('error')).payload).toMatchObject({
        code: 'INVALID_FORMAT',
        message: 'Unknown message type "shout"',
      });
      // A second auth is a token refresh: one of another app is refused, the session kept.
      client.send({ type: 'auth', payload: { token: tokenFor(newApp('b'), 'carl') } });
      expect((await client.next('error')).payload).toEqual({
        code: 'AUTH_FAILED',
        message: 'Token is for another app',
        details: { reason: 'refresh_refused' },
      });
      client.send({ type: 'subscribe', payload: { levels: 'error' } });
      expect((await client.next('error')).payload).toMatchObject({
        code: 'INVALID_FORMAT',
        details: { field: 'levels' },
      });
      sample.app.get(LogStreamService).publish(appId, { level: 'info', message: 'still here' });
      expect(entriesOf(await client.next('logs'))[0]?.message).toBe('still here');
    });

    it('closes a connection when its token expires, with auth_error "Token expired"', async () => {
      const appId = newApp('a');
      const exp = Math.ceil((Date.now() + 1500) / 1000);
      const client = await open(`/ws/logs?token=${tokenFor(appId, 'tim', { exp })}`);
      await client.next('auth_success');
      expect((await client.next('auth_error', 4000)).payload).toEqual({ message: 'Token expired' });
      expect(await client.closedWithin()).toEqual({ code: 4401, reason: 'Token expired' });
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    });
  });

  describe('logs', () => {
    it('delivers a log posted over HTTP to the subscriber of its app, never to the subscriber of another', async () => {
      const appA = newApp('a');
      const appB = newApp('b');
      const alice = await subscriber(appA, 'alice');
      const bob = await subscriber(appB, 'bob');

      const posted = await postLogs(appA, tokenFor(appA, 'alice'), {
        level: 'info',
        message: 'order 42 paid',
        metadata: { orderId: 42 },
      }).expect(202);
      expect(posted.body).toEqual({ accepted: 1, ids: [expect.any(String)] });

      const frame = await alice.next('logs');
      expect(frame).toEqual({
        type: 'logs',
        payload: [
          {
            id: posted.body.ids[0],
            timestamp: expect.any(Number),
            level: 'info',
            message: 'order 42 paid',
            metadata: { orderId: 42 },
            appId: appA,
            userId: 'alice',
          },
        ],
      });
      const entry = entriesOf(frame)[0] as LogEntry;
      expect(Object.keys(entry).sort()).toEqual(LOG_ENTRY_KEYS);
      expect(Math.abs(entry.timestamp - Date.now())).toBeLessThan(5000);

      // Barrier: bob's next logs frame is his own app's; had he received alice's, it would come first.
      await postLogs(appB, tokenFor(appB, 'bob'), { level: 'warn', message: 'for bob' }).expect(202);
      expect(entriesOf(await bob.next('logs')).map((e) => [e.appId, e.message])).toEqual([[appB, 'for bob']]);
      expect(types(bob)).not.toContain('logs');
      expect(types(alice)).not.toContain('logs');
    });

    it('sends entries published within one tick as one logs array', async () => {
      const appId = newApp('a');
      const client = await subscriber(appId, 'ann');
      const logs = sample.app.get(LogStreamService);
      logs.publish(appId, [
        { level: 'info', message: 'one' },
        { level: 'warn', message: 'two' },
      ]);
      logs.publish(appId, { level: 'error', message: 'three' });
      const frame = await client.next('logs');
      expect(entriesOf(frame).map((e) => e.message)).toEqual(['one', 'two', 'three']);

      const posted = await postLogs(appId, tokenFor(appId, 'ann'), [
        { level: 'info', message: 'a' },
        { level: 'info', message: 'b' },
        { level: 'debug', message: 'c' },
      ]).expect(202);
      const httpFrame = entriesOf(await client.next('logs'));
      expect(httpFrame.map((e) => e.message)).toEqual(['a', 'b', 'c']);
      expect(httpFrame.map((e) => e.id)).toEqual(posted.body.ids);
      expect(types(client)).not.toContain('logs');
    });

    it('gives ids that are unique and sort in publication order', async () => {
      const appId = newApp('a');
      const client = await subscriber(appId, 'ida');
      const logs = sample.app.get(LogStreamService);
      const published: LogEntry[] = [];
      for (let round = 0; round < 3; round++) {
        published.push(
          ...logs.publish(
            appId,
            Array.from({ length: 4 }, (_, i) => ({ level: 'info', message: `m${round}-${i}` })),
          ),
        );
      }
      const received = entriesOf(await client.next('logs'));
      const ids = received.map((e) => e.id);
      expect(ids).toEqual(published.map((e) => e.id));
      expect(new Set(ids).size).toBe(12);
      expect([...ids].sort()).toEqual(ids);
      expect(received.every((e) => e.userId === 'system' && e.appId === appId)).toBe(true);
    });

    it('sends the recent backlog (stream.backlogSize) on auth_success, and nothing of other apps', async () => {
      const appId = newApp('a');
      const first = await subscriber(appId, 'bea');
      sample.app.get(LogStreamService).publish(
        appId,
        Array.from({ length: 7 }, (_, i) => ({ level: 'info', message: `entry ${i}` })),
      );
      expect(entriesOf(await first.next('logs'))).toHaveLength(7);

      const late = await open(`/ws/logs?token=${tokenFor(appId, 'cid')}`);
      await late.next('auth_success');
      const backlog = entriesOf(await late.next('logs'));
      expect(backlog.map((e) => e.message)).toEqual(['entry 2', 'entry 3', 'entry 4', 'entry 5', 'entry 6']);

      const stranger = await open(`/ws/logs?token=${tokenFor(newApp('z'), 'zed')}`);
      await stranger.next('auth_success');
      expect((await stranger.next('logs')).payload).toEqual([]);
    });

    it('applies a client filter (levels, text) sent as subscribe; others still get everything', async () => {
      const appId = newApp('a');
      const filtered = await subscriber(appId, 'fay');
      const everything = await subscriber(appId, 'gil');
      const logs = sample.app.get(LogStreamService);

      filtered.send({ type: 'subscribe', payload: { levels: ['ERROR', 'fatal'] } });
      expect((await filtered.next('subscribed')).payload).toEqual({ levels: ['error', 'fatal'] });
      logs.publish(appId, [
        { level: 'info', message: 'disk ok' },
        { level: 'error', message: 'disk full' },
        { level: 'warn', message: 'cpu hot' },
      ]);
      expect(entriesOf(await filtered.next('logs')).map((e) => e.message)).toEqual(['disk full']);
      expect(entriesOf(await everything.next('logs'))).toHaveLength(3);

      filtered.send({ type: 'subscribe', payload: { text: 'DISK' } });
      expect((await filtered.next('subscribed')).payload).toEqual({ text: 'disk' });
      logs.publish(appId, { level: 'info', message: 'cpu ok' });
      logs.publish(appId, { level: 'info', message: 'Disk checked' });
      expect(entriesOf(await filtered.next('logs')).map((e) => e.message)).toEqual(['Disk checked']);

      filtered.send({ type: 'subscribe', payload: {} });
      expect((await filtered.next('subscribed')).payload).toEqual({});
      logs.publish(appId, { level: 'debug', message: 'anything' });
      expect(entriesOf(await filtered.next('logs')).map((e) => e.message)).toEqual(['anything']);
    });

    it('streams the host own logs installed as its LoggerService (RealtimeLogger)', async () => {
      const appId = newApp('host');
      const client = await subscriber(appId, 'ops');
      const logger = new RealtimeLogger(sample.app.get(LogStreamService), { appId, delegate: false });
      sample.app.useLogger(logger);
      try {
        new Logger('Billing').warn('invoice late');
        new Logger('Billing').error('charge failed', 'Error: charge failed\n    at pay()');
      } finally {
        sample.app.useLogger(false);
      }
      expect(entriesOf(await client.next('logs'))).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: 'invoice late',
          metadata: { context: 'Billing' },
          appId,
          userId: 'system',
        }),
        expect.objectContaining({
          level: 'error',
          message: 'charge failed',
          metadata: { context: 'Billing', stack: 'Error: charge failed\n    at pay()' },
        }),
      ]);
    });
  });

  describe('HTTP ingestion: POST /apps/:appId/logs', () => {
    it('accepts one entry, keeps a given timestamp, and takes the user id from the token', async () => {
      const appId = newApp('a');
      const client = await subscriber(appId, 'kim');
      await postLogs(appId, tokenFor(appId, 'kim'), {
        level: 'error',
        message: 'boom',
        timestamp: 1_700_000_000_000,
      }).expect(202);
      const [entry] = entriesOf(await client.next('logs'));
      expect(entry).toMatchObject({ timestamp: 1_700_000_000_000, userId: 'kim', appId });
      expect(entry).not.toHaveProperty('metadata');
    });

    it('answers 401 without a valid token', async () => {
      const response = await postLogs('any', null, { level: 'info', message: 'x' }).expect(401);
      expect(response.body).toMatchObject({ statusCode: 401, code: 'AUTH_FAILED' });
      await postLogs('any', 'garbage', { level: 'info', message: 'x' }).expect(401);
    });

    it('answers 403 to a token of another app or without an appId', async () => {
      const appId = newApp('a');
      const other = await postLogs(appId, tokenFor(newApp('b'), 'x'), { level: 'info', message: 'x' }).expect(
        403,
      );
      expect(other.body).toMatchObject({ statusCode: 403, code: 'PERMISSION_DENIED' });
      await postLogs(appId, tokenFor(null, 'x'), { level: 'info', message: 'x' }).expect(403);
    });

    it('answers 400 with every field error, and publishes nothing of a refused request', async () => {
      const appId = newApp('a');
      const token = tokenFor(appId, 'lea');
      const client = await subscriber(appId, 'lea');
      const response = await postLogs(appId, token, [
        { level: 'info', message: 'fine' },
        { level: 5 },
        { level: 'warn', message: 'x', userId: 'mallory' },
        'text',
      ]).expect(400);
      expect(response.body).toMatchObject({ statusCode: 400, code: 'INVALID_FORMAT' });
      const fields = (response.body.fields as Array<{ field: string }>).map((f) => f.field);
      expect(fields).toEqual(['[1].level', '[1].message', '[2].userId', '[3]']);
      expect(response.body.message).toMatch(/^Invalid field "\[1\]\.level"/);

      await postLogs(appId, token, []).expect(400);
      await postLogs(appId, token, { level: 'not a level!', message: 'x' })
        .expect(400)
        .expect((res) => expect(res.body.fields[0].field).toBe('level'));

      await postLogs(appId, token, { level: 'info', message: 'after the refusals' }).expect(202);
      expect(entriesOf(await client.next('logs')).map((e) => e.message)).toEqual(['after the refusals']);
    });

    it('answers 413 past stream.maxEntriesPerRequest entries', async () => {
      const appId = newApp('a');
      const entries = Array.from({ length: STREAM.maxEntriesPerRequest + 1 }, () => ({
        level: 'info',
        message: 'x',
      }));
      const response = await postLogs(appId, tokenFor(appId, 'max'), entries).expect(413);
      expect(response.body).toMatchObject({ statusCode: 413, max: 10, received: 11 });
      await postLogs(appId, tokenFor(appId, 'max'), entries.slice(1)).expect(202);
    });

    it("answers 413 past the host's JSON body limit (100 kB by default)", async () => {
      const appId = newApp('a');
      const response = await postLogs(appId, tokenFor(appId, 'big'), {
        level: 'info',
        message: 'x'.repeat(150 * 1024),
      }).expect(413);
      expect(response.body).toEqual({ statusCode: 413, message: 'request entity too large' });
      // Just under the bound is accepted: 9 entries of 10 000 characters.
      const nearly = Array.from({ length: 9 }, () => ({ level: 'info', message: 'x'.repeat(10_000) }));
      expect(Buffer.byteLength(JSON.stringify(nearly))).toBeGreaterThan(90_000);
      await postLogs(appId, tokenFor(appId, 'big'), nearly).expect(202);
    });
  });

  describe('metrics', () => {
    it('sends metrics at the configured interval with real values', async () => {
      const client = await subscriber(newApp('m'), 'mia');
      const first = (await client.next('metrics')).payload as PerformanceMetrics;
      const second = (await client.next('metrics')).payload as PerformanceMetrics;
      const gap = second.timestamp - first.timestamp;
      expect(gap).toBeGreaterThanOrEqual(STREAM.metricsIntervalMs - 50);
      expect(gap).toBeLessThan(STREAM.metricsIntervalMs * 4);

      expect(Object.keys(second).sort()).toEqual([
        'activeConnections',
        'cpu',
        'disk',
        'errorRate',
        'memory',
        'messageRate',
        'network',
        'timestamp',
      ]);
      expect(Object.keys(second.cpu).sort()).toEqual(['cores', 'usage']);
      expect(Object.keys(second.memory).sort()).toEqual(['free', 'total', 'used']);
      expect(Object.keys(second.disk).sort()).toEqual(['free', 'total', 'used']);
      expect(Object.keys(second.network).sort()).toEqual(['bytesReceived', 'bytesSent', 'connections']);

      expect(second.cpu.cores).toBe(cpus().length);
      expect(second.cpu.usage).toBeGreaterThanOrEqual(0);
      expect(second.cpu.usage).toBeLessThanOrEqual(100);
      expect(second.memory.total).toBe(totalmem());
      expect(second.memory.used + second.memory.free).toBe(second.memory.total);
      expect(second.memory.free).toBeGreaterThan(0);
      const fs = statfsSync(sample.config.dataDir);
      expect(second.disk.total).toBe(fs.blocks * fs.bsize);
      expect(second.disk.used).toBeGreaterThan(0);
      expect(second.disk.free).toBeLessThanOrEqual(second.disk.total - second.disk.used);
      expect(second.activeConnections).toBeGreaterThanOrEqual(1);
      expect(second.network.connections).toBeGreaterThanOrEqual(second.activeConnections);
      expect(second.network.bytesSent).toBeGreaterThan(0);
      expect(Math.abs(second.timestamp - Date.now())).toBeLessThan(5000);
    });

    it('reports message and error rates and bytes that match the traffic sent during the test', async () => {
      const client = await subscriber(newApp('m'), 'rae');
      const start = (await client.next('metrics')).payload as PerformanceMetrics;
      const frames = Array.from({ length: 12 }, (_, i) => `not json ${i}`);
      for (const frame of frames) client.send(frame);
      for (let i = 0; i < frames.length; i++) await client.next('error');
      const repliesReceivedAt = Date.now();

      let messages = 0;
      let errors = 0;
      let previous = start;
      // Rates are per second over each interval: summed over the intervals, they give the counts.
      while (previous.timestamp <= repliesReceivedAt) {
        const next = (await client.next('metrics')).payload as PerformanceMetrics;
        const seconds = (next.timestamp - previous.timestamp) / 1000;
        messages += next.messageRate * seconds;
        errors += next.errorRate * seconds;
        previous = next;
      }
      expect(Math.round(messages)).toBe(frames.length);
      expect(Math.round(errors)).toBe(frames.length);
      expect(previous.network.bytesReceived - start.network.bytesReceived).toBe(
        frames.reduce((sum, frame) => sum + Buffer.byteLength(frame), 0),
      );
      expect(previous.network.bytesSent).toBeGreaterThan(start.network.bytesSent);
    });

    it('exposes the counters for Prometheus at GET /metrics', async () => {
      const appId = newApp('prom');
      await subscriber(appId, 'pat');
      await postLogs(appId, tokenFor(appId, 'pat'), [
        { level: 'info', message: '1' },
        { level: 'info', message: '2' },
      ]).expect(202);
      const response = await request(sample.url).get('/metrics').expect(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
      expect(response.text).toContain(`realtime_log_entries_ingested_total{app_id="${appId}"} 2`);
      expect(response.text).toMatch(/^realtime_active_connections [1-9]\d*$/m);
      expect(response.text).toMatch(/^realtime_messages_received_total \d+$/m);
      expect(response.text).toMatch(/^realtime_bytes_sent_total [1-9]\d*$/m);
      expect(response.text).toMatch(/^realtime_errors_sent_total \d+$/m);
      expect(response.text).toMatch(/^realtime_memory_total_bytes \d+/m);
    });
  });

  describe('own port (stream.port)', () => {
    it('serves the stream at / on its own port', async () => {
      expect(streamPort).toBeGreaterThan(0);
      expect(streamPort).not.toBe(sample.port);
      const appId = newApp('p');
      const client = await open(`/?token=${tokenFor(appId, 'pia')}`, streamPort);
      expect((await client.next('connect')).payload).toEqual({});
      expect((await client.next('auth_success')).payload).toEqual({ appId, userId: 'pia' });
    });

    it('answers 404 to plain HTTP and to upgrades at other paths', async () => {
      await request(`http://127.0.0.1:${streamPort}`).get('/').expect(404);
      await expect(TestWs.open(`ws://127.0.0.1:${streamPort}/ws/logs`)).rejects.toThrow(/404/);
    });

    it('lets the seed WebSocketClient, used as written, receive connect, auth_success, logs and metrics', async () => {
      const appId = newApp('seed');
      const global = globalThis as { WebSocket?: unknown };
      const previous = global.WebSocket;
      global.WebSocket = WebSocket;
      const seen: Record<string, unknown[]> = {
        connect: [],
        auth_success: [],
        auth_error: [],
        logs: [],
        metrics: [],
      };
      let client: WebSocketClient;
      try {
        client = new WebSocketClient(
          `ws://127.0.0.1:${streamPort}?appId=${appId}&token=${tokenFor(appId, 'sam')}`,
        );
      } finally {
        global.WebSocket = previous;
      }
      client.onConnect((data) => seen.connect?.push(data));
      client.onAuthSuccess((data) => seen.auth_success?.push(data));
      client.onAuthError((data) => seen.auth_error?.push(data));
      client.onLogs((logs) => seen.logs?.push(logs));
      client.onMetrics((metrics) => seen.metrics?.push(metrics));
      const socket = (client as unknown as { ws: WebSocket }).ws;
      try {
        await waitUntil(() => seen.auth_success?.length === 1);
        sample.app.get(LogStreamService).publish(appId, { level: 'info', message: 'hello seed client' });
        await waitUntil(() => (seen.logs?.length ?? 0) >= 2 && (seen.metrics?.length ?? 0) >= 1);
        expect(seen.connect).toEqual([{ appId }]);
        expect(seen.auth_success).toEqual([{ appId, userId: 'sam' }]);
        expect(seen.auth_error).toEqual([]);
        expect(seen.logs?.[0]).toEqual([]);
        expect(seen.logs?.[1]).toEqual([expect.objectContaining({ message: 'hello seed client', appId })]);
        expect(seen.metrics?.[0]).toMatchObject({
          cpu: { cores: cpus().length },
          memory: { total: totalmem() },
        });
      } finally {
        socket.close();
      }
    });

    it('fails the boot with a clear message when stream.port is in use', async () => {
      const config = testSampleConfig({ streamPort });
      const dataDir = config.dataDir;
      const app: INestApplication = await createSampleApp(config, { stream: { host: '127.0.0.1' } }, false);
      try {
        await expect(app.listen(0, '127.0.0.1')).rejects.toThrow(
          `RealtimeModule: cannot serve the log stream on stream.port 127.0.0.1:${streamPort}: the port is already in use`,
        );
      } finally {
        await app.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('closes its clients and frees the port on shutdown', async () => {
      const other = await startSample({ overrides: { stream: { port: 0, host: '127.0.0.1' } } });
      const port = other.app.get(StreamPortListener).port ?? 0;
      const appId = newApp('s');
      const client = await TestWs.open(`ws://127.0.0.1:${port}/?token=${tokenFor(appId, 'sid')}`);
      await client.next('auth_success');
      await other.close();
      expect((await client.closedWithin()).code).toBe(1001);
      await new Promise<void>((resolve, reject) => {
        const probe = createServer();
        probe.once('error', reject);
        probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
      });
    });
  });
});

describe('Log and metrics stream switched off (gateways.logs: false)', () => {
  it('mounts no stream endpoint, controller, service or interval', async () => {
    @Module({
      imports: [
        RealtimeModule.forRoot({
          auth: { secret: TEST_SECRET },
          database: { type: 'sqlite', path: ':memory:' },
          stream: { port: 0 },
          gateways: { logs: false },
        }),
      ],
    })
    class NoStreamModule {}
    const moduleRef = await Test.createTestingModule({ imports: [NoStreamModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new RealtimeAdapter(app));
    await app.listen(0, '127.0.0.1');
    try {
      const port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
      await request(`http://127.0.0.1:${port}`).get('/metrics').expect(404);
      await request(`http://127.0.0.1:${port}`).post('/apps/a/logs').send({}).expect(404);
      await expect(TestWs.open(`ws://127.0.0.1:${port}/ws/logs`)).rejects.toThrow(/404/);
      expect(() => app.get(LogStreamService)).toThrow();
      expect(() => app.get(StreamPortListener)).toThrow();
    } finally {
      await app.close();
    }
  });
});

describe('Log backlog kept across a restart (stream.persist)', () => {
  it('gives a client of the restarted app the newest bufferSize entries, same ids, no other app', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rt-e2e-logs-'));
    const stream = { persist: true, bufferSize: 4, backlogSize: 4 };
    const token = signToken({ sub: 'producer', username: 'producer', appId: 'kept' });
    try {
      const first = await startSample({ config: { dataDir }, overrides: { stream } });
      let posted: string[];
      try {
        const response = await request(first.url)
          .post('/apps/kept/logs')
          .set('Authorization', `Bearer ${token}`)
          .send(Array.from({ length: 6 }, (_, i) => ({ level: 'info', message: `before restart ${i}` })))
          .expect(202);
        posted = (response.body as { ids: string[] }).ids;
        first.app.get(LogStreamService).publish('other', { level: 'warn', message: 'not for kept' });
      } finally {
        await first.close();
      }

      const second = await startSample({ config: { dataDir }, overrides: { stream } });
      try {
        const client = await TestWs.open(`ws://127.0.0.1:${second.port}/ws/logs?token=${token}`);
        try {
          await client.next('auth_success');
          const backlog = (await client.next('logs')).payload as LogEntry[];
          expect(backlog.map((e) => e.id)).toEqual(posted.slice(2));
          expect(backlog.map((e) => e.message)).toEqual([2, 3, 4, 5].map((i) => `before restart ${i}`));
          expect(backlog.every((e) => e.appId === 'kept' && e.userId === 'producer')).toBe(true);
        } finally {
          client.close();
        }
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Unauthenticated stream connections hold a slot (limits.maxConnections)', () => {
  it('refuses connections past the limit while others wait to authenticate, and frees the slot after', async () => {
    const sample = await startSample({
      overrides: { limits: { maxConnections: 2 }, stream: { authTimeoutMs: 5_000 } },
    });
    const opened: TestWs[] = [];
    const open = async (path: string) => {
      const client = await TestWs.open(`ws://127.0.0.1:${sample.port}${path}`);
      opened.push(client);
      return client;
    };
    const token = signToken({ sub: 'ops', username: 'ops', appId: 'limits' });
    try {
      const waiting = await open('/ws/logs');
      await waiting.next('connect');
      const authenticating = await open('/ws/logs');
      await authenticating.next('connect');
      authenticating.send({ type: 'auth', payload: { token } });
      await authenticating.next('auth_success');

      // One authenticated, one waiting: the limit of 2 is reached, on every endpoint.
      const refused = await open(`/ws/chat?token=${signToken({ sub: 'late', username: 'late' })}`);
      expect((await refused.next('error')).data).toMatchObject({ code: 'CONNECTION_LIMIT' });
      expect((await refused.closedWithin()).code).toBe(4429);
      const refusedStream = await open('/ws/logs');
      await refusedStream.next('error');
      expect((await refusedStream.closedWithin()).code).toBe(4429);

      waiting.close();
      await waiting.closedWithin();
      await waitUntil(async () => {
        const probe = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/logs?token=${token}`);
        opened.push(probe);
        const first = await Promise.race([probe.next('auth_success'), probe.closedWithin()]);
        return 'type' in first;
      });
    } finally {
      opened.forEach((client) => client.close());
      await sample.close();
    }
  });
});
