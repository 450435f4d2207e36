// The lifecycle with a scripted transport and fake timers: backoff between refused attempts, giving
// up, reconnection callbacks, the token provider on AUTH_FAILED, the queue around the sync.
import { ConnectionLifecycle, type TransportDriver } from './connection-lifecycle';
import { resolveConnectionOptions, type ConnectionOptions } from './connection.options';
import type { ConnectionState, StateChange } from './connection-state';
import { RealtimeClientError } from './realtime-client.error';
import { tokenExpiringIn } from './unsigned-token.helper-spec';

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
  const changes: StateChange[] = [];
  lifecycle.onStateChange((change) => {
    states.push(change.to);
    changes.push(change);
  });
  /** The transport opens and the server accepts the token. */
  const accept = async () => {
    lifecycle.transportOpened();
    lifecycle.transportAuthenticated();
    await jest.advanceTimersByTimeAsync(0);
  };
  return { driver, lifecycle, states, changes, synchronize, connectionLost, accept };
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

describe('ConnectionLifecycle: refused first connection, ERROR before RECONNECTING, final failures', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** The ERROR changes, as [final, error code]. */
  const errors = (changes: StateChange[]) =>
    changes.filter(({ to }) => to === 'ERROR').map(({ final, error }) => [final, error?.code]);

  it('retryFirstConnection false: a refused first connection ends in a final ERROR, SERVER_UNREACHABLE "Serveur inaccessible"', async () => {
    const { lifecycle, driver, states, changes } = setup({ retryFirstConnection: false });
    const started = lifecycle.start().catch((error: unknown) => error);
    lifecycle.transportLost('closed 1006');
    const error = (await started) as RealtimeClientError;
    expect(error).toBeInstanceOf(RealtimeClientError);
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.message).toBe('Serveur inaccessible');
    expect(error.details).toMatchObject({ reason: 'closed 1006' });
    expect(states).toEqual(['CONNECTING', 'ERROR']);
    expect(changes.at(-1)).toMatchObject({ to: 'ERROR', final: true, error });
    expect(lifecycle.state).toBe('ERROR');
    expect(driver.opened).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
    expect(() => lifecycle.submit({ run: jest.fn(), fail: jest.fn() })).toThrow(
      expect.objectContaining({ code: 'SERVER_UNREACHABLE' }) as Error,
    );
  });

  it('retryFirstConnection false: no answer before connectTimeoutMs is a server unreachable as well', async () => {
    const { lifecycle, driver } = setup({ retryFirstConnection: false, connectTimeoutMs: 500 });
    const started = lifecycle.start().catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(500);
    expect(await started).toMatchObject({ code: 'SERVER_UNREACHABLE', message: 'Serveur inaccessible' });
    expect(driver.opened).toHaveLength(1);
  });

  it('retryFirstConnection false: a first connection lost after the transport opened is not retried either', async () => {
    const { lifecycle, driver } = setup({ retryFirstConnection: false });
    const started = lifecycle.start();
    lifecycle.transportOpened();
    lifecycle.transportLost('closed 1011');
    await expect(started).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    expect(lifecycle.state).toBe('ERROR');
    expect(driver.opened).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('retryFirstConnection false: connect() again after the failure tries once more, a drop after ACTIVE is still retried', async () => {
    const { lifecycle, driver, accept, changes } = setup({ retryFirstConnection: false });
    await expect(
      (async () => {
        const started = lifecycle.start();
        lifecycle.transportLost('refused');
        await started;
      })(),
    ).rejects.toMatchObject({ code: 'SERVER_UNREACHABLE' });
    const again = lifecycle.start();
    expect(driver.opened).toHaveLength(2);
    await accept();
    await again;
    lifecycle.transportLost('closed 1006');
    expect(lifecycle.state).toBe('RECONNECTING');
    expect(errors(changes)).toEqual([
      [true, 'SERVER_UNREACHABLE'],
      [false, 'CONNECTION_LOST'],
    ]);
    await jest.advanceTimersByTimeAsync(100);
    expect(driver.opened).toHaveLength(3);
    lifecycle.stop();
  });

  it('retryFirstConnection true (default): a refused first connection passes through ERROR (not final) and is retried', async () => {
    const { lifecycle, driver, states, changes } = setup();
    const outcome = lifecycle.start().then(
      () => 'connected',
      () => 'rejected',
    );
    lifecycle.transportLost('closed 1006');
    expect(states).toEqual(['CONNECTING', 'ERROR', 'RECONNECTING']);
    expect(errors(changes)).toEqual([[false, 'CONNECTION_LOST']]);
    await jest.advanceTimersByTimeAsync(100);
    expect(driver.opened).toHaveLength(2);
    lifecycle.stop();
    expect(await outcome).toBe('rejected');
  });

  it('a drop after ACTIVE goes ERROR (final: false, CONNECTION_LOST) then RECONNECTING, in that order', async () => {
    const { lifecycle, accept, changes } = setup();
    const started = lifecycle.start();
    await accept();
    await started;
    changes.length = 0;
    lifecycle.transportLost('closed 1001');
    expect(changes.map(({ from, to, final }) => [from, to, final])).toEqual([
      ['ACTIVE', 'ERROR', false],
      ['ERROR', 'RECONNECTING', false],
    ]);
    expect(changes[0]).toMatchObject({ reason: 'closed 1001', error: { code: 'CONNECTION_LOST' } });
    await jest.advanceTimersByTimeAsync(100);
    await accept();
    expect(lifecycle.state).toBe('ACTIVE');
  });

  it('a passing ERROR neither rejects whenActive() nor refuses sends made by its listeners', async () => {
    const { lifecycle, accept } = setup();
    void lifecycle.start().catch(() => undefined);
    const before = lifecycle.whenActive();
    lifecycle.transportLost('refused');
    await jest.advanceTimersByTimeAsync(100);
    await accept();
    await expect(before).resolves.toBeUndefined();
    const run = jest.fn();
    let duringError: Promise<void> | undefined;
    lifecycle.onStateChange(({ to, final }) => {
      if (to !== 'ERROR' || final) return;
      duringError = lifecycle.whenActive();
      lifecycle.submit({ run, fail: jest.fn() });
    });
    lifecycle.transportLost('closed 1006');
    expect(lifecycle.queuedSends).toBe(1);
    await jest.advanceTimersByTimeAsync(100);
    await accept();
    await expect(duringError).resolves.toBeUndefined();
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('a listener that closes the client during a passing ERROR stops it there: CLOSED, no retry', async () => {
    const { lifecycle, accept, states } = setup();
    void lifecycle.start().catch(() => undefined);
    await accept();
    lifecycle.onStateChange(({ to }) => {
      if (to === 'ERROR') lifecycle.stop();
    });
    lifecycle.transportLost('closed 1006');
    expect(states.slice(-2)).toEqual(['ERROR', 'CLOSED']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('giving up is a final ERROR whose change carries the error connect() rejects with', async () => {
    const { lifecycle, changes } = setup({ reconnection: { maxReconnectAttempts: 1, reconnectDelay: 100 } });
    const started = lifecycle.start().catch((error: unknown) => error);
    lifecycle.transportLost('refused');
    await jest.advanceTimersByTimeAsync(100);
    lifecycle.transportLost('refused');
    const error = await started;
    expect(errors(changes)).toEqual([
      [false, 'CONNECTION_LOST'],
      [true, 'NOT_CONNECTED'],
    ]);
    expect(changes.at(-1)?.error).toBe(error);
    expect(changes.filter(({ to }) => to !== 'ERROR').every(({ final }) => final === false)).toBe(true);
  });

  it('AUTH_FAILED without a provider is a final ERROR; close() is a final CLOSED', async () => {
    const { lifecycle, changes } = setup();
    void lifecycle.start().catch(() => undefined);
    lifecycle.transportOpened();
    lifecycle.transportAuthFailed('Invalid token');
    expect(changes.at(-1)).toMatchObject({ to: 'ERROR', final: true, error: { code: 'AUTH_FAILED' } });
    lifecycle.stop();
    expect(changes.at(-1)).toMatchObject({ to: 'CLOSED', final: true });
  });

  it('a token refused mid-session (provider given) goes ACTIVE → ERROR (not final) → RECONNECTING', async () => {
    const { lifecycle, accept, changes } = setup({ tokenProvider: async () => 'token-2' });
    void lifecycle.start().catch(() => undefined);
    await accept();
    changes.length = 0;
    lifecycle.transportAuthFailed('Token expired');
    expect(changes.map(({ to, final }) => [to, final])).toEqual([
      ['ERROR', false],
      ['RECONNECTING', false],
    ]);
    await jest.advanceTimersByTimeAsync(0);
    await accept();
    expect(lifecycle.state).toBe('ACTIVE');
    expect(lifecycle.currentToken).toBe('token-2');
  });
});

describe('ConnectionLifecycle: the token refreshed on the open connection before it expires', () => {
  const NOW = 1_700_000_000_000;
  beforeEach(() => jest.useFakeTimers({ now: NOW }));
  afterEach(() => jest.useRealTimers());

  /** An unsigned JWT whose `exp` is `seconds` from now (the client reads claims, never verifies). */
  const jwtExpiringIn = (seconds: number, sub = 'u-1') => tokenExpiringIn(seconds, sub);

  function refreshing(options: Partial<ConnectionOptions> = {}) {
    const driver = new ScriptedDriver();
    const refreshSession = jest.fn(async (_token: string): Promise<void> => undefined);
    const lifecycle = new ConnectionLifecycle<void>(
      driver,
      resolveConnectionOptions({
        url: 'http://127.0.0.1:3000',
        random: () => 0,
        reconnection: { reconnectDelay: 100, jitter: 0 },
        ...options,
      }),
      { synchronize: async () => undefined, connectionLost: jest.fn(), refreshSession },
    );
    const changes: StateChange[] = [];
    lifecycle.onStateChange((change) => changes.push(change));
    const accept = async () => {
      lifecycle.transportOpened();
      lifecycle.transportAuthenticated();
      await jest.advanceTimersByTimeAsync(0);
    };
    return { driver, lifecycle, refreshSession, changes, accept };
  }

  it('sends a fresh token from the provider at 80 % of the lifetime, then again for the next token, staying ACTIVE', async () => {
    const lifetimes = [10, 20, 30];
    const provider = jest.fn(() => jwtExpiringIn(lifetimes.shift() ?? 60));
    const { lifecycle, refreshSession, accept, changes } = refreshing({ tokenProvider: provider });
    void lifecycle.start();
    await jest.advanceTimersByTimeAsync(0);
    await accept();
    changes.length = 0;
    const first = lifecycle.currentToken;

    await jest.advanceTimersByTimeAsync(7_999);
    expect(refreshSession).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(refreshSession).toHaveBeenCalledTimes(1);
    const second = refreshSession.mock.calls[0]?.[0];
    expect(second).not.toBe(first);
    expect(lifecycle.currentToken).toBe(second);

    // The second token lives 20 s from when it came: its refresh is 16 s later.
    await jest.advanceTimersByTimeAsync(15_999);
    expect(refreshSession).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(refreshSession).toHaveBeenCalledTimes(2);
    expect(changes).toEqual([]);
    expect(lifecycle.state).toBe('ACTIVE');
    lifecycle.stop();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('reconnects with the fresh token when the server refuses the refresh', async () => {
    const tokens = [jwtExpiringIn(10), jwtExpiringIn(60, 'u-2')];
    const { lifecycle, driver, refreshSession, accept, changes } = refreshing({
      tokenProvider: () => tokens.shift() ?? 'none left',
    });
    refreshSession.mockRejectedValueOnce(new RealtimeClientError('AUTH_FAILED', 'Token is for another user'));
    void lifecycle.start();
    await jest.advanceTimersByTimeAsync(0);
    await accept();
    changes.length = 0;
    await jest.advanceTimersByTimeAsync(8_000);
    const fresh = refreshSession.mock.calls[0]?.[0];
    expect(changes.map(({ to, final }) => [to, final])).toEqual([
      ['ERROR', false],
      ['RECONNECTING', false],
      ['CONNECTING', false],
    ]);
    expect(changes[0]?.reason).toBe(
      'token refresh refused (Token is for another user); reconnecting with the fresh token',
    );
    expect(driver.opened.at(-1)).toBe(fresh);
    await accept();
    expect(lifecycle.state).toBe('ACTIVE');
    lifecycle.stop();
  });

  it('keeps the connection when the provider fails; the expiry then goes through the usual AUTH_FAILED path', async () => {
    const provider = jest.fn<string, []>(() => jwtExpiringIn(10));
    const { lifecycle, refreshSession, accept, changes } = refreshing({ tokenProvider: provider });
    void lifecycle.start();
    await jest.advanceTimersByTimeAsync(0);
    await accept();
    provider.mockImplementationOnce(() => {
      throw new Error('identity provider down');
    });
    changes.length = 0;
    await jest.advanceTimersByTimeAsync(8_000);
    expect(provider).toHaveBeenCalledTimes(2);
    expect(refreshSession).not.toHaveBeenCalled();
    expect(changes).toEqual([]);
    lifecycle.transportAuthFailed('Token expired');
    await jest.advanceTimersByTimeAsync(0);
    expect(provider).toHaveBeenCalledTimes(3);
    expect(lifecycle.state).toBe('CONNECTING');
    lifecycle.stop();
  });

  it('forgets a refresh scheduled for a connection that dropped, and schedules one for the next connection', async () => {
    const { lifecycle, refreshSession, accept } = refreshing({
      tokenProvider: () => jwtExpiringIn(10),
    });
    void lifecycle.start();
    await jest.advanceTimersByTimeAsync(0);
    await accept();
    await jest.advanceTimersByTimeAsync(5_000);
    lifecycle.transportLost('closed 1006');
    await jest.advanceTimersByTimeAsync(100);
    await accept(); // the same token, 5.1 s old: its refresh is due at 8 s of its life
    await jest.advanceTimersByTimeAsync(2_899);
    expect(refreshSession).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(refreshSession).toHaveBeenCalledTimes(1);
    lifecycle.stop();
  });

  it('drops the answer of a refresh whose connection dropped meanwhile, and reconnects with the fresh token', async () => {
    const tokens = [jwtExpiringIn(10), jwtExpiringIn(60)];
    const { lifecycle, driver, refreshSession, accept } = refreshing({
      tokenProvider: () => tokens.shift() ?? 'none left',
    });
    let answer: (() => void) | undefined;
    refreshSession.mockImplementationOnce(() => new Promise<void>((resolve) => (answer = resolve)));
    void lifecycle.start();
    await jest.advanceTimersByTimeAsync(0);
    await accept();
    await jest.advanceTimersByTimeAsync(8_000);
    const fresh = refreshSession.mock.calls[0]?.[0];
    lifecycle.transportLost('closed 1006');
    answer?.();
    await jest.advanceTimersByTimeAsync(100);
    expect(driver.opened.at(-1)).toBe(fresh);
    expect(lifecycle.state).toBe('CONNECTING');
    lifecycle.stop();
  });

  it('refreshes nothing with tokenRefresh false, without a provider, or for a token without exp', async () => {
    for (const options of [
      { tokenProvider: () => jwtExpiringIn(10), tokenRefresh: false as const },
      { token: jwtExpiringIn(10) },
      { tokenProvider: () => 'not-a-jwt' },
    ]) {
      const { lifecycle, refreshSession, accept } = refreshing(options);
      void lifecycle.start();
      await jest.advanceTimersByTimeAsync(0);
      await accept();
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(refreshSession).not.toHaveBeenCalled();
      lifecycle.stop();
    }
  });

  it('waits in steps for a refresh beyond the longest timer (a token of a year) instead of firing at once', async () => {
    const { lifecycle, refreshSession, accept } = refreshing({
      tokenProvider: () => jwtExpiringIn(365 * 24 * 3600),
    });
    void lifecycle.start();
    await jest.advanceTimersByTimeAsync(0);
    await accept();
    await jest.advanceTimersByTimeAsync(30 * 24 * 3600 * 1000);
    expect(refreshSession).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(1);
    lifecycle.stop();
  });
});
