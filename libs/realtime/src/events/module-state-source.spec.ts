// The host's ModuleStateSource: what the library accepts from it, how ModuleEvents seeds its dedupe cache
// at bootstrap and answers rt_sync with it, and how a host registers it (a global module) or gets told
// at boot that the library cannot see it.
import {
  Global,
  Injectable,
  Logger,
  Module,
  type INestApplication,
  type ModuleMetadata,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SocketIoServerRef } from '../core/transport/socket-io-server.ref';
import {
  MODULE_STATE_SOURCE,
  RealtimeAdapter,
  RealtimeApi,
  RealtimeModule,
  RealtimeSetupError,
  resolveRealtimeOptions,
  type ModuleStateSnapshot,
  type ModuleStateSource,
  type RealtimeIdentity,
} from '../index';
import { EventsGateway } from './events.gateway';
import { EventsManager } from './events-manager.service';
import { ModuleEvents } from './module-events.service';
import { toModuleStateSnapshots } from './module-state-source';

const SECRET = 'a-test-secret-of-32-characters!!';

const STORED: ModuleStateSnapshot[] = [
  {
    moduleId: 'm1',
    status: 'online',
    definition: { name: 'Pump', type: 'pump' },
    telemetry: { temp: 21, fan: { rpm: 900 } },
  },
  { moduleId: 'm2', status: 'offline', definition: { name: 'Fan', type: 'fan' } },
];

/** A source over a list the test controls; counts its calls. */
class ListSource implements ModuleStateSource {
  calls = 0;

  constructor(public states: unknown[] | Error = structuredClone(STORED)) {}

  currentStates(): Promise<ModuleStateSnapshot[]> {
    this.calls += 1;
    if (this.states instanceof Error) return Promise.reject(this.states);
    return Promise.resolve(structuredClone(this.states) as ModuleStateSnapshot[]);
  }
}

function moduleEvents(source?: ModuleStateSource): ModuleEvents {
  return new ModuleEvents(
    new EventsManager(new SocketIoServerRef()),
    resolveRealtimeOptions({ auth: { secret: SECRET } }),
    source,
  );
}

describe('toModuleStateSnapshots', () => {
  it('keeps the wire fields only, and leaves null aspects out', () => {
    const rows = [
      {
        moduleId: 'm1',
        status: 'offline',
        definition: { name: 'Pump', type: 'pump', color: 'red' },
        telemetry: null,
        userId: 'u1',
        createdAt: new Date(),
      },
    ];
    expect(toModuleStateSnapshots(rows)).toEqual([
      { moduleId: 'm1', status: 'offline', definition: { name: 'Pump', type: 'pump' } },
    ]);
  });

  it.each([
    ['not an array', { moduleId: 'm1' }, 'must resolve to an array'],
    ['an entry without moduleId', [{ status: 'online' }], '[0]: moduleId must be a non-empty string'],
    ['an unknown status', [STORED[0], { moduleId: 'm2', status: 'up' }], '[1]: status must be'],
    [
      'a definition without a type',
      [{ moduleId: 'm1', definition: { name: 'x' } }],
      '[0]: definition must be',
    ],
    [
      'telemetry that is an array',
      [{ moduleId: 'm1', telemetry: [1, 2] }],
      '[0]: telemetry must be an object',
    ],
  ])('rejects %s, naming the entry', (_name, answer, message) => {
    expect(() => toModuleStateSnapshots(answer)).toThrow(message);
  });
});

describe('ModuleEvents with a ModuleStateSource', () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    // No Socket.IO server is attached: each event sent logs that it reached nobody.
    jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('seeds the dedupe cache at bootstrap: an update to the stored state sends nothing', async () => {
    const modules = moduleEvents(new ListSource());
    await modules.onApplicationBootstrap();

    expect(modules.emitModuleUpdated({ moduleId: 'm2', name: 'Fan', type: 'fan' })).toBe(false);
    expect(modules.emitTelemetryUpdated('m1', { fan: { rpm: 900 }, temp: 21 })).toBe(false);
    expect(modules.emitModuleOnline('m1')).toBe(false);
    expect(modules.emitModuleOffline('m2')).toBe(false);

    expect(modules.emitModuleUpdated({ moduleId: 'm2', name: 'Big fan', type: 'fan' })).toBe(true);
    expect(modules.emitTelemetryUpdated('m1', { temp: 22, fan: { rpm: 900 } })).toBe(true);
    expect(modules.emitModuleOnline('m2')).toBe(true);
  });

  it('sends the first change as new when there is no source (the state before a restart is unknown)', async () => {
    const modules = moduleEvents();
    await modules.onApplicationBootstrap();
    expect(modules.emitModuleUpdated({ moduleId: 'm2', name: 'Fan', type: 'fan' })).toBe(true);
  });

  it('serves the source’s modules on rt_sync, asking it each time', async () => {
    const source = new ListSource();
    const modules = moduleEvents(source);
    await modules.onApplicationBootstrap();

    expect(await modules.currentStates()).toEqual(STORED);
    source.states = [STORED[1]];
    expect(await modules.currentStates()).toEqual([STORED[1]]);
    expect(source.calls).toBe(3);
  });

  it('fills the aspects the source leaves out from the last state sent, the source winning otherwise', async () => {
    const source = new ListSource([{ moduleId: 'm1', definition: { name: 'Pump', type: 'pump' } }]);
    const modules = moduleEvents(source);
    await modules.onApplicationBootstrap();
    modules.emitModuleOnline('m1');
    modules.emitModuleUpdated({ moduleId: 'm1', name: 'Old name', type: 'pump' });
    // Known to the cache only: a module the source does not list is not served.
    modules.emitModuleOnline('ghost');

    expect(await modules.currentStates()).toEqual([
      { moduleId: 'm1', status: 'online', definition: { name: 'Pump', type: 'pump' } },
    ]);
  });

  it('keeps booting when the source fails at bootstrap, logging why', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const modules = moduleEvents(new ListSource(new Error('database is down')));

    await expect(modules.onApplicationBootstrap()).resolves.toBeUndefined();

    expect(error).toHaveBeenCalledWith(
      expect.stringContaining('Could not read the ModuleStateSource at bootstrap'),
      expect.stringContaining('database is down'),
    );
    expect(modules.emitModuleUpdated({ moduleId: 'm2', name: 'Fan', type: 'fan' })).toBe(true);
  });

  it('stops the boot on a malformed answer (a host bug)', async () => {
    const modules = moduleEvents(new ListSource([{ moduleId: 'm1', status: 'up' }]));
    await expect(modules.onApplicationBootstrap()).rejects.toThrow('[0]: status must be');
  });

  it('rejects rt_sync when the source fails, rather than answer "no modules"', async () => {
    const source = new ListSource();
    const modules = moduleEvents(source);
    await modules.onApplicationBootstrap();
    source.states = new Error('database is down');
    await expect(modules.currentStates()).rejects.toThrow('database is down');
  });

  it('serves the cache’s snapshot when there is no source', async () => {
    const modules = moduleEvents();
    modules.emitModuleOnline('m1');
    expect(await modules.currentStates()).toEqual([{ moduleId: 'm1', status: 'online' }]);
  });
});

describe('Registering a ModuleStateSource in a host', () => {
  const apps: INestApplication[] = [];

  @Injectable()
  class HostModuleStates extends ListSource {
    constructor() {
      super();
    }
  }

  /** The documented way: a global module of the host provides and exports the token. */
  @Global()
  @Module({
    providers: [{ provide: MODULE_STATE_SOURCE, useClass: HostModuleStates }],
    exports: [MODULE_STATE_SOURCE],
  })
  class GlobalStatesModule {}

  /** The other way: a module of the host that exports the token, listed in forRootAsync's imports. */
  @Module({
    providers: [{ provide: MODULE_STATE_SOURCE, useClass: HostModuleStates }],
    exports: [MODULE_STATE_SOURCE],
  })
  class ExportedStatesModule {}

  /** The mistake: the same provider in a module RealtimeModule cannot see. */
  @Module({ providers: [{ provide: MODULE_STATE_SOURCE, useClass: HostModuleStates }] })
  class HiddenStatesModule {}

  async function boot(metadata: ModuleMetadata): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule(metadata).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new RealtimeAdapter(app));
    apps.push(app);
    await app.init();
    return app;
  }

  const realtime = () =>
    RealtimeModule.forRoot({ database: { type: 'sqlite', path: ':memory:' }, auth: { secret: SECRET } });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('is used from a global module: rt_sync answers the stored modules and the cache is seeded', async () => {
    const app = await boot({ imports: [realtime(), GlobalStatesModule] });
    const admin: RealtimeIdentity = {
      userId: 'a1',
      username: 'root',
      roles: ['admin'],
      isAdmin: true,
      appId: null,
      page: 'modules',
      expiresAt: null,
    };

    const state = await app.get(EventsGateway).sync(admin);

    expect(state.modules).toEqual(STORED);
    expect(app.get(RealtimeApi).emitModuleUpdated({ moduleId: 'm1', name: 'Pump', type: 'pump' })).toBe(
      false,
    );
  });

  it('is used from a non-global module listed in forRootAsync({ imports }) that exports it', async () => {
    const app = await boot({
      imports: [
        RealtimeModule.forRootAsync({
          imports: [ExportedStatesModule],
          useFactory: () => ({ database: { type: 'sqlite', path: ':memory:' }, auth: { secret: SECRET } }),
        }),
      ],
    });

    // The cache was seeded from the source: an update to the stored state sends nothing.
    expect(app.get(RealtimeApi).emitModuleUpdated({ moduleId: 'm1', name: 'Pump', type: 'pump' })).toBe(
      false,
    );
  });

  it('stops the boot, naming the module and the fix, when the source sits in a non-global module', async () => {
    const booting = boot({ imports: [realtime(), HiddenStatesModule] });

    await expect(booting).rejects.toThrow(RealtimeSetupError);
    await expect(booting).rejects.toThrow(/in HiddenStatesModule, which RealtimeModule cannot see/);
    await expect(booting).rejects.toThrow('@Global() @Module({ providers: [{ provide: MODULE_STATE_SOURCE');
  });

  it('boots without a source', async () => {
    const app = await boot({ imports: [realtime()] });
    expect(app.get(RealtimeApi).emitModuleUpdated({ moduleId: 'm1', name: 'Pump', type: 'pump' })).toBe(true);
  });
});
