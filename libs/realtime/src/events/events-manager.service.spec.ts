// EventsManager targeting (everyone, admins, a page, a user, a union of them) over a fake Socket.IO
// server, and ModuleEvents on top of it: seed 002 payloads, change dedupe, the modules page and admins.
import { Logger } from '@nestjs/common';
import type { Server } from 'socket.io';
import { SocketIoServerRef } from '../core/transport/socket-io-server.ref';
import { resolveRealtimeOptions } from '../realtime.options';
import { EventsManager } from './events-manager.service';
import { ModuleEvents } from './module-events.service';

/** One packet the fake server was asked to send: rooms null means everyone. */
interface SentPacket {
  rooms: string[] | null;
  event: string;
  data: unknown;
}

/** The two Socket.IO calls EventsManager uses, recording every emission. */
class FakeIoServer {
  readonly sent: SentPacket[] = [];

  emit(event: string, data: unknown): boolean {
    this.sent.push({ rooms: null, event, data });
    return true;
  }

  to(rooms: string | string[]): { emit: (event: string, data: unknown) => boolean } {
    return {
      emit: (event, data) => {
        this.sent.push({ rooms: Array.isArray(rooms) ? [...rooms] : [rooms], event, data });
        return true;
      },
    };
  }
}

function managerWithFakeServer(): { manager: EventsManager; server: FakeIoServer } {
  const server = new FakeIoServer();
  const ref = new SocketIoServerRef();
  ref.attach(server as unknown as Server);
  return { manager: new EventsManager(ref), server };
}

describe('EventsManager', () => {
  let manager: EventsManager;
  let server: FakeIoServer;

  beforeEach(() => {
    ({ manager, server } = managerWithFakeServer());
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('broadcasts to everyone with server.emit', () => {
    manager.broadcast('maintenance', { at: '22:00' });
    expect(server.sent).toEqual([{ rooms: null, event: 'maintenance', data: { at: '22:00' } }]);
  });

  it('sends admin events to the admins room', () => {
    const stats = {
      totalUsers: 1,
      activeUsers: 1,
      connections: 1,
      connectionsByTransport: { socketIo: 1, ws: 0 },
    };
    manager.emitToAdmins('rt_global_stats_updated', { stats });
    expect(server.sent).toEqual([
      { rooms: ['rt:admins'], event: 'rt_global_stats_updated', data: { stats } },
    ]);
  });

  it('sends page events to the room of the page', () => {
    manager.emitToPage('dashboard', 'refresh', { widget: 'cpu' });
    expect(server.sent).toEqual([
      { rooms: ['rt:page:dashboard'], event: 'refresh', data: { widget: 'cpu' } },
    ]);
  });

  it('sends user events to the room of the user', () => {
    manager.emitToUser('42', 'rt_user_profile_updated', { id: '42', name: 'Ann', email: null });
    expect(server.sent).toEqual([
      {
        rooms: ['rt:user:42'],
        event: 'rt_user_profile_updated',
        data: { id: '42', name: 'Ann', email: null },
      },
    ]);
  });

  it('sends to the union of the targets in one emission', () => {
    manager.emitToTargets({ pages: ['modules', 'map'], users: ['7'], admins: true }, 'ping', { n: 1 });
    expect(server.sent).toHaveLength(1);
    expect(server.sent[0]).toEqual({
      rooms: ['rt:page:modules', 'rt:page:map', 'rt:user:7', 'rt:admins'],
      event: 'ping',
      data: { n: 1 },
    });
  });

  it('sends nothing when the targets are empty', () => {
    manager.emitToTargets({ pages: [], users: [] }, 'ping', { n: 1 });
    manager.emitToTargets({ admins: false }, 'ping', { n: 2 });
    expect(server.sent).toEqual([]);
    expect(manager.emittedCount).toBe(0);
  });

  it('counts each call once, whatever the number of rooms', () => {
    manager.broadcast('a', 1);
    manager.emitToTargets({ pages: ['p1', 'p2'], admins: true }, 'b', 2);
    expect(manager.emittedCount).toBe(2);
  });

  it('does not throw before a Socket.IO server is attached', () => {
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    const detached = new EventsManager(new SocketIoServerRef());
    expect(() => {
      detached.broadcast('a', 1);
      detached.emitToAdmins('b', 2);
      detached.emitToPage('p', 'c', 3);
      detached.emitToUser('u', 'd', 4);
      detached.emitToTargets({ pages: ['p'], admins: true }, 'e', 5);
    }).not.toThrow();
    expect(detached.emittedCount).toBe(5);
    expect(debug).toHaveBeenCalledWith('No Socket.IO server: "a" reached nobody');
  });
});

describe('ModuleEvents', () => {
  const MODULE_ROOMS = ['rt:page:modules', 'rt:admins'];
  let server: FakeIoServer;
  let modules: ModuleEvents;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const created = managerWithFakeServer();
    server = created.server;
    modules = new ModuleEvents(
      created.manager,
      resolveRealtimeOptions({ auth: { secret: 'a-test-secret-of-32-characters!!' } }),
    );
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  describe('online / offline', () => {
    it('sends rt_module_online once for two calls, returning true then false', () => {
      expect(modules.emitModuleOnline('m1', { lastSeen: '2025-01-01T00:00:00.000Z' })).toBe(true);
      expect(modules.emitModuleOnline('m1', { lastSeen: '2025-01-01T00:00:05.000Z' })).toBe(false);
      expect(server.sent).toEqual([
        {
          rooms: MODULE_ROOMS,
          event: 'rt_module_online',
          data: { moduleId: 'm1', lastSeen: '2025-01-01T00:00:00.000Z' },
        },
      ]);
    });

    it('passes extra fields through and stamps lastSeen when absent', () => {
      jest.useFakeTimers({ now: new Date('2025-03-04T05:06:07.089Z') });
      modules.emitModuleOnline('m1', { firmware: '1.2.3' });
      expect(server.sent).toEqual([
        {
          rooms: MODULE_ROOMS,
          event: 'rt_module_online',
          data: { firmware: '1.2.3', moduleId: 'm1', lastSeen: '2025-03-04T05:06:07.089Z' },
        },
      ]);
    });

    it('does not let extra fields override moduleId', () => {
      modules.emitModuleOnline('m1', { moduleId: 'spoofed', lastSeen: 't' });
      expect(server.sent[0]?.data).toEqual({ moduleId: 'm1', lastSeen: 't' });
    });

    it('sends rt_module_offline { moduleId, disconnectedAt } once per transition', () => {
      modules.emitModuleOnline('m1', { lastSeen: 't0' });
      expect(modules.emitModuleOffline('m1', '2025-01-01T00:01:00.000Z')).toBe(true);
      expect(modules.emitModuleOffline('m1', '2025-01-01T00:02:00.000Z')).toBe(false);
      expect(modules.emitModuleOnline('m1', { lastSeen: 't1' })).toBe(true);

      expect(server.sent.map((p) => p.event)).toEqual([
        'rt_module_online',
        'rt_module_offline',
        'rt_module_online',
      ]);
      expect(server.sent[1]).toEqual({
        rooms: MODULE_ROOMS,
        event: 'rt_module_offline',
        data: { moduleId: 'm1', disconnectedAt: '2025-01-01T00:01:00.000Z' },
      });
    });

    it('keeps the status of each module apart', () => {
      expect(modules.emitModuleOnline('m1')).toBe(true);
      expect(modules.emitModuleOnline('m2')).toBe(true);
      expect(server.sent).toHaveLength(2);
    });
  });

  describe('telemetry', () => {
    it('sends rt_telemetry_updated { moduleId, telemetry }', () => {
      expect(modules.emitTelemetryUpdated('m1', { temp: 21, fan: { rpm: 900 } })).toBe(true);
      expect(server.sent).toEqual([
        {
          rooms: MODULE_ROOMS,
          event: 'rt_telemetry_updated',
          data: { moduleId: 'm1', telemetry: { temp: 21, fan: { rpm: 900 } } },
        },
      ]);
    });

    it('suppresses the same telemetry with its keys reordered', () => {
      modules.emitTelemetryUpdated('m1', { temp: 21, fan: { rpm: 900, on: true } });
      expect(modules.emitTelemetryUpdated('m1', { fan: { on: true, rpm: 900 }, temp: 21 })).toBe(false);
      expect(server.sent).toHaveLength(1);
    });

    it('sends changed telemetry', () => {
      modules.emitTelemetryUpdated('m1', { temp: 21, fan: { rpm: 900 } });
      expect(modules.emitTelemetryUpdated('m1', { temp: 21, fan: { rpm: 950 } })).toBe(true);
      expect(server.sent).toHaveLength(2);
      expect(server.sent[1]?.data).toEqual({ moduleId: 'm1', telemetry: { temp: 21, fan: { rpm: 950 } } });
    });

    it('does not let a status change hide a telemetry change, nor the reverse', () => {
      modules.emitModuleOnline('m1', { lastSeen: 't' });
      expect(modules.emitTelemetryUpdated('m1', { temp: 1 })).toBe(true);
      expect(modules.emitModuleOnline('m1', { lastSeen: 't' })).toBe(false);
      expect(modules.emitTelemetryUpdated('m1', { temp: 1 })).toBe(false);
    });
  });

  describe('definition', () => {
    it('always sends rt_module_added { moduleId, name, type, userId }', () => {
      expect(modules.emitModuleAdded('u1', { moduleId: 'm1', name: 'Pump', type: 'pump' })).toBe(true);
      expect(modules.emitModuleAdded('u1', { moduleId: 'm1', name: 'Pump', type: 'pump' })).toBe(true);
      expect(server.sent).toHaveLength(2);
      expect(server.sent[0]).toEqual({
        rooms: MODULE_ROOMS,
        event: 'rt_module_added',
        data: { moduleId: 'm1', name: 'Pump', type: 'pump', userId: 'u1' },
      });
    });

    it('sends rt_module_updated { moduleId, name, type } only when name or type changed', () => {
      modules.emitModuleAdded('u1', { moduleId: 'm1', name: 'Pump', type: 'pump' });
      expect(modules.emitModuleUpdated({ moduleId: 'm1', name: 'Pump', type: 'pump' })).toBe(false);
      expect(modules.emitModuleUpdated({ moduleId: 'm1', name: 'Main pump', type: 'pump' })).toBe(true);

      expect(server.sent.map((p) => p.event)).toEqual(['rt_module_added', 'rt_module_updated']);
      expect(server.sent[1]).toEqual({
        rooms: MODULE_ROOMS,
        event: 'rt_module_updated',
        data: { moduleId: 'm1', name: 'Main pump', type: 'pump' },
      });
    });

    it('sends rt_module_removed { moduleId, userId } and forgets the state', () => {
      modules.emitModuleOnline('m1', { lastSeen: 't0' });
      modules.emitTelemetryUpdated('m1', { temp: 21 });
      expect(modules.emitModuleRemoved('u1', 'm1')).toBe(true);
      expect(server.sent[2]).toEqual({
        rooms: MODULE_ROOMS,
        event: 'rt_module_removed',
        data: { moduleId: 'm1', userId: 'u1' },
      });
      expect(modules.snapshot()).toEqual([]);

      expect(modules.emitModuleOnline('m1', { lastSeen: 't1' })).toBe(true);
      expect(modules.emitTelemetryUpdated('m1', { temp: 21 })).toBe(true);
      expect(server.sent.map((p) => p.event)).toEqual([
        'rt_module_online',
        'rt_telemetry_updated',
        'rt_module_removed',
        'rt_module_online',
        'rt_telemetry_updated',
      ]);
    });
  });

  it('sends module events to the configured modules page and the admins', () => {
    const created = managerWithFakeServer();
    const custom = new ModuleEvents(
      created.manager,
      resolveRealtimeOptions({
        auth: { secret: 'a-test-secret-of-32-characters!!' },
        events: { modulesPage: 'fleet' },
      }),
    );
    custom.emitModuleOffline('m1', 't');
    expect(created.server.sent[0]?.rooms).toEqual(['rt:page:fleet', 'rt:admins']);
  });

  it('serves the last known state of every module in its snapshot', () => {
    modules.emitModuleAdded('u1', { moduleId: 'm1', name: 'Pump', type: 'pump' });
    modules.emitModuleOnline('m1', { lastSeen: 't' });
    modules.emitTelemetryUpdated('m1', { temp: 21 });
    expect(modules.snapshot()).toEqual([
      {
        moduleId: 'm1',
        status: 'online',
        definition: { name: 'Pump', type: 'pump' },
        telemetry: { temp: 21 },
      },
    ]);
  });
});
