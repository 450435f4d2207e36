// The library's guards and rate limiter in a host's own handlers: `@UseGuards(RealtimeAuthGuard,
// RealtimeRolesGuard) @RealtimeRoles('admin')` on Socket.IO and raw ws gateway handlers (the sample's
// announcements, RealtimeModule global) and in a host module importing RealtimeModule without
// isGlobal (a deferred-authentication ws gateway, an HTTP controller, @RealtimeThrottle); refusals
// are error codes with the connection kept, and a host bucket of RealtimeRateLimiter refuses past
// its limit with RATE_LIMITED and retry_after_ms, in memory and on a shared ThrottlerStorage.
import {
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  UseFilters,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { MessageBody, SubscribeMessage, type OnGatewayInit, type WsResponse } from '@nestjs/websockets';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import type { Socket } from 'socket.io-client';
import { SocketIoServerRef } from 'nest-realtime/core/transport/socket-io-server.ref';
import request from 'supertest';
import {
  ConnectedUser,
  ConnectionLifecycle,
  dataEnvelopeCodec,
  RealtimeAdapter,
  RealtimeAuthGuard,
  RealtimeGateway,
  RealtimeIoExceptionFilter,
  RealtimeModule,
  RealtimeRoles,
  RealtimeRolesGuard,
  RealtimeThrottle,
  RealtimeThrottleGuard,
  RealtimeWsExceptionFilter,
  WsConnection,
  type RawWsConnection,
  type RawWsServer,
  type RealtimeErrorPayload,
  type RealtimeIdentity,
} from 'nest-realtime';
import {
  ANNOUNCEMENTS_WS_PATH,
  AnnouncementEvent,
  type Announcement,
} from '../apps/sample/src/announcements/announcement.types';
import { Clients, nextEvent, signToken } from './support/clients';
import { startSample, TEST_SECRET, type RunningSample } from './support/sample-app';

let sequence = 0;
/** A token of a fresh user (so that no two tests share a rate-limit window). */
function tokenOf(role: 'admin' | 'member'): { token: string; userId: string } {
  sequence += 1;
  const userId = `${role}-${sequence}`;
  return {
    token: signToken({ sub: userId, username: userId, roles: role === 'admin' ? ['admin'] : [] }),
    userId,
  };
}

const wsUrl = (sample: RunningSample, token: string) =>
  `ws://127.0.0.1:${sample.port}${ANNOUNCEMENTS_WS_PATH}?token=${token}`;

/** Socket.IO: emits `announce` and resolves with the reply or the error, whichever comes. */
function announceIo(
  socket: Socket,
  text: string,
): Promise<{ announced: Announcement } | { error: RealtimeErrorPayload }> {
  const announced = nextEvent<Announcement>(socket, AnnouncementEvent.ANNOUNCED).then((a) => ({
    announced: a,
  }));
  const error = nextEvent<RealtimeErrorPayload>(socket, 'error').then((e) => ({ error: e }));
  socket.emit(AnnouncementEvent.ANNOUNCE, { text });
  return Promise.race([announced, error]);
}

describe('Guarded host gateways of the sample (announcements, RealtimeModule global)', () => {
  describe('with the in-memory rate limits', () => {
    let sample: RunningSample;
    const clients = new Clients();

    beforeAll(async () => {
      sample = await startSample({ config: { announcementsPerMinute: 2 } });
    });
    afterEach(() => clients.closeAll());
    afterAll(async () => {
      await sample.close();
    });

    it('Socket.IO: a member gets PERMISSION_DENIED naming the role and stays connected; an admin announces', async () => {
      const member = await clients.io(sample.url, { token: tokenOf('member').token });
      const admin = await clients.io(sample.url, { token: tokenOf('admin').token });

      expect(await announceIo(member, 'hello')).toEqual({
        error: {
          code: 'PERMISSION_DENIED',
          message: 'Requires the role "admin"',
          details: { required_roles: ['admin'] },
        },
      });

      // The member is still connected: it hears the admin's announcement.
      const heard = nextEvent<Announcement>(member, AnnouncementEvent.ANNOUNCEMENT);
      const reply = await announceIo(admin, 'maintenance at noon');
      expect(reply).toEqual({ announced: expect.objectContaining({ text: 'maintenance at noon' }) });
      expect(await heard).toEqual((reply as { announced: Announcement }).announced);
      expect(member.connected).toBe(true);
    });

    it('raw ws: a member gets PERMISSION_DENIED and stays connected; an admin announces to every listener', async () => {
      const member = await clients.ws(wsUrl(sample, tokenOf('member').token));
      const admin = await clients.ws(wsUrl(sample, tokenOf('admin').token));

      member.send({ type: AnnouncementEvent.ANNOUNCE, data: { text: 'hello' } });
      expect((await member.next('error')).data).toEqual({
        code: 'PERMISSION_DENIED',
        message: 'Requires the role "admin"',
        details: { required_roles: ['admin'] },
      });

      admin.send({ type: AnnouncementEvent.ANNOUNCE, data: { text: 'deploy done' } });
      const announced = (await admin.next(AnnouncementEvent.ANNOUNCED)).data as Announcement;
      expect(announced).toMatchObject({ text: 'deploy done' });
      expect((await member.next(AnnouncementEvent.ANNOUNCEMENT)).data).toEqual(announced);
      expect(member.socket.readyState).toBe(member.socket.OPEN);
    });

    it('an admin past its announcements per minute, across both transports, gets RATE_LIMITED with retry_after_ms', async () => {
      const { token } = tokenOf('admin');
      const io = await clients.io(sample.url, { token });
      const ws = await clients.ws(wsUrl(sample, token));

      expect(await announceIo(io, 'one')).toHaveProperty('announced');
      ws.send({ type: AnnouncementEvent.ANNOUNCE, data: { text: 'two' } });
      await ws.next(AnnouncementEvent.ANNOUNCED);

      const refused = await announceIo(io, 'three');
      expect(refused).toEqual({
        error: {
          code: 'RATE_LIMITED',
          message: 'Rate limit of "announce" reached: 2 per minute',
          details: { retry_after_ms: expect.any(Number), limit: 2, window: 'minute', bucket: 'announce' },
        },
      });
      const wait = (refused as { error: RealtimeErrorPayload }).error.details.retry_after_ms as number;
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(60_000);

      ws.send({ type: AnnouncementEvent.ANNOUNCE, data: { text: 'four' } });
      expect((await ws.next('error')).data).toMatchObject({
        code: 'RATE_LIMITED',
        details: { bucket: 'announce' },
      });
      // Both connections stay open.
      expect(io.connected).toBe(true);
      expect(ws.socket.readyState).toBe(ws.socket.OPEN);
    });

    it('an announcement of the wrong shape is INVALID_FORMAT naming the field', async () => {
      const admin = await clients.io(sample.url, { token: tokenOf('admin').token });
      const error = nextEvent<RealtimeErrorPayload>(admin, 'error');
      admin.emit(AnnouncementEvent.ANNOUNCE, { text: '' });
      expect(await error).toMatchObject({ code: 'INVALID_FORMAT', details: { field: 'text' } });
    });

    it('HTTP routes behind RealtimeAuthGuard work as before', async () => {
      const refused = await request(sample.url).get('/modules').expect(401);
      expect(refused.body).toMatchObject({ code: 'AUTH_FAILED', message: 'Authentication token missing' });
      await request(sample.url)
        .get('/modules')
        .set('Authorization', `Bearer ${tokenOf('member').token}`)
        .expect(200);
    });
  });

  describe('with a ThrottlerStorage shared by two nodes (rooms.rateLimitStorage)', () => {
    let storage: ThrottlerStorageService;
    const nodes: RunningSample[] = [];
    const clients = new Clients();

    beforeAll(async () => {
      storage = new ThrottlerStorageService();
      for (let i = 0; i < 2; i += 1) {
        nodes.push(
          await startSample({
            config: { announcementsPerMinute: 2 },
            overrides: { rooms: { rateLimitStorage: storage } },
          }),
        );
      }
    });
    afterAll(async () => {
      clients.closeAll();
      await Promise.all(nodes.map((node) => node.close()));
      storage.onApplicationShutdown();
    });

    it('counts an admin’s announcements on either node in one window', async () => {
      const [a, b] = nodes as [RunningSample, RunningSample];
      const { token, userId } = tokenOf('admin');
      const onA = await clients.io(a.url, { token });
      const onB = await clients.ws(wsUrl(b, token));

      expect(await announceIo(onA, 'one')).toHaveProperty('announced');
      expect(await announceIo(onA, 'two')).toHaveProperty('announced');
      onB.send({ type: AnnouncementEvent.ANNOUNCE, data: { text: 'three' } });
      const refused = (await onB.next('error')).data as RealtimeErrorPayload;
      expect(refused).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 2, window: 'minute' } });
      expect(refused.details.retry_after_ms).toBeGreaterThan(0);
      expect(storage.storage.has(`rt:rl:announce:${userId}:minute`)).toBe(true);
    });
  });
});

const DEFERRED_PATH = '/ws/host-deferred';

/** A raw ws gateway that authenticates by an `auth` frame after the connection opens. */
@RealtimeGateway({
  transport: 'ws',
  path: DEFERRED_PATH,
  codec: dataEnvelopeCodec,
  authentication: 'deferred',
})
@UseFilters(RealtimeWsExceptionFilter)
class DeferredGateway implements OnGatewayInit<RawWsServer> {
  private server: RawWsServer | null = null;

  constructor(private readonly lifecycle: ConnectionLifecycle) {}

  afterInit(server: RawWsServer): void {
    this.server = server;
  }

  @SubscribeMessage('auth')
  auth(
    @WsConnection() connection: RawWsConnection,
    @MessageBody() body: { token?: string },
  ): WsResponse<object> {
    this.server?.authenticated(connection, this.lifecycle.authenticateToken(body.token));
    return { event: 'authenticated', data: {} };
  }

  @SubscribeMessage('whoami')
  @UseGuards(RealtimeAuthGuard)
  whoami(@ConnectedUser() user: RealtimeIdentity): WsResponse<{ userId: string }> {
    return { event: 'whoami', data: { userId: user.userId } };
  }

  @SubscribeMessage('purge')
  @UseGuards(RealtimeAuthGuard, RealtimeRolesGuard)
  @RealtimeRoles('admin')
  purge(): WsResponse<object> {
    return { event: 'purged', data: {} };
  }
}

/** Socket.IO: a handler throttled with the decorator. */
@RealtimeGateway({ transport: 'socket.io' })
@UseFilters(RealtimeIoExceptionFilter)
class NudgeGateway {
  @SubscribeMessage('nudge')
  @UseGuards(RealtimeAuthGuard, RealtimeThrottleGuard)
  @RealtimeThrottle({ name: 'nudge', perMinute: 1 })
  nudge(): WsResponse<object> {
    return { event: 'nudged', data: {} };
  }
}

@Controller('reports')
@UseGuards(RealtimeAuthGuard, RealtimeRolesGuard, RealtimeThrottleGuard)
class ReportsController {
  @Get('mine')
  mine(@ConnectedUser() user: RealtimeIdentity): { userId: string } {
    return { userId: user.userId };
  }

  @Post()
  @HttpCode(200)
  @RealtimeRoles('admin')
  @RealtimeThrottle({ name: 'report', perMinute: 1 })
  create(@ConnectedUser() user: RealtimeIdentity): { by: string } {
    return { by: user.userId };
  }
}

@Module({
  imports: [
    RealtimeModule.forRoot({ auth: { secret: TEST_SECRET }, database: { type: 'sqlite', path: ':memory:' } }),
  ],
  controllers: [ReportsController],
  providers: [DeferredGateway, NudgeGateway],
})
class HostModule {}

describe('Guards in a host module importing RealtimeModule without isGlobal', () => {
  let app: INestApplication;
  let url: string;
  let port: number;
  const clients = new Clients();

  beforeAll(async () => {
    app = await NestFactory.create(HostModule, { logger: false });
    app.useWebSocketAdapter(new RealtimeAdapter(app));
    await app.listen(0, '127.0.0.1');
    port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}`;
  });
  afterEach(() => clients.closeAll());
  afterAll(async () => {
    await app.close();
  });

  it('deferred ws: a guarded handler before authentication answers AUTH_FAILED and keeps the connection', async () => {
    const client = await clients.ws(`ws://127.0.0.1:${port}${DEFERRED_PATH}`);
    for (const type of ['whoami', 'purge']) {
      client.send({ type, data: {} });
      expect((await client.next('error')).data).toEqual({
        code: 'AUTH_FAILED',
        message: 'Not authenticated',
        details: {},
      });
    }
    const { token, userId } = tokenOf('member');
    client.send({ type: 'auth', data: { token } });
    await client.next('authenticated');
    client.send({ type: 'whoami', data: {} });
    expect((await client.next('whoami')).data).toEqual({ userId });
    client.send({ type: 'purge', data: {} });
    expect((await client.next('error')).data).toMatchObject({
      code: 'PERMISSION_DENIED',
      message: 'Requires the role "admin"',
    });
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    // The gateway's guards ran from the endpoint's one table of handlers: the connection keeps none
    // of Nest's handlers bound to it.
    const endpoint = app.get(ConnectionLifecycle, { strict: false }).endpoint(DEFERRED_PATH);
    const connections = [...(endpoint?.connections ?? [])];
    expect(connections).toHaveLength(1);
    expect(connections[0]?.handlers).toHaveLength(0);
  });

  it('HTTP: AUTH_FAILED without a token, PERMISSION_DENIED without the role, RATE_LIMITED past the bucket', async () => {
    await request(url).get('/reports/mine').expect(401);
    const member = tokenOf('member');
    const mine = await request(url)
      .get('/reports/mine')
      .set('Authorization', `Bearer ${member.token}`)
      .expect(200);
    expect(mine.body).toEqual({ userId: member.userId });

    const denied = await request(url)
      .post('/reports')
      .set('Authorization', `Bearer ${member.token}`)
      .expect(403);
    expect(denied.body).toEqual({
      statusCode: 403,
      code: 'PERMISSION_DENIED',
      message: 'Requires the role "admin"',
      details: { required_roles: ['admin'] },
    });

    const admin = tokenOf('admin');
    await request(url)
      .post('/reports')
      .set('Authorization', `Bearer ${admin.token}`)
      .expect(200, { by: admin.userId });
    const limited = await request(url)
      .post('/reports')
      .set('Authorization', `Bearer ${admin.token}`)
      .expect(429);
    expect(limited.body).toMatchObject({
      statusCode: 429,
      code: 'RATE_LIMITED',
      details: { limit: 1, window: 'minute', bucket: 'report' },
    });
    expect(limited.body.details.retry_after_ms).toBeGreaterThan(0);
  });

  it('Socket.IO: @RealtimeThrottle refuses past the limit with RATE_LIMITED, the socket kept', async () => {
    const socket = await clients.io(url, { token: tokenOf('member').token });
    const nudged = nextEvent(socket, 'nudged');
    socket.emit('nudge', {});
    await nudged;
    const error = nextEvent<RealtimeErrorPayload>(socket, 'error');
    socket.emit('nudge', {});
    expect(await error).toMatchObject({
      code: 'RATE_LIMITED',
      message: 'Rate limit of "nudge" reached: 1 per minute',
      details: { limit: 1, window: 'minute', bucket: 'nudge' },
    });
    expect(socket.connected).toBe(true);
    // The guards ran from the gateways' handlers made once for every socket: the socket keeps none
    // of Nest's handlers bound to it.
    const server = app.get(SocketIoServerRef).get()!;
    const serverSockets = [...server.of('/').sockets.values()];
    expect(serverSockets).toHaveLength(1);
    const kept = Object.getOwnPropertySymbols(serverSockets[0]).map((symbol) => symbol.description);
    expect(kept).not.toContain('realtime.handlers');
    expect(serverSockets[0]?.listenerCount('nudge')).toBe(1);
  });
});
