// RoomsMonitor: the reconnection window (fake timers), the log lines and their fields, the
// rooms.logMessages switch of the per-message line, and the series it counts.
import { Logger, type LoggerService } from '@nestjs/common';
import { EventEmitter } from 'events';
import type { IncomingMessage } from 'http';
import { Registry } from 'prom-client';
import type { WebSocket } from 'ws';
import { TransportCounters } from '../core/metrics/transport-counters.service';
import { RealtimeError } from '../core/errors/realtime-error';
import { dataEnvelopeCodec } from '../core/transport/frame-codec';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RawWsConnection } from '../core/transport/raw-ws-connection';
import { RoomsOutbound, encodeEnvelope } from '../protocol';
import { resolveRealtimeOptions } from '../realtime.options';
import { identity } from './recording-connection.helper-spec';
import { RECONNECTION_WINDOW_MS, RoomsMonitor, field } from './rooms-monitor.service';

interface LogLine {
  level: 'log' | 'debug';
  message: string;
}

/** Takes Nest's static logger for the spec: every line the monitor writes, by level. */
function captureLogs(levels: Array<'log' | 'debug' | 'warn' | 'error'>): LogLine[] {
  const lines: LogLine[] = [];
  const capture: LoggerService = {
    log: (message: string) => lines.push({ level: 'log', message }),
    debug: (message: string) => lines.push({ level: 'debug', message }),
    warn: () => undefined,
    error: () => undefined,
  };
  Logger.overrideLogger(capture);
  Logger.overrideLogger(levels);
  return lines;
}

/** A RawWsConnection over a stub socket. */
function openConnection(counters: TransportCounters, url = '/ws/chat?token=secret-token') {
  const socket = Object.assign(new EventEmitter(), {
    readyState: 1,
    bufferedAmount: 0,
    send: () => undefined,
    close: () => undefined,
  });
  const request = { url, socket: { remoteAddress: '10.0.0.7' } } as unknown as IncomingMessage;
  const connection = new RawWsConnection(
    socket as unknown as WebSocket,
    request,
    dataEnvelopeCodec,
    1024,
    counters,
    'message_batch',
  );
  return { connection };
}

/** A monitor with `rooms.logMessages` as given. */
function monitorWith(counters: TransportCounters, logMessages: boolean): RoomsMonitor {
  const options = resolveRealtimeOptions({
    auth: { secret: 'rooms-monitor-spec-secret-0123456789' },
    rooms: { logMessages },
  });
  return new RoomsMonitor(counters, options);
}

async function scrape(monitor: RoomsMonitor): Promise<string> {
  const registry = new Registry();
  for (const metric of monitor.metrics) registry.registerMetric(metric);
  return registry.metrics();
}

describe('RoomsMonitor', () => {
  let counters: TransportCounters;
  let monitor: RoomsMonitor;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2024-05-01T10:00:00Z') });
    counters = new TransportCounters();
    monitor = monitorWith(counters, false);
    monitor.watch('/ws/chat');
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  /**
   * A connection of `user` opened as the gateway opens it; `drop` tells the monitor of its close with
   * a code, as the gateway's disconnect hook does.
   */
  function open(user: RealtimeIdentity): { connection: RawWsConnection; drop(code: number): void } {
    const { connection } = openConnection(counters);
    connection.identity = user;
    monitor.opened(connection, user);
    return { connection, drop: (code) => monitor.closed(connection, code) };
  }

  describe('reconnections', () => {
    it('counts a new connection of a user within the window after losing one, and not after', async () => {
      captureLogs(['log']);
      const alice = identity('1', 'alice');
      const first = open(alice);
      first.drop(1006);

      jest.advanceTimersByTime(RECONNECTION_WINDOW_MS - 1000);
      const second = open(alice);
      expect(await scrape(monitor)).toContain('realtime_rooms_reconnections_total 1');

      second.drop(1001);
      jest.advanceTimersByTime(RECONNECTION_WINDOW_MS + 1000);
      open(alice);
      expect(await scrape(monitor)).toContain('realtime_rooms_reconnections_total 1');
    });

    it('matches one loss with one new connection, and never counts a first connection', async () => {
      captureLogs(['log']);
      const bob = identity('2', 'bob');
      open(identity('3'));
      const lost = open(bob);
      lost.drop(1000);
      open(bob);
      open(bob);
      expect(await scrape(monitor)).toContain('realtime_rooms_reconnections_total 1');
      expect(await scrape(monitor)).toContain('realtime_rooms_active_connections 3');
    });

    it('keeps one disconnection time per user: two tabs dropping and coming back count once', async () => {
      captureLogs(['log']);
      const carol = identity('4', 'carol');
      const tabs = [open(carol), open(carol)];
      for (const tab of tabs) tab.drop(1006);
      open(carol);
      open(carol);
      expect(await scrape(monitor)).toContain('realtime_rooms_reconnections_total 1');
    });
  });

  describe('log lines', () => {
    it('writes WS_CONNECT and WS_DISCONNECT with user, path (no query, no peer address), duration and close code', () => {
      const lines = captureLogs(['log', 'warn', 'error']);
      const { drop } = open(identity('42', 'alice'));
      jest.advanceTimersByTime(2500);
      drop(4408);
      expect(lines).toEqual([
        { level: 'log', message: 'WS_CONNECT: UserID=42, Path=/ws/chat' },
        { level: 'log', message: 'WS_DISCONNECT: UserID=42, Path=/ws/chat, Duration=2.500s, Code=4408' },
      ]);
      expect(lines.map((line) => line.message).join('\n')).not.toContain('secret-token');
      expect(lines.map((line) => line.message).join('\n')).not.toContain('10.0.0.7');
    });

    it('builds no per-message line without rooms.logMessages, whatever the levels (the data is not even read)', () => {
      const lines = captureLogs(['log', 'debug', 'warn', 'error']);
      const { connection } = openConnection(counters);
      connection.identity = identity('42');
      const data = {
        get room(): string {
          throw new Error('read the message data with debug off');
        },
      };
      monitor.handled(connection, 'room_message', data, performance.now());
      expect(lines).toEqual([]);
    });

    it('with rooms.logMessages, writes WS_MESSAGE at debug level with type, user, room and handling time, never the content', () => {
      // Nest's static levels leave debug out (a default app, a host logger instance): the line is still
      // handed to the logger, whose own levels decide.
      const lines = captureLogs(['log']);
      monitor = monitorWith(counters, true);
      const { connection } = openConnection(counters);
      connection.identity = identity('42');
      const startedAt = performance.now();
      jest.advanceTimersByTime(3);
      monitor.handled(connection, 'room_message', { room: 'general', content: 'secret words' }, startedAt);
      monitor.handled(connection, 'direct_message', { to_user_id: 7, content: 'secret words' }, startedAt);
      monitor.handled(connection, 'made_up', { room: 'my room' }, startedAt);
      expect(lines).toEqual([
        {
          level: 'debug',
          message: 'WS_MESSAGE: Type=room_message, UserID=42, Room=general, Handling=3.000ms',
        },
        { level: 'debug', message: 'WS_MESSAGE: Type=direct_message, UserID=42, Handling=3.000ms' },
        // A client-chosen type is not logged as sent; a value with a space is quoted.
        { level: 'debug', message: 'WS_MESSAGE: Type=unknown, UserID=42, Room="my room", Handling=3.000ms' },
      ]);
    });

    it('quotes field values that would break the line and cuts long ones', () => {
      expect(field('alice')).toBe('alice');
      expect(field('a, b=c')).toBe('"a, b=c"');
      expect(field('')).toBe('""');
      expect(field('x'.repeat(500))).toBe(`${'x'.repeat(128)}…`);
    });
  });

  describe('series', () => {
    it('counts messages in by type (unknown for client-chosen and unreadable ones) with their handling time', async () => {
      captureLogs(['log']);
      const { connection } = openConnection(counters);
      const startedAt = performance.now();
      jest.advanceTimersByTime(2);
      monitor.handled(connection, 'room_message', {}, startedAt);
      monitor.handled(connection, 'room_message', {}, startedAt);
      monitor.handled(connection, 'join_room', {}, startedAt);
      monitor.handled(connection, 'made_up', {}, startedAt);
      monitor.unreadable();
      const text = await scrape(monitor);
      expect(text).toContain('realtime_rooms_messages_received_total{type="room_message"} 2');
      expect(text).toContain('realtime_rooms_messages_received_total{type="join_room"} 1');
      expect(text).toContain('realtime_rooms_messages_received_total{type="unknown"} 2');
      expect(text).toContain('realtime_rooms_messages_received_total{type="ping"} 0');
      expect(text).not.toContain('made_up');
      expect(text).toContain('realtime_rooms_message_handling_seconds_count{type="room_message"} 2');
      expect(text).toContain(
        'realtime_rooms_message_handling_seconds_bucket{le="0.001",type="room_message"} 0',
      );
      expect(text).toContain(
        'realtime_rooms_message_handling_seconds_bucket{le="0.0025",type="room_message"} 2',
      );
    });

    it('counts messages out by type: one increment of N per group, presence frames named by their type', async () => {
      monitor.sent(RoomsOutbound.ROOM_MESSAGE, 100);
      monitor.sentSerialized(encodeEnvelope(RoomsOutbound.USER_CONNECTED, { room: 'general' }), 3);
      monitor.sentSerialized('{"kind":"other"}', 1);
      const text = await scrape(monitor);
      expect(text).toContain('realtime_rooms_messages_sent_total{type="room_message"} 100');
      expect(text).toContain('realtime_rooms_messages_sent_total{type="user_connected"} 3');
      expect(text).toContain('realtime_rooms_messages_sent_total{type="unknown"} 1');
    });

    it('counts the error frames of the endpoint by code, a refused handshake included', async () => {
      // A connection refused at the upgrade is told before any gateway hook runs.
      const refused = openConnection(counters).connection;
      refused.sendError(RealtimeError.authFailed('Invalid token'));
      openConnection(counters, '/ws/chat/').connection.sendError(RealtimeError.invalidFormat('bad'));
      // Another raw ws endpoint (the log stream) is not the rooms endpoint's.
      openConnection(counters, '/ws/logs').connection.sendError(RealtimeError.invalidFormat('bad'));
      const text = await scrape(monitor);
      expect(text).toContain('realtime_rooms_connection_errors_total{code="AUTH_FAILED"} 1');
      expect(text).toContain('realtime_rooms_connection_errors_total{code="INVALID_FORMAT"} 1');
      expect(text).toContain('realtime_rooms_connection_errors_total{code="RATE_LIMITED"} 0');
      expect(text).toContain('realtime_rooms_messages_sent_total{type="error"} 2');
    });
  });
});
