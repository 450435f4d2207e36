// Heartbeat with fake timers: a ping per interval, a missing pong means a dead connection.
import { Heartbeat } from './heartbeat';

describe('Heartbeat', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('pings every interval and stays alive while pongs come back', () => {
    const ping = jest.fn();
    const dead = jest.fn();
    const heartbeat = new Heartbeat({ intervalMs: 30000, timeoutMs: 10000 }, ping, dead);
    heartbeat.start();
    jest.advanceTimersByTime(29999);
    expect(ping).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    for (let beat = 1; beat <= 3; beat++) {
      expect(ping).toHaveBeenCalledTimes(beat);
      // The pong comes back 5 s after each ping; the next ping is due 25 s later.
      jest.advanceTimersByTime(5000);
      heartbeat.pongReceived();
      jest.advanceTimersByTime(25000);
    }
    expect(dead).not.toHaveBeenCalled();
    expect(heartbeat.running).toBe(true);
  });

  it('declares the connection dead once when a pong is missing past the timeout, and stops', () => {
    const ping = jest.fn();
    const dead = jest.fn();
    const heartbeat = new Heartbeat({ intervalMs: 30000, timeoutMs: 10000 }, ping, dead);
    heartbeat.start();
    jest.advanceTimersByTime(30000 + 9999);
    expect(dead).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(dead).toHaveBeenCalledTimes(1);
    expect(heartbeat.running).toBe(false);
    jest.advanceTimersByTime(120000);
    expect(dead).toHaveBeenCalledTimes(1);
    expect(ping).toHaveBeenCalledTimes(1);
  });

  it('clears every timer on stop', () => {
    const heartbeat = new Heartbeat({ intervalMs: 1000, timeoutMs: 500 }, jest.fn(), jest.fn());
    heartbeat.start();
    jest.advanceTimersByTime(1000);
    expect(jest.getTimerCount()).toBe(2);
    heartbeat.stop();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('skips a beat while the connection is not open instead of writing to it (which throws)', () => {
    let open = false;
    const ping = jest.fn(() => {
      if (!open) throw new Error('WebSocket is not open');
    });
    const dead = jest.fn();
    const heartbeat = new Heartbeat({ intervalMs: 1000, timeoutMs: 500 }, ping, dead, () => open);
    heartbeat.start();
    expect(() => jest.advanceTimersByTime(3000)).not.toThrow();
    expect(ping).not.toHaveBeenCalled();
    expect(dead).not.toHaveBeenCalled();
    open = true;
    jest.advanceTimersByTime(1000);
    expect(ping).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(500);
    expect(dead).toHaveBeenCalledTimes(1);
  });
});
