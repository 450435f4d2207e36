// AdminEvents: connection changes coalesced over statsThrottleMs into one rt_global_stats_updated with
// real figures, nothing sent when the figures did not change, and no timer left after shutdown.
import { Logger } from '@nestjs/common';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { ConnectionRegistry } from '../core/connection-registry.service';
import { DeploymentPresence } from '../core/scale-out/deployment-presence.service';
import { SocketIoServerRef } from '../core/transport/socket-io-server.ref';
import type { GlobalStats } from '../protocol';
import { resolveRealtimeOptions, type ResolvedRealtimeOptions } from '../realtime.options';
import type { UserDirectory } from '../storage/user-directory.interface';
import { AdminEvents } from './admin-events.service';
import { EventsManager } from './events-manager.service';

const THROTTLE_MS = 1000;

function identity(userId: string): RealtimeIdentity {
  return { userId, username: userId, roles: [], isAdmin: false, appId: null, page: null, expiresAt: null };
}

/** The only directory call AdminEvents makes; the other methods must not be reached. */
function fakeDirectory(count: () => Promise<number>): UserDirectory {
  const unused = (): never => {
    throw new Error('not used by AdminEvents');
  };
  return {
    count,
    register: unused,
    findById: unused,
    findByUsername: unused,
    markSeen: unused,
    recentlySeen: unused,
  };
}

/** The one-node presence over a registry, listening to it (as after the app's bootstrap). */
function presenceOf(registry: ConnectionRegistry, options: ResolvedRealtimeOptions): DeploymentPresence {
  const presence = new DeploymentPresence(registry, null, options);
  void presence.onApplicationBootstrap();
  return presence;
}

describe('AdminEvents', () => {
  let registry: ConnectionRegistry;
  let events: EventsManager;
  let emitToLocalAdmins: jest.SpyInstance<void, Parameters<EventsManager['emitToLocalAdmins']>>;
  let count: jest.Mock<Promise<number>, []>;
  let admin: AdminEvents;

  beforeEach(() => {
    jest.useFakeTimers();
    registry = new ConnectionRegistry();
    events = new EventsManager(new SocketIoServerRef());
    emitToLocalAdmins = jest.spyOn(events, 'emitToLocalAdmins').mockImplementation(() => undefined);
    count = jest.fn<Promise<number>, []>().mockResolvedValue(5);
    const options = resolveRealtimeOptions({
      auth: { secret: 'a-test-secret-of-32-characters!!' },
      events: { statsThrottleMs: THROTTLE_MS },
    });
    admin = new AdminEvents(events, presenceOf(registry, options), fakeDirectory(count), options);
    admin.onApplicationBootstrap();
  });

  afterEach(() => {
    admin.beforeApplicationShutdown();
    registry.onModuleDestroy();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** Three connections of two users, opened within one throttle window. */
  function connectThree(): void {
    registry.add('c1', 'socket.io', identity('u1'));
    registry.add('c2', 'ws', identity('u1'));
    registry.add('c3', 'socket.io', identity('u2'));
  }

  const THREE_CONNECTIONS: GlobalStats = {
    totalUsers: 5,
    activeUsers: 2,
    connections: 3,
    connectionsByTransport: { socketIo: 2, ws: 1 },
  };

  it('coalesces quick connection changes into one update with the real figures', async () => {
    connectThree();

    await jest.advanceTimersByTimeAsync(THROTTLE_MS - 1);
    expect(emitToLocalAdmins).not.toHaveBeenCalled();

    await jest.advanceTimersByTimeAsync(1);
    expect(emitToLocalAdmins).toHaveBeenCalledTimes(1);
    expect(emitToLocalAdmins).toHaveBeenCalledWith('rt_global_stats_updated', { stats: THREE_CONNECTIONS });
    expect(count).toHaveBeenCalledTimes(1);
  });

  it('sends nothing when the figures did not change', async () => {
    connectThree();
    await jest.advanceTimersByTimeAsync(THROTTLE_MS);
    expect(emitToLocalAdmins).toHaveBeenCalledTimes(1);

    registry.add('c4', 'ws', identity('u3'));
    registry.remove('c4');
    await jest.advanceTimersByTimeAsync(THROTTLE_MS * 3);

    expect(count).toHaveBeenCalledTimes(2);
    expect(emitToLocalAdmins).toHaveBeenCalledTimes(1);
  });

  it('sends the new figures after a change', async () => {
    connectThree();
    await jest.advanceTimersByTimeAsync(THROTTLE_MS);

    registry.remove('c3');
    await jest.advanceTimersByTimeAsync(THROTTLE_MS);

    expect(emitToLocalAdmins).toHaveBeenCalledTimes(2);
    expect(emitToLocalAdmins).toHaveBeenLastCalledWith('rt_global_stats_updated', {
      stats: {
        totalUsers: 5,
        activeUsers: 1,
        connections: 2,
        connectionsByTransport: { socketIo: 1, ws: 1 },
      },
    });
  });

  it('sends a change of the user total alone', async () => {
    connectThree();
    await jest.advanceTimersByTimeAsync(THROTTLE_MS);

    count.mockResolvedValue(6);
    admin.scheduleStatsUpdate();
    await jest.advanceTimersByTimeAsync(THROTTLE_MS);

    expect(emitToLocalAdmins).toHaveBeenCalledTimes(2);
    expect(emitToLocalAdmins).toHaveBeenLastCalledWith('rt_global_stats_updated', {
      stats: { ...THREE_CONNECTIONS, totalUsers: 6 },
    });
  });

  it('does not listen to the registry before bootstrap', async () => {
    const otherRegistry = new ConnectionRegistry();
    const otherOptions = resolveRealtimeOptions({ auth: { secret: 'a-test-secret-of-32-characters!!' } });
    const notBootstrapped = new AdminEvents(
      events,
      presenceOf(otherRegistry, otherOptions),
      fakeDirectory(count),
      otherOptions,
    );
    otherRegistry.add('c1', 'ws', identity('u1'));
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(THROTTLE_MS * 2);
    expect(emitToLocalAdmins).not.toHaveBeenCalled();
    notBootstrapped.beforeApplicationShutdown();
  });

  it('clears the pending timer on shutdown and sends nothing after', async () => {
    connectThree();
    expect(jest.getTimerCount()).toBe(1);

    admin.beforeApplicationShutdown();
    expect(jest.getTimerCount()).toBe(0);

    registry.add('c4', 'ws', identity('u3'));
    await jest.advanceTimersByTimeAsync(THROTTLE_MS * 5);
    expect(jest.getTimerCount()).toBe(0);
    expect(count).not.toHaveBeenCalled();
    expect(emitToLocalAdmins).not.toHaveBeenCalled();
  });

  it('sends nothing after shutdown even when a computation was already running', async () => {
    let resolveCount: (total: number) => void = () => undefined;
    count.mockImplementationOnce(
      () =>
        new Promise<number>((resolve) => {
          resolveCount = resolve;
        }),
    );
    connectThree();
    await jest.advanceTimersByTimeAsync(THROTTLE_MS);
    expect(count).toHaveBeenCalledTimes(1);

    admin.beforeApplicationShutdown();
    resolveCount(5);
    await jest.advanceTimersByTimeAsync(THROTTLE_MS);

    expect(emitToLocalAdmins).not.toHaveBeenCalled();
  });

  it('logs a failing user count and sends nothing, then recovers', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    count.mockRejectedValueOnce(new Error('database down'));

    connectThree();
    await jest.advanceTimersByTimeAsync(THROTTLE_MS);
    expect(error).toHaveBeenCalledWith(
      'Could not compute global stats',
      expect.stringContaining('database down'),
    );
    expect(emitToLocalAdmins).not.toHaveBeenCalled();

    admin.scheduleStatsUpdate();
    await jest.advanceTimersByTimeAsync(THROTTLE_MS);
    expect(emitToLocalAdmins).toHaveBeenCalledWith('rt_global_stats_updated', { stats: THREE_CONNECTIONS });
  });

  it('reports the figures on demand', async () => {
    connectThree();
    await expect(admin.getStats()).resolves.toEqual(THREE_CONNECTIONS);
  });
});
