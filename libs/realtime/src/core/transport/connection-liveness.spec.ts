// ConnectionLiveness with fake timers: heartbeat misses, the idle timeout (off by default), token
// expiry on time for listeners (a refreshed token's), and every timer cleared when the transports stop
// or the app shuts down.
import { Logger } from '@nestjs/common';
import type { RealtimeIdentity } from '../auth/realtime-identity';
import { resolveRealtimeOptions, type RealtimeLimitOptions } from '../../realtime.options';
import { ConnectionLiveness, type LivenessEnding, type LivenessTransport } from './connection-liveness';

interface FakeConnection {
  name: string;
  open: boolean;
  identity: RealtimeIdentity | null;
  lastInboundAt: number;
  missed: number;
  pings: number;
  ended: LivenessEnding | null;
  dropped: boolean;
}

function identity(expiresAt: number | null): RealtimeIdentity {
  return { userId: 'u1', username: 'u1', roles: [], isAdmin: false, appId: null, page: null, expiresAt };
}

function liveness(limits: RealtimeLimitOptions): ConnectionLiveness {
  return new ConnectionLiveness(resolveRealtimeOptions({ auth: { secret: 'x'.repeat(32) }, limits }));
}

/** A transport over fake connections; `withHeartbeat` for one whose pings the library sends. */
function fakeTransport(withHeartbeat: boolean) {
  const connections = new Set<FakeConnection>();
  const transport: LivenessTransport<FakeConnection> = {
    connections: () => [...connections].filter((c) => c.open),
    isOpen: (c) => c.open,
    identityOf: (c) => c.identity,
    lastInboundAt: (c) => c.lastInboundAt,
    end: (c, ending) => {
      c.ended = ending;
      c.open = false;
    },
    heartbeat: withHeartbeat
      ? {
          missed: (c) => c.missed,
          ping: (c) => {
            c.missed += 1;
            c.pings += 1;
          },
          drop: (c) => {
            c.dropped = true;
            c.open = false;
          },
        }
      : undefined,
  };
  const connect = (name: string, expiresAt: number | null = null): FakeConnection => {
    const connection: FakeConnection = {
      name,
      open: true,
      identity: identity(expiresAt),
      lastInboundAt: Date.now(),
      missed: 0,
      pings: 0,
      ended: null,
      dropped: false,
    };
    connections.add(connection);
    return connection;
  };
  return { transport, connect };
}

describe('ConnectionLiveness', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('with the default idleTimeoutMs (0), never closes a peer that answers heartbeats, however long it only listens', () => {
    const rule = liveness({ heartbeatIntervalMs: 1000 });
    const raw = fakeTransport(true);
    const io = fakeTransport(false);
    rule.watch(raw.transport);
    rule.watch(io.transport);
    const listener = raw.connect('raw listener');
    const ioListener = io.connect('io listener');
    for (let beat = 0; beat < 60 * 11; beat++) {
      jest.advanceTimersByTime(1000);
      listener.missed = 0; // the pong
    }
    expect(listener).toMatchObject({ open: true, ended: null, dropped: false, pings: 660 });
    expect(ioListener).toMatchObject({ open: true, ended: null });
    rule.beforeApplicationShutdown();
  });

  it('drops a peer at the sweep that finds two pings unanswered', () => {
    const rule = liveness({ heartbeatIntervalMs: 1000 });
    const raw = fakeTransport(true);
    rule.watch(raw.transport);
    const dead = raw.connect('dead');
    jest.advanceTimersByTime(2000);
    expect(dead).toMatchObject({ pings: 2, dropped: false });
    jest.advanceTimersByTime(1000);
    expect(dead).toMatchObject({ dropped: true, ended: null });
    rule.beforeApplicationShutdown();
  });

  it('closes a connection that sent no application frame for idleTimeoutMs, on every transport alike', () => {
    const rule = liveness({ heartbeatIntervalMs: 100, idleTimeoutMs: 500 });
    const raw = fakeTransport(true);
    const io = fakeTransport(false);
    rule.watch(raw.transport);
    rule.watch(io.transport);
    const rawListener = raw.connect('raw listener');
    const ioListener = io.connect('io listener');
    const rawTalker = raw.connect('raw talker');
    const ioTalker = io.connect('io talker');
    for (let beat = 0; beat < 10; beat++) {
      jest.advanceTimersByTime(100);
      rawListener.missed = 0; // answering pings is not activity
      rawTalker.missed = 0;
      rawTalker.lastInboundAt = Date.now();
      ioTalker.lastInboundAt = Date.now();
    }
    for (const listener of [rawListener, ioListener]) {
      expect(listener.ended).toMatchObject({
        kind: 'idle',
        closeCode: 4408,
        reason: 'Idle timeout',
        error: {
          code: 'IDLE_TIMEOUT',
          message: 'Idle timeout',
          details: { close_code: 4408, idle_timeout_ms: 500 },
        },
      });
    }
    expect(rawTalker.open && ioTalker.open).toBe(true);
    rule.beforeApplicationShutdown();
  });

  it('closes an idle connection within 1.5 × idleTimeoutMs even when the heartbeat interval is longer, pinging once per interval still', () => {
    const rule = liveness({ heartbeatIntervalMs: 30_000, idleTimeoutMs: 5_000 });
    const raw = fakeTransport(true);
    const io = fakeTransport(false);
    rule.watch(raw.transport);
    rule.watch(io.transport);
    const rawIdle = raw.connect('raw idle');
    const ioIdle = io.connect('io idle');
    const rawTalker = raw.connect('raw talker');
    const ioTalker = io.connect('io talker');
    const talk = (): void => {
      rawTalker.lastInboundAt = Date.now();
      ioTalker.lastInboundAt = Date.now();
      rawTalker.missed = 0;
    };

    for (let elapsed = 0; elapsed < 5_000; elapsed += 2_500) {
      talk();
      jest.advanceTimersByTime(2_500);
    }
    expect(rawIdle.open && ioIdle.open).toBe(true); // not idle for longer than 5 s yet
    talk();
    jest.advanceTimersByTime(2_500);
    expect(rawIdle.ended).toMatchObject({ kind: 'idle' });
    expect(ioIdle.ended).toMatchObject({ kind: 'idle' });
    expect(rawTalker.pings).toBe(0); // the idle checks between sweeps send no ping

    for (let elapsed = 7_500; elapsed < 90_000; elapsed += 2_500) {
      talk();
      jest.advanceTimersByTime(2_500);
    }
    // 90 s: three heartbeat intervals, three pings; the talkers were never idle for 5 s.
    expect(rawTalker).toMatchObject({ open: true, pings: 3, dropped: false });
    expect(ioTalker.open).toBe(true);
    rule.beforeApplicationShutdown();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('keeps the "two missed pings" of a heartbeat interval when idle checks run in between', () => {
    const rule = liveness({ heartbeatIntervalMs: 30_000, idleTimeoutMs: 5_000 });
    const raw = fakeTransport(true);
    rule.watch(raw.transport);
    const mute = raw.connect('mute');
    for (let elapsed = 0; elapsed < 60_000; elapsed += 2_500) {
      mute.lastInboundAt = Date.now(); // active, but it answers no ping
      jest.advanceTimersByTime(2_500);
    }
    expect(mute).toMatchObject({ pings: 2, dropped: false });
    for (let elapsed = 60_000; elapsed < 90_000; elapsed += 2_500) {
      mute.lastInboundAt = Date.now();
      jest.advanceTimersByTime(2_500);
    }
    expect(mute).toMatchObject({ pings: 2, dropped: true, ended: null });
    rule.beforeApplicationShutdown();
  });

  it('logs a transport that throws for one connection and goes on with the others, at sweeps and expiries', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const rule = liveness({ heartbeatIntervalMs: 1000 });
      const raw = fakeTransport(true);
      rule.watch(raw.transport);
      // The failing connections come first: the ones after them show that the sweep went on.
      const broken = raw.connect('broken', Date.now() + 10);
      const unpingable = raw.connect('unpingable');
      const brokenLater = raw.connect('broken, expiring later', Date.now() + 1_500);
      const expired = raw.connect('expired', Date.now() + 10);
      const listener = raw.connect('listener');
      const later = raw.connect('expiring later', Date.now() + 1_500);
      const { end, heartbeat } = raw.transport;
      if (!heartbeat) throw new Error('the fake raw transport has a heartbeat');
      const ping = heartbeat.ping;
      raw.transport.end = (connection, ending) => {
        if (connection === broken || connection === brokenLater) throw new Error('socket gone');
        end(connection, ending);
      };
      heartbeat.ping = (connection) => {
        if (connection === unpingable) throw new Error('ping failed');
        ping(connection);
      };

      expect(() => jest.advanceTimersByTime(1000)).not.toThrow(); // the sweep
      expect(expired.ended).toMatchObject({ kind: 'token-expired' });
      expect(listener).toMatchObject({ open: true, pings: 1 });
      expect(later).toMatchObject({ open: true, pings: 1 });

      expect(() => jest.advanceTimersByTime(500)).not.toThrow(); // the expiry timer
      expect(later.ended).toMatchObject({ kind: 'token-expired' });
      expect(logged.mock.calls).toEqual([
        ['Liveness check of a connection failed: Error: socket gone', expect.any(String)],
        ['Liveness check of a connection failed: Error: ping failed', expect.any(String)],
        ['Liveness check of a connection failed: Error: socket gone', expect.any(String)],
      ]);
      rule.beforeApplicationShutdown();
    } finally {
      logged.mockRestore();
    }
  });

  it('ends a listener whose token expires at its expiry, between two sweeps, and leaves a re-authenticated one', () => {
    const rule = liveness({ heartbeatIntervalMs: 30_000 });
    const io = fakeTransport(false);
    rule.watch(io.transport);
    const expiring = io.connect('expiring', Date.now() + 40_000);
    const refreshed = io.connect('refreshed', Date.now() + 40_000);
    jest.advanceTimersByTime(30_000); // the sweep that finds the expiry due before the next one
    refreshed.identity = identity(Date.now() + 3_600_000);
    jest.advanceTimersByTime(9_999);
    expect(expiring.open).toBe(true);
    jest.advanceTimersByTime(1);
    expect(expiring.ended).toMatchObject({
      kind: 'token-expired',
      closeCode: 4401,
      reason: 'Token expired',
      error: { code: 'AUTH_FAILED', message: 'Token expired' },
    });
    expect(refreshed.open).toBe(true);
    rule.beforeApplicationShutdown();
  });

  it('ends a connection admitted after the last sweep at its expiry, not at the next sweep', () => {
    const rule = liveness({ heartbeatIntervalMs: 30_000 });
    const raw = fakeTransport(true);
    const watch = rule.watch(raw.transport);
    jest.advanceTimersByTime(1_000);
    const young = raw.connect('young', Date.now() + 2_000);
    const later = raw.connect('later', Date.now() + 60_000);
    watch.admit(young);
    watch.admit(later);
    jest.advanceTimersByTime(1_999);
    expect(young.open).toBe(true);
    jest.advanceTimersByTime(1);
    expect(young.ended).toMatchObject({ kind: 'token-expired' });
    expect(later.open).toBe(true);
    expect(jest.getTimerCount()).toBe(1); // the sweep only
    rule.beforeApplicationShutdown();
  });

  it('ends a refreshed connection at its new expiry, not at the old one, when both fall before the next sweep', () => {
    const rule = liveness({ heartbeatIntervalMs: 30_000 });
    const io = fakeTransport(false);
    const watch = rule.watch(io.transport);
    const refreshed = io.connect('refreshed', Date.now() + 2_000);
    watch.admit(refreshed);
    jest.advanceTimersByTime(1_500);
    // A token refresh: a new identity (the old one is never mutated), admitted again.
    refreshed.identity = identity(Date.now() + 3_000);
    watch.admit(refreshed);
    jest.advanceTimersByTime(2_999);
    expect(refreshed.open).toBe(true);
    jest.advanceTimersByTime(1);
    expect(refreshed.ended).toMatchObject({ kind: 'token-expired' });
    rule.beforeApplicationShutdown();
  });

  it('ends a connection found expired at a sweep before pinging it', () => {
    const rule = liveness({ heartbeatIntervalMs: 1000 });
    const raw = fakeTransport(true);
    rule.watch(raw.transport);
    const expired = raw.connect('expired', Date.now() + 10);
    jest.advanceTimersByTime(1000);
    expect(expired).toMatchObject({ pings: 0, ended: { kind: 'token-expired' } });
    rule.beforeApplicationShutdown();
  });

  it('runs one sweep timer for every transport and clears its timers when the last stops, or at shutdown', () => {
    const rule = liveness({ heartbeatIntervalMs: 1000 });
    const raw = fakeTransport(true);
    const io = fakeTransport(false);
    const rawWatch = rule.watch(raw.transport);
    const ioWatch = rule.watch(io.transport);
    io.connect('expiring', Date.now() + 1500);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(jest.getTimerCount()).toBe(2); // the sweep and the expiry due before the next one
    rawWatch.stop();
    expect(jest.getTimerCount()).toBe(2);
    ioWatch.stop();
    expect(jest.getTimerCount()).toBe(0);
    rule.watch(raw.transport);
    rule.beforeApplicationShutdown();
    expect(jest.getTimerCount()).toBe(0);
  });
});
