// RealtimeAdapter: raw ws and Socket.IO gateways side by side on one port, authenticated at the
// handshake, with frames parsed, validated and answered in order, and limits enforced.
import { Module, UseFilters, UsePipes, type INestApplication } from '@nestjs/common';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway, type WsResponse } from '@nestjs/websockets';
import { interval, map, take, type Observable } from 'rxjs';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import {
  ConnectedUser,
  ConnectionLifecycle,
  ConnectionRegistry,
  RealtimeAdapter,
  TransportCounters,
  RealtimeError,
  RealtimeGateway,
  RealtimeModule,
  RealtimeWsExceptionFilter,
  createRealtimeValidationPipe,
  dataEnvelopeCodec,
  type RawWsServer,
  type RealtimeSocketData,
  type RealtimeIdentity,
  type RealtimeModuleOptions,
} from 'nest-realtime';
import { io } from 'socket.io-client';
// Internal: the spec reads the server-side socket's handshake.
import { SocketIoServerRef } from 'nest-realtime/core/transport/socket-io-server.ref';
import { connectIo, ioRefusal, signToken, TestWs, waitUntil } from './support/clients';
import { TEST_SECRET } from './support/sample-app';

class EchoDto {
  @IsString()
  @MaxLength(100)
  text: string;
}

class SlowDto {
  @IsInt()
  n: number;

  @IsInt()
  @Min(0)
  @Max(1000)
  delayMs: number;
}

@RealtimeGateway({ transport: 'ws', path: '/ws/echo', codec: dataEnvelopeCodec, batchType: 'batch' })
@UseFilters(RealtimeWsExceptionFilter)
@UsePipes(createRealtimeValidationPipe())
class EchoGateway {
  /** The same echo, and errors, routed directly (past Nest's handler pipeline). */
  afterInit(server: RawWsServer): void {
    server.routeDirect('fastEcho', EchoDto, (connection, body) => {
      const user = connection.identity!;
      return { event: 'echo', data: { text: body.text, userId: user.userId, username: user.username } };
    });
    server.routeDirect('fastSlow', SlowDto, async (_connection, body) => {
      await new Promise((resolve) => setTimeout(resolve, body.delayMs));
      return { event: 'slow', data: { n: body.n } };
    });
    server.routeDirect('fastDeny', EchoDto, () => {
      throw new RealtimeError('PERMISSION_DENIED', 'Not a member of this room', { room: 'secret' });
    });
    server.routeDirect('fastExpire', EchoDto, () =>
      Promise.reject(RealtimeError.authFailed('Session revoked')),
    );
    server.routeDirect('fastCrash', EchoDto, () => {
      throw new Error('database password is hunter2');
    });
    // Shadows the @SubscribeMessage handler below.
    server.routeDirect('shadowed', EchoDto, () => ({ event: 'shadowed', data: { by: 'route' } }));
  }

  @SubscribeMessage('shadowed')
  shadowed() {
    return { event: 'shadowed', data: { by: 'handler' } };
  }

  @SubscribeMessage('echo')
  echo(@ConnectedUser() user: RealtimeIdentity, @MessageBody() body: EchoDto) {
    return { event: 'echo', data: { text: body.text, userId: user.userId, username: user.username } };
  }

  @SubscribeMessage('slow')
  async slow(@MessageBody() body: SlowDto) {
    await new Promise((resolve) => setTimeout(resolve, body.delayMs));
    return { event: 'slow', data: { n: body.n } };
  }

  /** An observable: every value is a frame, sent as it comes. */
  @SubscribeMessage('count')
  count(@MessageBody() body: SlowDto): Observable<WsResponse<{ i: number }>> {
    return interval(body.delayMs).pipe(
      take(body.n),
      map((i) => ({ event: 'count', data: { i } })),
    );
  }

  @SubscribeMessage('deny')
  deny(): never {
    throw new RealtimeError('PERMISSION_DENIED', 'Not a member of this room', { room: 'secret' });
  }

  @SubscribeMessage('crash')
  crash(): never {
    throw new Error('database password is hunter2');
  }
}

async function startApp(
  limits: RealtimeModuleOptions['limits'] = {},
): Promise<{ app: INestApplication; port: number }> {
  @Module({
    imports: [
      RealtimeModule.forRoot({
        auth: { secret: TEST_SECRET },
        database: { type: 'sqlite', path: ':memory:' },
        limits,
      }),
    ],
    providers: [EchoGateway],
  })
  class TransportTestModule {}

  const moduleRef = await Test.createTestingModule({ imports: [TransportTestModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(new RealtimeAdapter(app));
  await app.listen(0, '127.0.0.1');
  return { app, port: ((app.getHttpServer() as Server).address() as AddressInfo).port };
}

const token = (sub: string, extra: Record<string, unknown> = {}) =>
  signToken({ sub, username: `user-${sub}`, ...extra });

describe('RealtimeAdapter: raw ws and Socket.IO on one port', () => {
  let app: INestApplication;
  let port: number;
  const clients: TestWs[] = [];
  const ws = async (query: string, options = {}) => {
    const client = await TestWs.open(`ws://127.0.0.1:${port}/ws/echo${query}`, options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    ({ app, port } = await startApp({ maxPayloadBytes: 1024, maxConnectionsPerUser: 2 }));
  });
  afterEach(() => {
    while (clients.length) clients.pop()?.close();
  });
  afterAll(async () => {
    await app.close();
  });

  it('authenticates by query token and hands the identity to the handler', async () => {
    const client = await ws(`?token=${token('5')}`);
    client.send({ type: 'echo', data: { text: 'hello' } });
    const frame = await client.next('echo');
    expect(frame.data).toEqual({ text: 'hello', userId: '5', username: 'user-5' });
    expect(new Date(frame.timestamp ?? '').toISOString()).toBe(frame.timestamp);
  });

  it("hands an open connection's events to its endpoint without a listener on its socket", async () => {
    const client = await ws(`?token=${token('19')}`);
    client.send({ type: 'echo', data: { text: 'no listeners' } });
    await client.next('echo');
    const endpoint = app.get(ConnectionLifecycle, { strict: false }).endpoint('/ws/echo');
    const [connection] = [...(endpoint?.connections ?? [])];
    expect(connection?.socket.eventNames()).toEqual([]);
    // Its close still gives its slot back.
    client.close();
    await waitUntil(() => endpoint?.connections.size === 0);
    expect(app.get(ConnectionRegistry).size).toBe(0);
  });

  it('authenticates by Authorization: Bearer header', async () => {
    const client = await ws('', { headers: { Authorization: `Bearer ${token('6')}` } });
    client.send({ type: 'echo', data: { text: 'via header' } });
    expect((await client.next('echo')).data).toMatchObject({ userId: '6' });
  });

  it.each([
    ['no token', '', 'Authentication token missing'],
    [
      'a forged token',
      `?token=${signToken({ sub: '1' }, {}, 'not-the-server-secret-0123456789')}`,
      'Token signature invalid',
    ],
    [
      'an expired token',
      `?token=${signToken({ sub: '1', exp: Math.floor(Date.now() / 1000) - 5 })}`,
      'Token expired',
    ],
  ])('refuses %s: AUTH_FAILED error frame, then close 4401', async (_name, query, message) => {
    const client = await ws(query);
    const error = await client.next('error');
    expect(error.data).toEqual({ code: 'AUTH_FAILED', message, details: {} });
    expect(await client.closedWithin()).toEqual({ code: 4401, reason: message });
  });

  it('answers malformed frames with INVALID_FORMAT and keeps the connection usable', async () => {
    const client = await ws(`?token=${token('7')}`);
    client.send('this is not json');
    expect((await client.next('error')).data).toEqual({
      code: 'INVALID_FORMAT',
      message: 'Frame is not valid JSON',
      details: {},
    });
    client.send('[1,2,3]');
    expect((await client.next('error')).data).toMatchObject({
      code: 'INVALID_FORMAT',
      message: 'Frame must be a JSON object',
    });
    client.send({ data: {} });
    expect((await client.next('error')).data).toMatchObject({
      code: 'INVALID_FORMAT',
      details: { field: 'type' },
    });
    client.send({ type: 'teleport', data: {} });
    expect((await client.next('error')).data).toMatchObject({
      code: 'INVALID_FORMAT',
      details: { type: 'teleport' },
    });
    client.send({ type: 'echo', data: { text: 42 } });
    expect((await client.next('error')).data).toMatchObject({
      code: 'INVALID_FORMAT',
      details: { field: 'text' },
    });
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.next('error')).data).toMatchObject({
      code: 'INVALID_FORMAT',
      message: 'Binary frames are not supported',
    });

    client.send({ type: 'echo', data: { text: 'still here' } });
    expect((await client.next('echo')).data).toMatchObject({ text: 'still here' });
  });

  it('turns a RealtimeError into its code and an unknown error into INTERNAL_ERROR without details', async () => {
    const client = await ws(`?token=${token('8')}`);
    client.send({ type: 'deny', data: {} });
    expect((await client.next('error')).data).toEqual({
      code: 'PERMISSION_DENIED',
      message: 'Not a member of this room',
      details: { room: 'secret' },
    });
    client.send({ type: 'crash', data: {} });
    const crash = await client.next('error');
    expect(crash.data).toEqual({ code: 'INTERNAL_ERROR', message: 'Internal server error', details: {} });
    expect(JSON.stringify(crash)).not.toContain('hunter2');
  });

  describe('direct routes', () => {
    it('answer as the handler would, and refuse bad data with the very error frame of the pipe', async () => {
      const client = await ws(`?token=${token('21')}`);
      client.send({ type: 'fastEcho', data: { text: 'fast' } });
      expect((await client.next('echo')).data).toEqual({ text: 'fast', userId: '21', username: 'user-21' });
      const bad: unknown[] = [
        { text: 42 },
        { text: 'x'.repeat(101) },
        { text: { nested: 'x' } },
        { text: ['x'] },
        {},
        'just a string',
        [{ text: 'x' }],
        null,
        { text: null },
      ];
      for (const data of bad) {
        client.send({ type: 'echo', data });
        const viaNest = await client.next('error');
        client.send({ type: 'fastEcho', data });
        const direct = await client.next('error');
        expect(direct.data).toMatchObject({ code: 'INVALID_FORMAT' });
        expect(direct.data).toEqual(viaNest.data);
      }
      // Unknown fields are dropped, as the pipe's whitelist drops them.
      client.send({ type: 'fastEcho', data: { text: 'kept', userId: 'spoofed' } });
      expect((await client.next('echo')).data).toMatchObject({ text: 'kept', userId: '21' });
    });

    it('keep the order of frames, and answer errors as the exception filter does', async () => {
      const client = await ws(`?token=${token('22')}`);
      client.send({ type: 'fastSlow', data: { n: 1, delayMs: 100 } });
      client.send({ type: 'slow', data: { n: 2, delayMs: 0 } });
      client.send({ type: 'fastSlow', data: { n: 3, delayMs: 0 } });
      const order = [await client.next('slow'), await client.next('slow'), await client.next('slow')];
      expect(order.map((f) => (f.data as { n: number }).n)).toEqual([1, 2, 3]);

      client.send({ type: 'fastDeny', data: { text: 'x' } });
      client.send({ type: 'deny', data: {} });
      const [direct, viaNest] = [await client.next('error'), await client.next('error')];
      expect(direct.data).toEqual(viaNest.data);
      client.send({ type: 'fastCrash', data: { text: 'x' } });
      const crash = await client.next('error');
      expect(crash.data).toEqual({ code: 'INTERNAL_ERROR', message: 'Internal server error', details: {} });
      expect(JSON.stringify(crash)).not.toContain('hunter2');

      client.send({ type: 'fastExpire', data: { text: 'x' } });
      expect((await client.next('error')).data).toMatchObject({
        code: 'AUTH_FAILED',
        message: 'Session revoked',
      });
      expect(await client.closedWithin()).toMatchObject({ code: 4401 });
    });

    it('in a batch: an AUTH_FAILED from a route closes the connection and ends the batch', async () => {
      const client = await ws(`?token=${token('24')}`);
      client.send({
        type: 'batch',
        data: {
          messages: [
            { type: 'fastEcho', data: { text: 'first' } },
            { type: 'fastEcho', data: { text: 42 } },
            { type: 'fastExpire', data: { text: 'x' } },
            { type: 'fastEcho', data: { text: 'never' } },
          ],
        },
      });
      expect((await client.next('echo')).data).toMatchObject({ text: 'first' });
      expect((await client.next('error')).data).toMatchObject({
        code: 'INVALID_FORMAT',
        details: { field: 'text' },
      });
      expect((await client.next('error')).data).toMatchObject({ code: 'AUTH_FAILED' });
      expect(await client.closedWithin()).toMatchObject({ code: 4401 });
      expect(client.frames).toEqual([]);
    });

    it('take precedence over a @SubscribeMessage handler of the same type', async () => {
      const client = await ws(`?token=${token('23')}`);
      client.send({ type: 'shadowed', data: { text: 'x' } });
      expect((await client.next('shadowed')).data).toEqual({ by: 'route' });
    });
  });

  it('sends every value of a handler that returns an observable, before the next frame is handled', async () => {
    const client = await ws(`?token=${token('18')}`);
    client.send({ type: 'count', data: { n: 3, delayMs: 20 } });
    client.send({ type: 'echo', data: { text: 'after' } });
    expect((await client.next('echo')).data).toMatchObject({ text: 'after' });
    // Frames nobody awaited are queued in arrival order: the three counts came before the echo.
    expect(client.frames.map((f) => [f.type, f.data])).toEqual([
      ['count', { i: 0 }],
      ['count', { i: 1 }],
      ['count', { i: 2 }],
    ]);
  });

  it('handles the frames of one connection in order, even when a handler is slow', async () => {
    const client = await ws(`?token=${token('9')}`);
    client.send({ type: 'slow', data: { n: 1, delayMs: 150 } });
    client.send({ type: 'slow', data: { n: 2, delayMs: 0 } });
    client.send({ type: 'slow', data: { n: 3, delayMs: 20 } });
    const order = [await client.next('slow'), await client.next('slow'), await client.next('slow')];
    expect(order.map((f) => (f.data as { n: number }).n)).toEqual([1, 2, 3]);
  });

  it('closes with 1009 a frame over the maximum payload', async () => {
    const client = await ws(`?token=${token('10')}`);
    client.send({ type: 'echo', data: { text: 'x'.repeat(2000) } });
    expect((await client.closedWithin()).code).toBe(1009);
  });

  it('refuses an upgrade to a path nobody serves with 404', async () => {
    await expect(TestWs.open(`ws://127.0.0.1:${port}/ws/nowhere`)).rejects.toThrow(
      'Unexpected server response: 404',
    );
  });

  it('serves Socket.IO and raw ws side by side and counts both', async () => {
    const registry = app.get(ConnectionRegistry);
    const socket = await connectIo(`http://127.0.0.1:${port}`, { token: token('11') });
    const client = await ws(`?token=${token('12')}`);
    client.send({ type: 'echo', data: { text: 'ws' } });
    await client.next('echo');
    expect(registry.countByTransport()).toEqual({ socketIo: 1, ws: 1 });
    socket.close();
    client.close();
    await waitUntil(() => registry.size === 0);
  });

  it('frees the slot of Socket.IO clients whose transport closes during the handshake, and keeps no token', async () => {
    const registry = app.get(ConnectionRegistry);
    // Each client closes its transport as soon as it opened: some CONNECT packets pass the
    // middleware (slot taken) and the socket never completes; others connect and disconnect.
    const closing = Array.from({ length: 20 }, (_, i) => {
      const client = io(`http://127.0.0.1:${port}`, {
        transports: ['websocket'],
        auth: { token: token(String(300 + i)) },
        reconnection: false,
      });
      client.io.once('open', () => client.io.engine.close());
      return new Promise<void>((resolve) => client.io.once('close', () => resolve()));
    });
    await Promise.all(closing);
    await waitUntil(() => registry.size === 0);

    const socket = await connectIo(`http://127.0.0.1:${port}`, { token: token('17') });
    await socket.timeout(5000).emitWithAck('rt_sync', {});
    const server = app.get(SocketIoServerRef).get()!;
    const [serverSocket] = [...server.of('/').sockets.values()];
    expect(serverSocket?.handshake.auth).not.toHaveProperty('token');
    socket.close();
    await waitUntil(() => registry.size === 0);
  });

  it("gives a user's Socket.IO sockets of equal claims the one identity the registry keeps", async () => {
    const registry = app.get(ConnectionRegistry);
    const shared = token('18');
    const sockets = [
      await connectIo(`http://127.0.0.1:${port}`, { token: shared }),
      await connectIo(`http://127.0.0.1:${port}`, { token: shared }),
    ];
    try {
      const server = app.get(SocketIoServerRef).get()!;
      const mine = [...server.of('/').sockets.values()].filter(
        (socket) => (socket.data as RealtimeSocketData).identity?.userId === '18',
      );
      expect(mine).toHaveLength(2);
      const [first, second] = mine.map((socket) => (socket.data as RealtimeSocketData).identity);
      expect(second).toBe(first);
      expect(registry.get(mine[0]!.id)?.identity).toBe(first);
    } finally {
      for (const socket of sockets) socket.close();
    }
    await waitUntil(() => registry.size === 0);
  });

  it('counts the bytes, messages and errors that cross both transports', async () => {
    const counters = app.get(TransportCounters);
    const before = counters.snapshot();
    const client = await ws(`?token=${token('15')}`);
    const frame = JSON.stringify({ type: 'echo', data: { text: 'count me' } });
    client.send(frame);
    const echo = await client.next('echo');
    client.send('not json');
    await client.next('error');
    const afterWs = counters.snapshot();
    expect(afterWs.messagesReceived - before.messagesReceived).toBe(2);
    expect(afterWs.bytesReceived - before.bytesReceived).toBe(Buffer.byteLength(frame) + 'not json'.length);
    expect(afterWs.bytesSent - before.bytesSent).toBeGreaterThanOrEqual(
      Buffer.byteLength(JSON.stringify(echo)),
    );
    expect(afterWs.errorsSent - before.errorsSent).toBe(1);

    const socket = await connectIo(`http://127.0.0.1:${port}`, { token: token('16') });
    await socket.timeout(5000).emitWithAck('rt_sync', {});
    socket.close();
    const afterIo = counters.snapshot();
    expect(afterIo.messagesReceived - afterWs.messagesReceived).toBe(1);
    expect(afterIo.bytesReceived).toBeGreaterThan(afterWs.bytesReceived);
    expect(afterIo.bytesSent).toBeGreaterThan(afterWs.bytesSent);
  });

  it('enforces the per-user connection limit on both transports (CONNECTION_LIMIT)', async () => {
    const t = token('13');
    await ws(`?token=${t}`);
    await ws(`?token=${t}`);
    const third = await ws(`?token=${t}`);
    expect((await third.next('error')).data).toMatchObject({ code: 'CONNECTION_LIMIT' });
    expect((await third.closedWithin()).code).toBe(4429);
    const refusal = await ioRefusal(`http://127.0.0.1:${port}`, { token: t });
    expect(refusal.data?.code).toBe('CONNECTION_LIMIT');
  });

  it('closes a connection whose token expired on its next message (AUTH_FAILED, 4401)', async () => {
    const exp = Math.ceil((Date.now() + 1500) / 1000);
    const client = await ws(`?token=${signToken({ sub: '14', exp })}`);
    client.send({ type: 'echo', data: { text: 'before expiry' } });
    await client.next('echo');
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50));
    client.send({ type: 'echo', data: { text: 'after expiry' } });
    expect((await client.next('error')).data).toEqual({
      code: 'AUTH_FAILED',
      message: 'Token expired',
      details: {},
    });
    expect((await client.closedWithin()).code).toBe(4401);
  });
});

describe('RealtimeAdapter: a Socket.IO transport that closes before its connection completes', () => {
  it('frees the slot taken by the authentication middleware', async () => {
    const { app, port } = await startApp();
    try {
      const registry = app.get(ConnectionRegistry);
      // A host middleware after the library's one holds the connection open long enough for the
      // client to close its transport: Socket.IO then drops the socket, which never disconnects.
      const server = app.get(SocketIoServerRef).get()!;
      let passed = 0;
      server.use((_socket, next) => {
        passed += 1;
        setTimeout(next, 200);
      });
      const client = io(`http://127.0.0.1:${port}`, {
        transports: ['websocket'],
        auth: { token: token('400') },
        reconnection: false,
      });
      await waitUntil(() => passed === 1);
      expect(registry.size).toBe(1);
      client.io.engine.close();
      await waitUntil(() => registry.size === 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(registry.size).toBe(0);
      expect(client.connected).toBe(false);
    } finally {
      await app.close();
    }
  });
});

describe('RealtimeAdapter: a plain host gateway on the Socket.IO path', () => {
  it('fails the boot with a message instead of starting a second Socket.IO server', async () => {
    @WebSocketGateway()
    class PlainHostGateway {}

    @Module({
      imports: [
        RealtimeModule.forRoot({
          auth: { secret: TEST_SECRET },
          database: { type: 'sqlite', path: ':memory:' },
        }),
      ],
      providers: [PlainHostGateway],
    })
    class PlainHostModule {}

    const moduleRef = await Test.createTestingModule({ imports: [PlainHostModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new RealtimeAdapter(app));
    await expect(app.init()).rejects.toThrow('would start a second Socket.IO server');
    await app.close();
  });
});

describe('RealtimeAdapter: heartbeat and idle timeout', () => {
  let app: INestApplication;
  let port: number;

  beforeAll(async () => {
    ({ app, port } = await startApp({ heartbeatIntervalMs: 100, idleTimeoutMs: 400 }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('terminates a peer that does not answer two pings', async () => {
    const client = await TestWs.open(`ws://127.0.0.1:${port}/ws/echo?token=${token('20')}`, {
      autoPong: false,
    });
    const closed = await client.closedWithin(3000);
    expect(closed.code).toBe(1006);
    expect(client.pings).toBeGreaterThanOrEqual(2);
  });

  it('keeps a peer that answers pings, until it stays idle past the idle timeout (4408)', async () => {
    // Taken before the handshake: the server stamps the connection's activity when it accepts it,
    // which the client's 'open' follows.
    const started = Date.now();
    const client = await TestWs.open(`ws://127.0.0.1:${port}/ws/echo?token=${token('21')}`);
    const closed = await client.closedWithin(3000);
    expect(closed).toEqual({ code: 4408, reason: 'Idle timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });
});

describe('RealtimeAdapter: token expiry of listen-only connections', () => {
  let app: INestApplication;
  let port: number;

  beforeAll(async () => {
    ({ app, port } = await startApp({ heartbeatIntervalMs: 100, idleTimeoutMs: 0 }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('closes listen-only connections whose token expired, on both transports, within a heartbeat', async () => {
    // 1.5 to 2.5 s ahead (exp has whole seconds): never already expired when the clients connect.
    const exp = Math.ceil((Date.now() + 1500) / 1000);
    const expiring = signToken({ sub: '22', exp });
    const raw = await TestWs.open(`ws://127.0.0.1:${port}/ws/echo?token=${expiring}`);
    const io = await connectIo(`http://127.0.0.1:${port}`, { token: expiring });
    const ioError = new Promise<{ code: string }>((resolve) => io.once('error', resolve));
    const ioGone = new Promise<string>((resolve) => io.once('disconnect', resolve));
    expect((await raw.next('error', 4000)).data).toMatchObject({
      code: 'AUTH_FAILED',
      message: 'Token expired',
    });
    expect((await raw.closedWithin()).code).toBe(4401);
    expect(await ioError).toMatchObject({ code: 'AUTH_FAILED' });
    expect(await ioGone).toBe('io server disconnect');
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
  });
});
