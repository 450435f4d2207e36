// The lifecycle with a scripted transport and fake timers: backoff between refused attempts, giving
// up, reconnection callbacks, the token provider on AUTH_FAILED, the queue around the sync.
import { ConnectionLifecycle, type TransportDriver } from './connection-lifecycle';
import { resolveConnectionOptions, type ConnectionOptions } from './connection.options';
import type { ConnectionState } from './connection-state';
import { RealtimeClientError } from './realtime-client.error';

class ScriptedDriver implements TransportDriver {
  readonly opened: Array<string | undefined> = [];
  closes = 0;
  open(token: string | undefined): void {
    this.opened.push(token);
  }
  close(): void {
    this.closes += 1;
  }
}

interface Report {
  resync: boolean;
}

function setup(options: Partial<ConnectionOptions> = {}) {
  const driver = new ScriptedDriver();
  const synchronize = jest.fn(async (resync: boolean): Promise<Report> => ({ resync }));
  const connectionLost = jest.fn();
  const lifecycle = new ConnectionLifecycle<Report>(
    driver,
    resolveConnectionOptions({
      url: 'http://127.0.0.1:3000',
      token: 'token-1',
      random: () => 0,
      reconnection: { reconnectDelay: 100, maxReconnectDelay: 1000, maxReconnectAttempts: 3, jitter: 0.5 },
      ...options,
    }),
    { synchronize, connectionLost },
  );
  const states: ConnectionState[] = [];
  lifecycle.onStateChange(({ to }) => states.push(to));
  /** The transport opens and the server accepts the token. */
  const accept = async () => {
    lifecycle.transportOpened();
    lifecycle.transportAuthenticated();
    await jest.advanceTimersByTimeAsync(0);
  };
  return { driver, lifecycle, states, synchronize, connectionLost, accept };
}

describe('ConnectionLifecycle', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('goes CONNECTING → AUTHENTICATING → CONNECTED → ACTIVE, synchronising before ACTIVE', async () => {
    const { lifecycle, states, synchronize, driver, accept } = setup();
    const started = lifecycle.start();
    expect(driver.opened).toEqual(['token-1']);
    await accept();
    await started;
    expect(states).toEqual(['CONNECTING', 'AUTHENTICATING', 'CONNECTED', 'ACTIVE']);
    expect(synchronize).toHaveBeenCalledWith(false);
  });

  it('retries a refused connection after 100, 200, 400 ms, then gives up (ERROR) past maxReconnectAttempts', async () => {
    const { lifecycle, driver, states } = setup();
    const started = lifecycle.start();
    const outcome = started.then(
      () => 'connected',
      (error: RealtimeClientError) => error.code,
    );
    for (const delay of [100, 200, 400]) {
      const before = driver.opened.length;
      lifecycle.transportLost('closed 1006');
      expect(lifecycle.state).toBe('RECONNECTING');
      await jest.advanceTimersByTimeAsync(delay - 1);
      expect(driver.opened).toHaveLength(before);
      await jest.advanceTimersByTimeAsync(1);
      expect(driver.opened).toHaveLength(before + 1);
    }
    lifecycle.transportLost('closed 1006');
    expect(lifecycle.state).toBe('ERROR');
    expect(await outcome).toBe('NOT_CONNECTED');
    expect(states.filter((s) => s === 'RECONNECTING')).toHaveLength(3);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('applies the jitter: with random() = 0.5 and jitter 0.5 the first retry waits 75 ms', async () => {
    const { lifecycle, driver } = setup({ random: () => 0.5 });
    void lifecycle.start().catch(() => undefined);
    lifecycle.transportLost('refused');
    await jest.advanceTimersByTimeAsync(74);
    expect(driver.opened).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(driver.opened).toHaveLength(2);
    lifecycle.stop();
  });

  it('after a drop: onDisconnect, RECONNECTING, then onReconnect and onSyncComplete with a resync report', async () => {
    const { lifecycle, synchronize, accept } = setup();
    const started = lifecycle.start();
    await accept();
    await started;
    const calls: string[] = [];
    lifecycle.onDisconnect((reason) => calls.push(`disconnect:${reason}`));
    lifecycle.onReconnect(() => calls.push('reconnect'));
    lifecycle.onSyncComplete((report) => calls.push(`sync:${report.resync}`));

    lifecycle.transportLost('closed 1001');
    expect(lifecycle.state).toBe('RECONNECTING');
    await jest.advanceTimersByTimeAsync(100);
    expect(lifecycle.state).toBe('CONNECTING');
    await accept();
    expect(lifecycle.state).toBe('ACTIVE');
    expect(synchronize).toHaveBeenLastCalledWith(true);
    expect(calls).toEqual(['disconnect:closed 1001', 'reconnect', 'sync:true']);
  });

  it('resets the attempt count after a successful connection', async () => {
    const { lifecycle, accept, driver } = setup({
      reconnection: { reconnectDelay: 100, maxReconnectDelay: 1000, maxReconnectAttempts: 1, jitter: 0 },
    });
    void lifecycle.start().catch(() => undefined);
    lifecycle.transportLost('refused');
    await jest.advanceTimersByTimeAsync(100);
    await accept();
    lifecycle.transportLost('dropped');
    expect(lifecycle.state).toBe('RECONNECTING');
    await jest.advanceTimersByTimeAsync(100);
    expect(driver.opened).toHaveLength(3);
  });

  it('with syncOnReconnect false, synchronises without catch-up and reports no sync', async () => {
    const { lifecycle, synchronize, accept } = setup({
      reconnection: { reconnectDelay: 100, syncOnReconnect: false },
    });
    const syncs = jest.fn();
    lifecycle.onSyncComplete(syncs);
    void lifecycle.start().catch(() => undefined);
    await accept();
    lifecycle.transportLost('dropped');
    await jest.advanceTimersByTimeAsync(100);
    await accept();
    expect(synchronize.mock.calls).toEqual([[false], [false]]);
    expect(syncs).not.toHaveBeenCalled();
  });

  it('AUTH_FAILED without a token provider: ERROR with code AUTH_FAILED, no retry scheduled', async () => {
    const { lifecycle, driver } = setup();
    const started = lifecycle.start();
    lifecycle.transportOpened();
    lifecycle.transportAuthFailed('Invalid token');
    await expect(started).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(lifecycle.state).toBe('ERROR');
    expect(jest.getTimerCount()).toBe(0);
    expect(driver.opened).toHaveLength(1);
  });

  it('AUTH_FAILED with a token provider: reconnects at once with the fresh token', async () => {
    const provider = jest.fn(async () => 'token-2');
    const { lifecycle, driver, accept } = setup({ tokenProvider: provider });
    const started = lifecycle.start();
    lifecycle.transportOpened();
    lifecycle.transportAuthFailed('Token expired');
    await jest.advanceTimersByTimeAsync(0);
    expect(driver.opened).toEqual(['token-1', 'token-2']);
    await accept();
    await started;
    expect(provider).toHaveBeenCalledTimes(1);
    expect(lifecycle.currentToken).toBe('token-2');
  });

  it('AUTH_FAILED when the provider gives back the refused token: ERROR', async () => {
    const { lifecycle, driver } = setup({ tokenProvider: () => 'token-1' });
    const started = lifecycle.start();
    lifecycle.transportAuthFailed('Token expired');
    await expect(started).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(driver.opened).toHaveLength(1);
  });

  it('asks the provider for the first token when none is given', async () => {
    const { lifecycle, driver } = setup({ token: undefined, tokenProvider: async () => 'from-provider' });
    void lifecycle.start().catch(() => undefined);
    await jest.advanceTimersByTimeAsync(0);
    expect(driver.opened).toEqual(['from-provider']);
    lifecycle.stop();
  });

  it('counts a connection the server never accepts (connectTimeoutMs) as a failed attempt', async () => {
    const { lifecycle } = setup({ connectTimeoutMs: 500 });
    void lifecycle.start().catch(() => undefined);
    lifecycle.transportOpened();
    await jest.advanceTimersByTimeAsync(500);
    expect(lifecycle.state).toBe('RECONNECTING');
    lifecycle.stop();
  });

  it('queues sends until the sync is done, runs them in order before announcing ACTIVE, refuses past the bound', async () => {
    const { lifecycle, accept, synchronize } = setup({ maxQueueSize: 2 });
    void lifecycle.start().catch(() => undefined);
    const ran: string[] = [];
    synchronize.mockImplementationOnce(async (resync) => {
      ran.push('sync');
      return { resync };
    });
    lifecycle.onStateChange(({ to }) => {
      if (to === 'ACTIVE') ran.push('ACTIVE');
    });
    lifecycle.submit({ run: () => ran.push(`a@${lifecycle.state}`), fail: jest.fn() });
    lifecycle.submit({ run: () => ran.push(`b@${lifecycle.state}`), fail: jest.fn() });
    expect(() => lifecycle.submit({ run: jest.fn(), fail: jest.fn() })).toThrow(
      expect.objectContaining({ code: 'QUEUE_FULL' }) as Error,
    );
    expect(lifecycle.queuedSends).toBe(2);
    await accept();
    expect(ran).toEqual(['sync', 'a@CONNECTED', 'b@CONNECTED', 'ACTIVE']);
    lifecycle.submit({ run: () => ran.push(`c@${lifecycle.state}`), fail: jest.fn() });
    expect(ran.at(-1)).toBe('c@ACTIVE');
  });

  it('fails the queued sends with NOT_CONNECTED when giving up, and refuses new ones', async () => {
    const { lifecycle } = setup({ reconnection: { maxReconnectAttempts: 0 } });
    const started = lifecycle.start().catch((error: RealtimeClientError) => error);
    const fail = jest.fn();
    lifecycle.submit({ run: jest.fn(), fail });
    lifecycle.transportLost('refused');
    expect(fail).toHaveBeenCalledWith(expect.objectContaining({ code: 'NOT_CONNECTED' }));
    expect(() => lifecycle.submit({ run: jest.fn(), fail: jest.fn() })).toThrow(RealtimeClientError);
    expect(await started).toBeInstanceOf(RealtimeClientError);
  });

  it('stop() closes the transport, goes CLOSED, and ignores later transport reports', async () => {
    const { lifecycle, driver, accept } = setup();
    void lifecycle.start().catch(() => undefined);
    await accept();
    lifecycle.stop();
    expect(lifecycle.state).toBe('CLOSED');
    expect(driver.closes).toBeGreaterThan(0);
    lifecycle.transportLost('closed 1000');
    expect(lifecycle.state).toBe('CLOSED');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('drops the connection and retries when the synchronisation fails', async () => {
    const { lifecycle, synchronize, accept } = setup();
    synchronize.mockRejectedValueOnce(new Error('history timed out'));
    void lifecycle.start().catch(() => undefined);
    await accept();
    expect(lifecycle.state).toBe('RECONNECTING');
    await jest.advanceTimersByTimeAsync(100);
    await accept();
    expect(lifecycle.state).toBe('ACTIVE');
  });
});
