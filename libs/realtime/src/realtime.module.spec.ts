// RealtimeModule wiring: forRoot and every forRootAsync flavour resolve the services and the merged
// options; the builder's extras (isGlobal, gateways) work on both paths; bad options stop the boot;
// two apps in one jest process share nothing.
import { Inject, Injectable, Module, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { Test, type TestingModule } from '@nestjs/testing';
import { EventsGateway } from './events/events.gateway';
import {
  ConnectionRegistry,
  EventsManager,
  RealtimeAdapter,
  RealtimeApi,
  RealtimeModule,
  RealtimeOptionsError,
  REALTIME_OPTIONS,
  TokenVerifier,
  type RealtimeDatabaseOptions,
  type RealtimeIdentity,
  type RealtimeModuleOptions,
  type ResolvedRealtimeOptions,
} from './index';

const SECRET = 'a-test-secret-of-32-characters!!';
const OTHER_SECRET = 'another-test-secret-of-32-chars!';
const DATABASE: RealtimeDatabaseOptions = { type: 'sqlite', path: ':memory:' };
const MINIMAL: RealtimeModuleOptions = { database: DATABASE, auth: { secret: SECRET } };

/** A host's configuration module: exports the secret under a token, as ConfigModule would. */
const SECRET_TOKEN = Symbol('TEST_REALTIME_SECRET');

@Module({
  providers: [{ provide: SECRET_TOKEN, useValue: OTHER_SECRET }],
  exports: [SECRET_TOKEN],
})
class ConfigLikeModule {}

/** An options factory class, used with useClass and (provided by its own module) with useExisting. */
@Injectable()
class RealtimeConfigService {
  calls = 0;

  constructor(@Inject(SECRET_TOKEN) private readonly secret: string) {}

  createRealtimeOptions(): Promise<RealtimeModuleOptions> {
    this.calls += 1;
    return Promise.resolve({
      database: DATABASE,
      auth: { secret: this.secret },
      paths: { rooms: '/ws/from-factory-class' },
    });
  }
}

@Module({
  imports: [ConfigLikeModule],
  providers: [RealtimeConfigService],
  exports: [RealtimeConfigService],
})
class RealtimeConfigModule {}

/** A host feature that does not import RealtimeModule: it sees RealtimeApi only when the module is global. */
@Injectable()
class FeatureNotifier {
  constructor(readonly api: RealtimeApi) {}
}

@Module({ providers: [FeatureNotifier], exports: [FeatureNotifier] })
class FeatureModule {}

interface Booted {
  moduleRef: TestingModule;
  app: INestApplication;
  options: ResolvedRealtimeOptions;
  close(): Promise<void>;
}

/** Apps still open when a case fails before its own close(). */
const open = new Set<INestApplication>();

/** Compiles the testing module, mounts the library's adapter as the README says, and inits the app. */
async function boot(metadata: ModuleMetadata): Promise<Booted> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(new RealtimeAdapter(app));
  open.add(app);
  await app.init();
  return {
    moduleRef,
    app,
    options: moduleRef.get<ResolvedRealtimeOptions>(REALTIME_OPTIONS),
    async close() {
      open.delete(app);
      await app.close();
    },
  };
}

function identity(userId: string): RealtimeIdentity {
  return { userId, username: userId, roles: [], isAdmin: false, appId: null, page: null, expiresAt: null };
}

afterEach(async () => {
  const leftOpen = [...open];
  open.clear();
  await Promise.all(leftOpen.map((app) => app.close()));
});

describe('RealtimeModule', () => {
  describe('beside a host JwtModule whose key provider answers the host’s secret', () => {
    const hostSecret = 'the-host-application-secret';
    const hostJwtOptions = { secretOrKeyProvider: (): string => hostSecret };

    /** The library accepts its own tokens and refuses the host's. */
    async function expectOwnKey(imports: NonNullable<ModuleMetadata['imports']>): Promise<void> {
      const moduleRef = await Test.createTestingModule({ imports }).compile();
      try {
        const signer = new JwtService();
        const ours = signer.sign({ sub: '7', username: 'seven' }, { secret: SECRET, expiresIn: 60 });
        const hosts = signer.sign({ sub: '8', username: 'eight' }, { secret: hostSecret, expiresIn: 60 });
        const verifier = moduleRef.get(TokenVerifier);
        expect(verifier.verify(ours).userId).toBe('7');
        expect(() => verifier.verify(hosts)).toThrow('Token signature invalid');
      } finally {
        await moduleRef.close();
      }
    }

    it('verifies with its own key when the host’s JwtModule is global', async () => {
      await expectOwnKey([
        JwtModule.register({ global: true, ...hostJwtOptions }),
        RealtimeModule.forRoot(MINIMAL),
      ]);
    });

    it('verifies with its own key when a forRootAsync import exports the host’s JwtService', async () => {
      await expectOwnKey([
        RealtimeModule.forRootAsync({
          imports: [JwtModule.register(hostJwtOptions)],
          useFactory: () => MINIMAL,
        }),
      ]);
    });
  });

  describe('forRoot', () => {
    it('resolves the services and merges the defaults into REALTIME_OPTIONS', async () => {
      const booted = await boot({ imports: [RealtimeModule.forRoot(MINIMAL)] });

      expect(booted.moduleRef.get(RealtimeApi)).toBeInstanceOf(RealtimeApi);
      expect(booted.moduleRef.get(EventsManager)).toBeInstanceOf(EventsManager);
      expect(booted.moduleRef.get(TokenVerifier)).toBeInstanceOf(TokenVerifier);
      expect(booted.options.auth.secret).toBe(SECRET);
      expect(booted.options.auth.algorithms).toEqual(['HS256']);
      expect(booted.options.limits.rateLimit.perMinute).toBe(10);
      expect(booted.options.limits.rateLimit.perHour).toBe(100);
      expect(booted.options.paths).toEqual({ socketIo: '/socket.io', rooms: '/ws/chat', logs: '/ws/logs' });
      expect(booted.options.database).toEqual({
        type: 'sqlite',
        path: ':memory:',
        checkpointIntervalMs: 1000,
      });
      expect(booted.options.events.modulesPage).toBe('modules');
      await booted.close();
    });

    it('passes custom options through to REALTIME_OPTIONS', async () => {
      const booted = await boot({
        imports: [
          RealtimeModule.forRoot({
            database: DATABASE,
            auth: { secret: SECRET, issuer: 'test-issuer', adminRole: 'root', claims: { userId: 'uid' } },
            paths: { rooms: '/rt/chat', logs: '/rt/logs' },
            limits: { rateLimit: { perMinute: 5, perHour: 50 }, maxConnectionsPerUser: 3 },
            events: { modulesPage: 'devices' },
          }),
        ],
      });

      expect(booted.options.auth.issuer).toBe('test-issuer');
      expect(booted.options.auth.adminRole).toBe('root');
      expect(booted.options.auth.claims.userId).toBe('uid');
      expect(booted.options.auth.claims.username).toBe('username');
      expect(booted.options.paths).toEqual({ socketIo: '/socket.io', rooms: '/rt/chat', logs: '/rt/logs' });
      expect(booted.options.limits.rateLimit).toEqual({ perMinute: 5, perHour: 50 });
      expect(booted.options.limits.maxConnectionsPerUser).toBe(3);
      expect(booted.options.limits.maxConnections).toBe(10_000);
      expect(booted.options.events.modulesPage).toBe('devices');
      await booted.close();
    });
  });

  describe('forRootAsync', () => {
    it('takes the options from a synchronous useFactory', async () => {
      const booted = await boot({
        imports: [
          RealtimeModule.forRootAsync({
            useFactory: (): RealtimeModuleOptions => ({
              ...MINIMAL,
              limits: { rateLimit: { perMinute: 7 } },
            }),
          }),
        ],
      });

      expect(booted.moduleRef.get(RealtimeApi)).toBeInstanceOf(RealtimeApi);
      expect(booted.options.limits.rateLimit).toEqual({ perMinute: 7, perHour: 100 });
      await booted.close();
    });

    it('awaits an asynchronous useFactory', async () => {
      const booted = await boot({
        imports: [
          RealtimeModule.forRootAsync({
            useFactory: async (): Promise<RealtimeModuleOptions> => {
              await new Promise<void>((resolve) => setImmediate(resolve));
              return { ...MINIMAL, paths: { rooms: '/ws/async-chat' } };
            },
          }),
        ],
      });

      expect(booted.moduleRef.get(EventsManager)).toBeInstanceOf(EventsManager);
      expect(booted.options.paths.rooms).toBe('/ws/async-chat');
      await booted.close();
    });

    it('injects providers of the modules given in imports into the factory', async () => {
      const booted = await boot({
        imports: [
          RealtimeModule.forRootAsync({
            imports: [ConfigLikeModule],
            inject: [SECRET_TOKEN],
            useFactory: (secret: string): RealtimeModuleOptions => ({ database: DATABASE, auth: { secret } }),
          }),
        ],
      });

      expect(booted.options.auth.secret).toBe(OTHER_SECRET);
      expect(booted.moduleRef.get(TokenVerifier)).toBeInstanceOf(TokenVerifier);
      await booted.close();
    });

    it('instantiates a useClass factory and calls its createRealtimeOptions()', async () => {
      const booted = await boot({
        imports: [
          RealtimeModule.forRootAsync({ imports: [ConfigLikeModule], useClass: RealtimeConfigService }),
        ],
      });

      expect(booted.options.auth.secret).toBe(OTHER_SECRET);
      expect(booted.options.paths.rooms).toBe('/ws/from-factory-class');
      const factory = booted.moduleRef.get(RealtimeConfigService, { strict: false });
      expect(factory.calls).toBe(1);
      await booted.close();
    });

    it('reuses the instance an imported module provides with useExisting', async () => {
      const booted = await boot({
        imports: [
          RealtimeConfigModule,
          RealtimeModule.forRootAsync({
            imports: [RealtimeConfigModule],
            useExisting: RealtimeConfigService,
          }),
        ],
      });

      expect(booted.options.auth.secret).toBe(OTHER_SECRET);
      expect(booted.options.paths.rooms).toBe('/ws/from-factory-class');
      // The host's own instance was asked, not a second one built by RealtimeModule.
      const hostFactory = booted.moduleRef.select(RealtimeConfigModule).get(RealtimeConfigService);
      expect(hostFactory.calls).toBe(1);
      await booted.close();
    });
  });

  describe('isGlobal', () => {
    it('forRoot({ isGlobal: true }) lets a feature module that does not import RealtimeModule inject RealtimeApi', async () => {
      const booted = await boot({
        imports: [RealtimeModule.forRoot({ ...MINIMAL, isGlobal: true }), FeatureModule],
      });

      const notifier = booted.moduleRef.get(FeatureNotifier, { strict: false });
      expect(notifier.api).toBe(booted.moduleRef.get(RealtimeApi));
      // The extra shapes the module; it is not an option of the library.
      expect(booted.options).not.toHaveProperty('isGlobal');
      await booted.close();
    });

    it('forRootAsync({ isGlobal: true }) lets a feature module that does not import RealtimeModule inject RealtimeApi', async () => {
      const booted = await boot({
        imports: [RealtimeModule.forRootAsync({ isGlobal: true, useFactory: () => MINIMAL }), FeatureModule],
      });

      const notifier = booted.moduleRef.get(FeatureNotifier, { strict: false });
      expect(notifier.api).toBe(booted.moduleRef.get(RealtimeApi));
      await booted.close();
    });

    it('forRoot without isGlobal: the feature module cannot resolve RealtimeApi', async () => {
      await expect(
        Test.createTestingModule({ imports: [RealtimeModule.forRoot(MINIMAL), FeatureModule] }).compile(),
      ).rejects.toThrow(/FeatureNotifier[\s\S]*RealtimeApi/);
    });

    it('forRootAsync without isGlobal: the feature module cannot resolve RealtimeApi', async () => {
      await expect(
        Test.createTestingModule({
          imports: [RealtimeModule.forRootAsync({ useFactory: () => MINIMAL }), FeatureModule],
        }).compile(),
      ).rejects.toThrow(/FeatureNotifier[\s\S]*RealtimeApi/);
    });
  });

  describe('gateways', () => {
    function hasEventsGateway(moduleRef: TestingModule): boolean {
      try {
        return moduleRef.get(EventsGateway, { strict: false }) instanceof EventsGateway;
      } catch {
        return false;
      }
    }

    it('mounts the events gateway by default', async () => {
      const booted = await boot({ imports: [RealtimeModule.forRoot(MINIMAL)] });

      expect(hasEventsGateway(booted.moduleRef)).toBe(true);
      await booted.close();
    });

    it('forRoot({ gateways: { events: false } }) leaves the events gateway out', async () => {
      const booted = await boot({
        imports: [RealtimeModule.forRoot({ ...MINIMAL, gateways: { events: false } })],
      });

      expect(() => booted.moduleRef.get(EventsGateway, { strict: false })).toThrow();
      // The services stay: the host can still push events through its own transport.
      expect(booted.moduleRef.get(RealtimeApi)).toBeInstanceOf(RealtimeApi);
      await booted.close();
    });

    it('forRootAsync({ gateways: { events: false } }) leaves the events gateway out', async () => {
      const booted = await boot({
        imports: [RealtimeModule.forRootAsync({ gateways: { events: false }, useFactory: () => MINIMAL })],
      });

      expect(() => booted.moduleRef.get(EventsGateway, { strict: false })).toThrow();
      await booted.close();
    });

    it('forRootAsync mounts the events gateway by default', async () => {
      const booted = await boot({ imports: [RealtimeModule.forRootAsync({ useFactory: () => MINIMAL })] });

      expect(hasEventsGateway(booted.moduleRef)).toBe(true);
      await booted.close();
    });
  });

  describe('invalid options', () => {
    // The resolved options are built by a provider factory, so a bad option stops compile(),
    // before any gateway or database connection is opened.
    async function compileRefusal(metadata: ModuleMetadata): Promise<RealtimeOptionsError> {
      try {
        await Test.createTestingModule(metadata).compile();
      } catch (error) {
        if (error instanceof RealtimeOptionsError) return error;
        throw error;
      }
      throw new Error('compile() accepted invalid options');
    }

    it('refuses a short auth.secret at compile, naming the option', async () => {
      const error = await compileRefusal({
        imports: [RealtimeModule.forRoot({ database: DATABASE, auth: { secret: 'short' } })],
      });

      expect(error.option).toBe('auth.secret');
      expect(error.message).toContain('auth.secret');
    });

    it('refuses a negative limits.maxPayloadBytes at compile, naming the option', async () => {
      const error = await compileRefusal({
        imports: [RealtimeModule.forRoot({ ...MINIMAL, limits: { maxPayloadBytes: -1 } })],
      });

      expect(error.option).toBe('limits.maxPayloadBytes');
      expect(error.message).toContain('limits.maxPayloadBytes');
    });

    it('refuses invalid options returned by a forRootAsync factory the same way', async () => {
      const error = await compileRefusal({
        imports: [
          RealtimeModule.forRootAsync({
            useFactory: async (): Promise<RealtimeModuleOptions> =>
              Promise.resolve({ ...MINIMAL, paths: { rooms: 'no-leading-slash' } }),
          }),
        ],
      });

      expect(error.option).toBe('paths.rooms');
      expect(error.message).toContain('paths.rooms');
    });
  });

  describe('isolation', () => {
    it('two apps in one process share neither options nor connection state', async () => {
      const first = await boot({ imports: [RealtimeModule.forRoot(MINIMAL)] });
      const second = await boot({
        imports: [
          RealtimeModule.forRoot({ ...MINIMAL, auth: { secret: OTHER_SECRET }, paths: { rooms: '/ws/two' } }),
        ],
      });

      const firstRegistry = first.moduleRef.get(ConnectionRegistry);
      const secondRegistry = second.moduleRef.get(ConnectionRegistry);
      expect(firstRegistry).not.toBe(secondRegistry);
      expect(first.moduleRef.get(RealtimeApi)).not.toBe(second.moduleRef.get(RealtimeApi));

      firstRegistry.add('c1', 'ws', identity('u1'));
      expect(firstRegistry.isOnline('u1')).toBe(true);
      expect(secondRegistry.size).toBe(0);
      expect(secondRegistry.isOnline('u1')).toBe(false);

      expect(first.options).not.toBe(second.options);
      expect(first.options.auth.secret).toBe(SECRET);
      expect(second.options.auth.secret).toBe(OTHER_SECRET);
      expect(first.options.paths.rooms).toBe('/ws/chat');
      expect(second.options.paths.rooms).toBe('/ws/two');

      firstRegistry.remove('c1');
      await first.close();
      await second.close();
    });
  });
});
