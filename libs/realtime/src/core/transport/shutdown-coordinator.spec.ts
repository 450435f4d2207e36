// The order of a graceful shutdown, step by step, with fake timers: refuse from the first moment, wait
// for the frames admitted before and the owed writes (within limits.shutdownGraceMs), then close.
import { Logger } from '@nestjs/common';
import { RealtimeErrorCode } from '../../protocol';
import { resolveRealtimeOptions } from '../../realtime.options';
import { ShutdownCoordinator, shuttingDownError } from './shutdown-coordinator';

const SECRET = 'shutdown-coordinator-spec-secret-0123456789';

function coordinator(shutdownGraceMs?: number): ShutdownCoordinator {
  return new ShutdownCoordinator(
    resolveRealtimeOptions({ auth: { secret: SECRET }, limits: { shutdownGraceMs } }),
  );
}

/** A promise with its resolve function, to settle a step when the test says so. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('ShutdownCoordinator', () => {
  let warned: jest.SpyInstance;
  let failed: jest.SpyInstance;
  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    failed = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('refuses at once, waits for the frames admitted before and the owed writes, then closes', async () => {
    const shutdown = coordinator();
    const steps: string[] = [];
    const write = deferred();
    shutdown.oweWrites(async () => {
      steps.push('owed writes start');
      await write.promise;
      steps.push('owed writes done');
    });
    shutdown.closeOnShutdown(async () => {
      steps.push(`close raw ws (${shutdown.phase})`);
    });
    shutdown.closeOnShutdown(async () => {
      steps.push(`close socket.io (${shutdown.phase})`);
    });
    expect(shutdown.admit()).toBe(true);
    expect(shutdown.admit()).toBe(true);

    const closing = shutdown.onModuleDestroy();
    void shutdown.whenClosed().then(() => steps.push('closed'));
    expect(shutdown.draining).toBe(true);
    expect(shutdown.phase).toBe('draining');
    // A frame received from now on is refused (not counted, not handled).
    expect(shutdown.admit()).toBe(false);

    await jest.advanceTimersByTimeAsync(1000);
    shutdown.settled();
    await jest.advanceTimersByTimeAsync(1000);
    expect(steps).toEqual([]);
    shutdown.settled();
    await jest.advanceTimersByTimeAsync(0);
    expect(steps).toEqual(['owed writes start']);
    write.resolve();
    await closing;
    expect(steps).toEqual([
      'owed writes start',
      'owed writes done',
      'close raw ws (closing)',
      'close socket.io (closing)',
      'closed',
    ]);
    expect(shutdown.phase).toBe('closed');
  });

  it('closes the connections anyway once limits.shutdownGraceMs has passed', async () => {
    const shutdown = coordinator(3000);
    const closed = jest.fn(async () => undefined);
    shutdown.closeOnShutdown(closed);
    expect(shutdown.admit()).toBe(true); // never settles

    const closing = shutdown.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(2999);
    expect(closed).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    await closing;
    expect(closed).toHaveBeenCalledTimes(1);
    expect(shutdown.phase).toBe('closed');
    expect(warned).toHaveBeenCalledWith(
      'Shutting down: 1 frame(s) still handled, or writes still owed, after limits.shutdownGraceMs ' +
        '(3000 ms); closing the connections anyway',
    );
  });

  it('closes at once when nothing is in flight, and runs once when called twice', async () => {
    const shutdown = coordinator();
    const closed = jest.fn(async () => undefined);
    shutdown.closeOnShutdown(closed);
    await Promise.all([shutdown.onModuleDestroy(), shutdown.onModuleDestroy()]);
    expect(closed).toHaveBeenCalledTimes(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('runs once when the host calls shutdown() before app.close(): onModuleDestroy waits for the same run', async () => {
    const shutdown = coordinator();
    const closed = jest.fn(async () => undefined);
    shutdown.closeOnShutdown(closed);
    expect(shutdown.admit()).toBe(true);
    const early = shutdown.shutdown();
    expect(shutdown.draining).toBe(true);
    let destroyed = false;
    const destroy = shutdown.onModuleDestroy().then(() => (destroyed = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(destroyed).toBe(false);
    shutdown.settled();
    await Promise.all([early, destroy]);
    expect(closed).toHaveBeenCalledTimes(1);
  });

  it('does not write what was owed once the grace has run out (the database may be closing)', async () => {
    const shutdown = coordinator(1000);
    const owed = jest.fn(async () => undefined);
    shutdown.oweWrites(owed);
    expect(shutdown.admit()).toBe(true);
    const closing = shutdown.shutdown();
    await jest.advanceTimersByTimeAsync(1000);
    await closing;
    shutdown.settled();
    await jest.advanceTimersByTimeAsync(0);
    expect(owed).not.toHaveBeenCalled();
  });

  it('goes on closing when one transport fails to, and says so', async () => {
    const shutdown = coordinator();
    const second = jest.fn(async () => undefined);
    shutdown.closeOnShutdown(() => Promise.reject(new Error('boom')));
    shutdown.closeOnShutdown(second);
    await shutdown.onModuleDestroy();
    expect(second).toHaveBeenCalledTimes(1);
    expect(shutdown.phase).toBe('closed');
    expect(failed).toHaveBeenCalledWith(
      'Closing connections at shutdown failed',
      expect.stringContaining('boom'),
    );
  });

  it('tells a refused request SHUTTING_DOWN', () => {
    expect(shuttingDownError().toPayload()).toEqual({
      code: RealtimeErrorCode.SHUTTING_DOWN,
      message: 'Server shutting down: not carried out, send it again once reconnected',
      details: {},
    });
  });
});
