// The reconnection manager with fake timers: delays between attempts, the attempt budget, reset, cancel.
import { DEFAULT_RECONNECTION } from './connection.options';
import { ReconnectionManager } from './reconnection-manager';

describe('ReconnectionManager', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('waits reconnectDelay × 2^n (capped) before each attempt, then gives up after maxReconnectAttempts', () => {
    const manager = new ReconnectionManager(
      {
        ...DEFAULT_RECONNECTION,
        reconnectDelay: 1000,
        maxReconnectDelay: 3000,
        maxReconnectAttempts: 4,
        jitter: 0,
      },
      () => 0.99,
    );
    const attempt = jest.fn();
    const delays: Array<number | undefined> = [];
    for (let i = 0; i < 5; i++) {
      delays.push(manager.schedule(attempt));
      if (!manager.pending) break;
      jest.advanceTimersByTime((delays.at(-1) ?? 0) - 1);
      expect(attempt).toHaveBeenCalledTimes(i);
      jest.advanceTimersByTime(1);
      expect(attempt).toHaveBeenCalledTimes(i + 1);
    }
    expect(delays).toEqual([1000, 2000, 3000, 3000, undefined]);
    expect(manager.failedAttempts).toBe(4);
  });

  it("waits at least the server's retry_after_ms when it is longer than the backoff delay", () => {
    const manager = new ReconnectionManager({
      ...DEFAULT_RECONNECTION,
      reconnectDelay: 50,
      maxReconnectDelay: 200,
      jitter: 0,
    });
    const attempt = jest.fn();
    expect(manager.schedule(attempt, 740.2)).toBe(741);
    jest.advanceTimersByTime(740);
    expect(attempt).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(attempt).toHaveBeenCalledTimes(1);
    // A shorter wait than the backoff's does not shorten it; the count of attempts goes on.
    expect(manager.schedule(attempt, 10)).toBe(100);
    expect(manager.failedAttempts).toBe(2);
    // A wait past setTimeout's range (which would fire at once) is cut to its longest delay.
    expect(manager.schedule(attempt, 1e12)).toBe(2_147_483_647);
    jest.advanceTimersByTime(1000);
    expect(attempt).toHaveBeenCalledTimes(1);
    manager.cancel();
  });

  it('starts from the first delay again after reset', () => {
    const manager = new ReconnectionManager({ ...DEFAULT_RECONNECTION, jitter: 0 });
    manager.schedule(jest.fn());
    manager.schedule(jest.fn());
    manager.reset();
    expect(manager.schedule(jest.fn())).toBe(DEFAULT_RECONNECTION.reconnectDelay);
    manager.cancel();
  });

  it('never schedules with autoReconnect off', () => {
    const manager = new ReconnectionManager({ ...DEFAULT_RECONNECTION, autoReconnect: false });
    expect(manager.schedule(jest.fn())).toBeUndefined();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('cancel() drops the scheduled attempt', () => {
    const manager = new ReconnectionManager({ ...DEFAULT_RECONNECTION, jitter: 0 });
    const attempt = jest.fn();
    manager.schedule(attempt);
    manager.cancel();
    jest.advanceTimersByTime(60_000);
    expect(attempt).not.toHaveBeenCalled();
    expect(manager.pending).toBe(false);
  });
});
