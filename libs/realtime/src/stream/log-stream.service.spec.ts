// LogStreamService with fake timers: entries of one tick go out as one frame per app, serialised once
// per distinct filter; only the app's subscribers get them; bad input is refused; ids sort.
import type { IncomingMessage } from 'http';
import * as jwt from 'jsonwebtoken';
import { WebSocket } from 'ws';
import { TokenVerifier } from '../core/auth/token-verifier.service';
import { RealtimeError } from '../core/errors/realtime-error';
import { TransportCounters } from '../core/metrics/transport-counters.service';
import type { ConnectionLifecycle } from '../core/transport/connection-lifecycle.service';
import { RawWsConnection } from '../core/transport/raw-ws-connection';
import type { LogEntry, PayloadEnvelope } from '../protocol';
import { resolveRealtimeOptions } from '../realtime.options';
import { InMemoryLogStore } from './log-store';
import { LogStreamService } from './log-stream.service';
import { payloadEnvelopeCodec } from './payload-envelope.codec';
import { StreamSessions } from './stream-sessions.service';

const SECRET = 'unit-test-secret-of-32-characters';
const options = resolveRealtimeOptions({
  // Tokens without exp arm no expiry timer, so the specs can count timers.
  auth: { secret: SECRET, requireExpiry: false },
  stream: { backlogSize: 10, bufferSize: 10 },
});

describe('LogStreamService', () => {
  let sessions: StreamSessions;
  let store: InMemoryLogStore;
  let logs: LogStreamService;

  /** An authenticated stream client of `appId`; `logFrames()` are the logs it received after its backlog. */
  function subscriber(appId: string) {
    const sent: string[] = [];
    const socket = {
      readyState: WebSocket.OPEN,
      bufferedAmount: 0,
      send: (text: string) => sent.push(text),
      close: jest.fn(),
    };
    const connection = new RawWsConnection(
      socket as unknown as WebSocket,
      { url: '/ws/logs', headers: {} } as IncomingMessage,
      payloadEnvelopeCodec,
      1_000_000,
      new TransportCounters(),
    );
    sessions.open(connection);
    sessions.authenticate(connection, jwt.sign({ sub: 'u', appId }, SECRET));
    const handshake = sent.length;
    const logFrames = () =>
      sent
        .slice(handshake)
        .map((text) => JSON.parse(text) as PayloadEnvelope<LogEntry[]>)
        .filter((frame) => frame.type === 'logs')
        .map((frame) => frame.payload.map((entry) => entry.message));
    return { connection, sent, logFrames };
  }

  beforeEach(() => {
    jest.useFakeTimers();
    store = new InMemoryLogStore(options.stream.bufferSize);
    const verifier = new TokenVerifier(options);
    const lifecycle = {
      authenticateToken: (token: string | undefined) => verifier.verify(token),
      endpoint: () => ({ authenticated: () => undefined }),
    } as unknown as ConnectionLifecycle;
    sessions = new StreamSessions(options, lifecycle, store);
    logs = new LogStreamService(sessions, store);
  });

  afterEach(() => {
    logs.beforeApplicationShutdown();
    sessions.beforeApplicationShutdown();
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('sends everything published within one tick as one logs frame per app, to that app only', () => {
    const a = subscriber('a');
    const b = subscriber('b');
    logs.publish('a', [
      { level: 'info', message: 'a1' },
      { level: 'warn', message: 'a2' },
    ]);
    logs.publish('b', { level: 'info', message: 'b1' });
    logs.publish('a', { level: 'error', message: 'a3' });
    expect(a.logFrames()).toEqual([]);
    jest.runOnlyPendingTimers();
    expect(a.logFrames()).toEqual([['a1', 'a2', 'a3']]);
    expect(b.logFrames()).toEqual([['b1']]);
  });

  it('publishes of the next tick go in the next frame', () => {
    const a = subscriber('a');
    logs.publish('a', { level: 'info', message: 'first' });
    jest.runOnlyPendingTimers();
    logs.publish('a', { level: 'info', message: 'second' });
    jest.runOnlyPendingTimers();
    expect(a.logFrames()).toEqual([['first'], ['second']]);
  });

  it('serialises a frame once per distinct filter, whatever the number of subscribers', () => {
    const plain = [subscriber('a'), subscriber('a'), subscriber('a')];
    const errorsOnly = [subscriber('a'), subscriber('a')];
    const diskText = subscriber('a');
    for (const s of errorsOnly) sessions.subscribe(s.connection, { levels: ['error'] });
    sessions.subscribe(diskText.connection, { text: 'disk' });
    const encode = jest.spyOn(payloadEnvelopeCodec, 'encode');
    logs.publish('a', [
      { level: 'info', message: 'disk ok' },
      { level: 'error', message: 'cpu hot' },
    ]);
    jest.runOnlyPendingTimers();
    expect(encode).toHaveBeenCalledTimes(3);
    for (const s of plain) expect(s.logFrames()).toEqual([['disk ok', 'cpu hot']]);
    for (const s of errorsOnly) expect(s.logFrames()).toEqual([['cpu hot']]);
    expect(diskText.logFrames()).toEqual([['disk ok']]);
  });

  it('sends no empty frame to a filter that matches nothing', () => {
    const s = subscriber('a');
    sessions.subscribe(s.connection, { levels: ['fatal'] });
    logs.publish('a', { level: 'info', message: 'x' });
    jest.runOnlyPendingTimers();
    expect(s.logFrames()).toEqual([]);
  });

  it('gives a client authenticating before the flush each entry once, live, not in its backlog', () => {
    logs.publish('a', { level: 'info', message: 'in flight' });
    const late = subscriber('a');
    const backlog = JSON.parse(late.sent[2] ?? '{}') as PayloadEnvelope<LogEntry[]>;
    expect(backlog).toEqual({ type: 'logs', payload: [] });
    jest.runOnlyPendingTimers();
    expect(late.logFrames()).toEqual([['in flight']]);
    expect(logs.recent('a', 10).map((e) => e.message)).toEqual(['in flight']);
  });

  it('stores entries with id, timestamp, appId and userId (system unless given), keys in the seed order', () => {
    jest.setSystemTime(1_700_000_000_123);
    const [plain, full] = logs.publish('a', [
      { level: 'info', message: 'x' },
      { level: 'warn', message: 'y', metadata: { n: 1 }, timestamp: 5, userId: 'u9' },
    ]);
    expect(plain).toEqual({
      id: expect.stringMatching(/^1700000000123-\d{10}-[0-9a-f]{6}$/),
      timestamp: 1_700_000_000_123,
      level: 'info',
      message: 'x',
      appId: 'a',
      userId: 'system',
    });
    expect(Object.keys(full ?? {})).toEqual([
      'id',
      'timestamp',
      'level',
      'message',
      'metadata',
      'appId',
      'userId',
    ]);
    expect(full).toMatchObject({ timestamp: 5, userId: 'u9', metadata: { n: 1 } });
  });

  it('attributes every entry to the author given beside them, over their own userId', () => {
    const entries = [
      { level: 'info', message: 'x' },
      { level: 'warn', message: 'y', userId: 'u9' },
    ];
    const stored = logs.publish('a', entries, 'author');
    expect(stored.map((e) => e.userId)).toEqual(['author', 'author']);
    // The inputs are left as they were.
    expect(entries[1]).toEqual({ level: 'warn', message: 'y', userId: 'u9' });
    expect(Object.keys(stored[0] ?? {})).toEqual(['id', 'timestamp', 'level', 'message', 'appId', 'userId']);
  });

  it('keeps ids unique and sorted even when the clock goes back', () => {
    jest.setSystemTime(2_000_000);
    const first = logs.publish('a', [
      { level: 'info', message: '1' },
      { level: 'info', message: '2' },
    ]);
    jest.setSystemTime(1_000_000);
    const second = logs.publish('a', { level: 'info', message: '3' });
    const ids = [...first, ...second].map((e) => e.id);
    expect(new Set(ids).size).toBe(3);
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps a snapshot of the metadata, unaffected by later changes of the caller', () => {
    const metadata = { user: { name: 'ann' } };
    logs.publish('a', { level: 'info', message: 'x', metadata });
    metadata.user.name = 'changed';
    jest.runOnlyPendingTimers();
    expect(logs.recent('a', 1)[0]?.metadata).toEqual({ user: { name: 'ann' } });
  });

  it.each([
    ['an empty appId', () => logs.publish('', { level: 'info', message: 'x' }), 'appId'],
    ['a missing level', () => logs.publish('a', { message: 'x' } as never), 'entry.level'],
    [
      'a non-string message',
      () => logs.publish('a', [{ level: 'info', message: 3 } as never]),
      'entries[0].message',
    ],
    [
      'a negative timestamp',
      () => logs.publish('a', { level: 'info', message: 'x', timestamp: -1 }),
      'entry.timestamp',
    ],
    ['an empty userId', () => logs.publish('a', { level: 'info', message: 'x', userId: '' }), 'entry.userId'],
    [
      'an empty author',
      () => logs.publish('a', [{ level: 'info', message: 'x', userId: 'u9' }], ''),
      'entries[0].userId',
    ],
    [
      'metadata that cannot be serialised',
      () => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        logs.publish('a', { level: 'info', message: 'x', metadata: cyclic });
      },
      'entry.metadata',
    ],
  ])('refuses %s with INVALID_FORMAT naming the field, publishing nothing', (_name, call, field) => {
    const s = subscriber('a');
    let thrown: unknown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RealtimeError);
    expect(thrown).toMatchObject({ code: 'INVALID_FORMAT', details: { field } });
    jest.runOnlyPendingTimers();
    expect(s.logFrames()).toEqual([]);
  });

  it('counts entries ingested per app', () => {
    logs.publish('a', [
      { level: 'info', message: '1' },
      { level: 'info', message: '2' },
    ]);
    logs.publish('b', { level: 'info', message: '3' });
    expect([...logs.ingestedPerApp()]).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('flushes what is queued at shutdown and leaves no timer; later entries are stored at once', () => {
    const s = subscriber('a');
    logs.publish('a', { level: 'info', message: 'last words' });
    logs.beforeApplicationShutdown();
    expect(s.logFrames()).toEqual([['last words']]);
    expect(jest.getTimerCount()).toBe(0);
    logs.publish('a', { level: 'info', message: 'after' });
    expect(jest.getTimerCount()).toBe(0);
    expect(logs.recent('a', 1)[0]?.message).toBe('after');
  });

  describe('with stream.flushIntervalMs', () => {
    const spaced = resolveRealtimeOptions({
      auth: { secret: SECRET, requireExpiry: false },
      stream: { backlogSize: 10, bufferSize: 10, flushIntervalMs: 5 },
    });

    beforeEach(() => {
      logs.beforeApplicationShutdown();
      logs = new LogStreamService(sessions, store, null, null, spaced);
    });

    it('sends the first entries at the end of the tick, then the next ones together once the interval passed', () => {
      const a = subscriber('a');
      logs.publish('a', { level: 'info', message: 'first' });
      jest.runOnlyPendingTimers();
      expect(a.logFrames()).toEqual([['first']]);

      logs.publish('a', { level: 'info', message: 'second' });
      jest.advanceTimersByTime(1);
      logs.publish('a', { level: 'info', message: 'third' });
      jest.advanceTimersByTime(3);
      expect(a.logFrames()).toEqual([['first']]);
      jest.advanceTimersByTime(1);
      expect(a.logFrames()).toEqual([['first'], ['second', 'third']]);
    });

    it('adds no wait after a quiet spell longer than the interval', () => {
      const a = subscriber('a');
      logs.publish('a', { level: 'info', message: 'one' });
      jest.runOnlyPendingTimers();
      jest.advanceTimersByTime(20);
      logs.publish('a', { level: 'info', message: 'two' });
      jest.runOnlyPendingTimers();
      expect(a.logFrames()).toEqual([['one'], ['two']]);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('takes no wait from a settle that had nothing to send', async () => {
      const a = subscriber('a');
      logs.publish('a', { level: 'info', message: 'one' });
      jest.runOnlyPendingTimers();
      jest.advanceTimersByTime(10);
      await logs.settle();
      logs.publish('a', { level: 'info', message: 'two' });
      jest.advanceTimersByTime(1);
      expect(a.logFrames()).toEqual([['one'], ['two']]);
    });

    it('sends a waiting batch at once at shutdown and leaves no timer', () => {
      const a = subscriber('a');
      logs.publish('a', { level: 'info', message: 'one' });
      jest.runOnlyPendingTimers();
      logs.publish('a', { level: 'info', message: 'waiting' });
      expect(jest.getTimerCount()).toBe(1);
      logs.beforeApplicationShutdown();
      expect(a.logFrames()).toEqual([['one'], ['waiting']]);
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
