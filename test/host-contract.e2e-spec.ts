// The host contract: RealtimeModule is a guest in someone else's Nest application. It runs none of the
// host's jobs twice, mounts no HTTP route it was not asked for, stops the boot with the line to add
// when the adapter is missing or an option is misspelt, names the option and the path of a database
// that cannot be opened, and serves a Fastify host as it serves an Express one.
import {
  Controller,
  Get,
  Injectable,
  Logger,
  Module,
  type INestApplication,
  type DynamicModule,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Interval, ScheduleModule } from '@nestjs/schedule';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'fs';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import request from 'supertest';
import {
  EventsManager,
  RealtimeAdapter,
  RealtimeModule,
  RealtimeOptionsError,
  RealtimeSetupError,
  type RealtimeModuleExtras,
  type RealtimeModuleOptions,
} from 'nest-realtime';
import { connectIo, nextEvent, signToken, TestWs } from './support/clients';
import { TEST_SECRET } from './support/sample-app';

const OPTIONS: RealtimeModuleOptions = {
  auth: { secret: TEST_SECRET },
  database: { type: 'sqlite', path: ':memory:' },
};

/** Boots a host module on a loopback port; `adapter: false` leaves the adapter line out. */
async function boot(module: DynamicModule | (new () => unknown), adapter = true): Promise<INestApplication> {
  const app = await NestFactory.create(module, { logger: false, abortOnError: false });
  if (adapter) app.useWebSocketAdapter(new RealtimeAdapter(app));
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}

function urlOf(app: INestApplication): string {
  return `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
}

/** A host module that imports RealtimeModule.forRoot with these options and extras. */
function hostWith(options: RealtimeModuleOptions & RealtimeModuleExtras): DynamicModule {
  @Module({})
  class HostModule {}
  return { module: HostModule, imports: [RealtimeModule.forRoot(options)] };
}

describe('Host contract', () => {
  describe("the host's own ScheduleModule", () => {
    it('runs a host @Interval job once per period with RealtimeModule imported', async () => {
      const ticks: number[] = [];
      @Injectable()
      class HostJob {
        @Interval(100)
        tick(): void {
          ticks.push(Date.now());
        }
      }
      @Module({
        imports: [
          ScheduleModule.forRoot(),
          RealtimeModule.forRoot({ ...OPTIONS, stream: { metricsIntervalMs: 100 } }),
        ],
        providers: [HostJob],
      })
      class ScheduledHost {}
      const app = await boot(ScheduledHost);
      try {
        const start = Date.now();
        await new Promise<void>((done) => {
          const check = setInterval(() => {
            if (Date.now() - start >= 1050) {
              clearInterval(check);
              done();
            }
          }, 25);
        });
        // One explorer ticks it 10 times a second; two (a second ScheduleModule.forRoot() inside
        // the library) ticked it 20 times. A busy machine may delay ticks, never double them.
        expect(ticks.length).toBeGreaterThanOrEqual(5);
        expect(ticks.length).toBeLessThanOrEqual(11);
      } finally {
        await app.close();
      }
    });
  });

  describe('HTTP routes', () => {
    it('mounts none by default: GET /metrics and POST /apps/:appId/logs are the host’s 404s', async () => {
      const app = await boot(hostWith(OPTIONS));
      try {
        await request(urlOf(app)).get('/metrics').expect(404);
        await request(urlOf(app)).post('/apps/a/logs').send({ level: 'info', message: 'x' }).expect(404);
      } finally {
        await app.close();
      }
    });

    it('mounts each route at the path the host gives, and only there', async () => {
      const app = await boot(
        hostWith({
          ...OPTIONS,
          http: { metricsPath: '/internal/rt-metrics', logIngestionPath: '/ingest/:appId' },
        }),
      );
      try {
        const url = urlOf(app);
        const scrape = await request(url).get('/internal/rt-metrics').expect(200);
        expect(scrape.text).toContain('# TYPE');
        await request(url).get('/metrics').expect(404);
        const token = signToken({ sub: 'p1', username: 'p1', appId: 'billing' });
        const posted = await request(url)
          .post('/ingest/billing')
          .set('Authorization', `Bearer ${token}`)
          .send({ level: 'info', message: 'hello' })
          .expect(202);
        expect((posted.body as { accepted: number }).accepted).toBe(1);
        await request(url)
          .post('/ingest/other')
          .set('Authorization', `Bearer ${token}`)
          .send({ level: 'info', message: 'for another app' })
          .expect(403);
        await request(url).post('/apps/billing/logs').send({}).expect(404);
      } finally {
        await app.close();
      }
    });

    it.each([
      [{ metricsPath: 'metrics' }, 'http.metricsPath', 'absolute URL path'],
      [{ logIngestionPath: '/logs' }, 'http.logIngestionPath', ':appId'],
    ])('refuses http %j naming %s', (http, option, problem) => {
      let error: unknown;
      try {
        hostWith({ ...OPTIONS, http });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(RealtimeOptionsError);
      expect((error as RealtimeOptionsError).option).toBe(option);
      expect((error as Error).message).toContain(problem);
    });

    it('refuses a route of the log stream when the log stream is off', () => {
      expect(() =>
        hostWith({ ...OPTIONS, gateways: { logs: false }, http: { metricsPath: '/metrics' } }),
      ).toThrow(/http\.metricsPath.*gateways\.logs is false/);
    });
  });

  describe('a forgotten RealtimeAdapter', () => {
    const combinations: Array<[string, RealtimeModuleExtras['gateways'], string]> = [
      ['every gateway', {}, 'events, chat, rooms, logs'],
      ['rooms off', { rooms: false }, 'events, chat, logs'],
      ['Socket.IO gateways only', { rooms: false, logs: false }, 'events, chat'],
      ['rooms only', { events: false, chat: false, logs: false }, 'rooms'],
      ['log stream only', { events: false, chat: false, rooms: false }, 'logs'],
    ];

    it.each(combinations)('stops the boot with the line to add (%s)', async (_label, gateways, named) => {
      const failure = await boot(hostWith({ ...OPTIONS, gateways }), false).then(
        async (app) => {
          await app.close();
          return null;
        },
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(RealtimeSetupError);
      const message = (failure as Error).message;
      expect(message).toContain(`the ${named} gateway`);
      expect(message).toContain('app.useWebSocketAdapter(new RealtimeAdapter(app));');
    });

    it('boots without the adapter when every gateway is off', async () => {
      const app = await boot(
        hostWith({ ...OPTIONS, gateways: { events: false, chat: false, rooms: false, logs: false } }),
        false,
      );
      await app.close();
    });
  });

  describe('misspelt options', () => {
    it('forRoot names the unknown key and the closest valid one', () => {
      expect(() => RealtimeModule.forRoot({ ...OPTIONS, databse: {} } as RealtimeModuleOptions)).toThrow(
        /"databse": is not an option of RealtimeModule; did you mean "database"\?/,
      );
      expect(() =>
        RealtimeModule.forRoot({ ...OPTIONS, limits: { maxConnection: 1 } } as RealtimeModuleOptions),
      ).toThrow(/"limits\.maxConnection".*did you mean "limits\.maxConnections"\?/);
      expect(() =>
        RealtimeModule.forRoot({ ...OPTIONS, gateways: { room: false } } as RealtimeModuleOptions),
      ).toThrow(/"gateways\.room".*did you mean "gateways\.rooms"\?/);
    });

    it('forRootAsync names an unknown key of its own object', () => {
      expect(() =>
        RealtimeModule.forRootAsync({ useFactroy: () => OPTIONS } as unknown as Parameters<
          typeof RealtimeModule.forRootAsync
        >[0]),
      ).toThrow(/"useFactroy".*did you mean "useFactory"\?/);
    });

    it('forRootAsync stops the boot on an unknown key of the factory’s options', async () => {
      @Module({
        imports: [
          RealtimeModule.forRootAsync({
            useFactory: () =>
              ({ ...OPTIONS, databse: { type: 'sqlite', path: ':memory:' } }) as RealtimeModuleOptions,
          }),
        ],
      })
      class AsyncHost {}
      await expect(boot(AsyncHost)).rejects.toThrow(/"databse".*did you mean "database"\?/);
    });

    it('walks nested keys and array items, but not the values a host passes in as objects', async () => {
      expect(() =>
        RealtimeModule.forRoot({
          ...OPTIONS,
          rooms: { initial: [{ name: 'a', private: true }] },
        } as unknown as RealtimeModuleOptions),
      ).toThrow(/"rooms\.initial\[0\]\.private".*did you mean "rooms\.initial\[0\]\.isPrivate"\?/);
      // CORS settings and a storage instance carry keys of their own: they are the host's objects.
      const storage = {
        hits: 0,
        increment: () =>
          Promise.resolve({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 }),
      };
      const app = await boot(
        hostWith({
          ...OPTIONS,
          socketIo: {
            cors: { origin: 'https://example.test', credentials: true, methods: ['GET'] } as never,
          },
          rooms: { rateLimitStorage: storage },
        }),
      );
      await app.close();
    });
  });

  describe('database path problems', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'rt-host-db-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('names database.path and the folder when a part of it is a file', async () => {
      writeFileSync(join(dir, 'not-a-folder'), 'x');
      const path = join(dir, 'not-a-folder', 'realtime.sqlite');
      const failure = await boot(hostWith({ ...OPTIONS, database: { type: 'sqlite', path } })).catch(
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(RealtimeOptionsError);
      expect((failure as RealtimeOptionsError).option).toBe('database.path');
      expect((failure as Error).message).toContain(path);
      expect((failure as Error).message).toContain('is a file, not a folder');
    });

    it('names database.path when the path is a folder', async () => {
      const path = join(dir, 'a-folder');
      mkdirSync(path);
      const failure = await boot(hostWith({ ...OPTIONS, database: { type: 'sqlite', path } })).catch(
        (error: unknown) => error,
      );
      expect((failure as RealtimeOptionsError).option).toBe('database.path');
      expect((failure as Error).message).toContain(`"${path}" exists and is not a file`);
    });

    it('logs the SQLite file in use once at boot, with its full path', async () => {
      const path = join(dir, 'data', 'realtime.sqlite');
      const lines: string[] = [];
      const log = jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => {
        if (typeof message === 'string') lines.push(message);
      });
      try {
        const app = await boot(hostWith({ ...OPTIONS, database: { type: 'sqlite', path } }));
        await app.close();
      } finally {
        log.mockRestore();
      }
      expect(lines.filter((line) => line.startsWith('SQLite database:'))).toEqual([
        `SQLite database: ${resolve(path)} (option database.path)`,
      ]);
    });
  });

  describe('a Fastify host', () => {
    it('serves Socket.IO, the rooms endpoint, the log stream and the opt-in routes', async () => {
      @Controller('notify')
      class NotifyController {
        constructor(private readonly events: EventsManager) {}

        @Get()
        notify(): { sent: true } {
          this.events.emitToPage('dashboard', 'rt_custom', { hello: 'fastify' });
          return { sent: true };
        }
      }
      @Module({
        imports: [
          RealtimeModule.forRoot({
            ...OPTIONS,
            http: { metricsPath: '/metrics', logIngestionPath: '/apps/:appId/logs' },
          }),
        ],
        controllers: [NotifyController],
      })
      class FastifyHost {}
      const app = await NestFactory.create<NestFastifyApplication>(FastifyHost, new FastifyAdapter(), {
        logger: false,
      });
      app.useWebSocketAdapter(new RealtimeAdapter(app));
      await app.listen(0, '127.0.0.1');
      const url = urlOf(app);
      const token = signToken({ sub: 'f1', username: 'fast', appId: 'fast-app' });
      try {
        const socket = await connectIo(url, { token, page: 'dashboard' });
        try {
          const custom = nextEvent<{ hello: string }>(socket, 'rt_custom');
          await request(url).get('/notify').expect(200);
          expect((await custom).hello).toBe('fastify');
        } finally {
          socket.close();
        }

        const rooms = await TestWs.open(`${url.replace('http', 'ws')}/ws/chat?token=${token}`);
        rooms.send({ type: 'join_room', data: { room: 'general' } });
        expect((await rooms.next('join_room_ack')).data).toMatchObject({ room: 'general' });
        rooms.send({ type: 'room_message', data: { room: 'general', content: 'on fastify' } });
        expect((await rooms.next('room_message')).data).toMatchObject({ content: 'on fastify' });
        rooms.close();

        const stream = await TestWs.open(`${url.replace('http', 'ws')}/ws/logs?token=${token}`);
        await stream.next('auth_success');
        expect((await stream.next('logs')).payload).toEqual([]); // the backlog: nothing yet
        await request(url)
          .post('/apps/fast-app/logs')
          .set('Authorization', `Bearer ${token}`)
          .send({ level: 'warn', message: 'through fastify' })
          .expect(202);
        const logs = await stream.next('logs');
        expect(JSON.stringify(logs.payload)).toContain('through fastify');
        stream.close();

        const metrics = await request(url).get('/metrics').expect(200);
        expect(metrics.headers['content-type']).toContain('text/plain');
      } finally {
        await app.close();
      }
    });
  });
});
