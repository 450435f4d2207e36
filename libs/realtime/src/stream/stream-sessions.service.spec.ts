// StreamSessions with fake timers: connect, authentication by URL token, the auth deadline, limits,
// filters, a second `auth` taken as a token refresh, and every timer cleared on close and shutdown.
// Token expiry is ConnectionLiveness's.
import type { IncomingMessage } from 'http';
import * as jwt from 'jsonwebtoken';
import { WebSocket } from 'ws';
import { TokenVerifier } from '../core/auth/token-verifier.service';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeError, RefreshRefusedError } from '../core/errors/realtime-error';
import { TransportCounters } from '../core/metrics/transport-counters.service';
import type { ConnectionLifecycle } from '../core/transport/connection-lifecycle.service';
import { RawWsConnection } from '../core/transport/raw-ws-connection';
import type { LogEntry, PayloadEnvelope } from '../protocol';
import { resolveRealtimeOptions } from '../realtime.options';
import { InMemoryLogStore } from './log-store';
import { payloadEnvelopeCodec } from './payload-envelope.codec';
import { StreamSessions } from './stream-sessions.service';

const SECRET = 'unit-test-secret-of-32-characters';
const options = resolveRealtimeOptions({
  auth: { secret: SECRET, requireExpiry: false },
  stream: { authTimeoutMs: 1000, backlogSize: 2, bufferSize: 5 },
});

function fakeConnection(url = '/ws/logs') {
  const sent: string[] = [];
  const socket = {
    readyState: WebSocket.OPEN as number,
    bufferedAmount: 0,
    send: (text: string) => sent.push(text),
    close: jest.fn(() => {
      socket.readyState = WebSocket.CLOSED;
    }),
  };
  const connection = new RawWsConnection(
    socket as unknown as WebSocket,
    { url, headers: {} } as IncomingMessage,
    payloadEnvelopeCodec,
    1_000_000,
    new TransportCounters(),
  );
  const frames = () => sent.map((text) => JSON.parse(text) as PayloadEnvelope);
  return { connection, socket, frames };
}

const token = (claims: Record<string, unknown>) => jwt.sign(claims, SECRET, { algorithm: 'HS256' });

describe('StreamSessions', () => {
  let store: InMemoryLogStore;
  let authenticated: jest.Mock;
  let sessions: StreamSessions;

  beforeEach(() => {
    jest.useFakeTimers();
    store = new InMemoryLogStore(options.stream.bufferSize);
    authenticated = jest.fn((connection: RawWsConnection, identity: RealtimeIdentity) => {
      connection.identity = identity;
    });
    const verifier = new TokenVerifier(options);
    // RawWsServer.refresh as far as the sessions see it: the identity replaced when the verifier agrees.
    const refresh = (connection: RawWsConnection, value: string | undefined): RealtimeIdentity => {
      if (connection.identity === null) throw RealtimeError.authFailed('Not authenticated');
      connection.identity = verifier.verifyRefresh(connection.identity, value);
      return connection.identity;
    };
    const lifecycle = {
      authenticateToken: (value: string | undefined) => verifier.verify(value),
      endpoint: () => ({ authenticated, refresh }),
    } as unknown as ConnectionLifecycle;
    sessions = new StreamSessions(options, lifecycle, store);
  });

  afterEach(() => {
    sessions.beforeApplicationShutdown();
    jest.useRealTimers();
  });

  it('sends connect from the query, then auth_success and the backlog for a URL token, with no timer left', () => {
    store.append(
      'app-1',
      [1, 2, 3].map((n) => ({
        id: `${n}`,
        timestamp: n,
        level: 'info',
        message: `m${n}`,
        appId: 'app-1',
        userId: 'system',
      })),
    );
    const { connection, frames } = fakeConnection(
      `/ws/logs?appId=shown&token=${token({ sub: 'u1', appId: 'app-1' })}`,
    );
    sessions.open(connection);
    expect(frames().map((f) => f.type)).toEqual(['connect', 'auth_success', 'logs']);
    expect(frames()[0]?.payload).toEqual({ appId: 'shown' });
    expect(frames()[1]?.payload).toEqual({ appId: 'app-1', userId: 'u1' });
    expect((frames()[2]?.payload as LogEntry[]).map((e) => e.message)).toEqual(['m2', 'm3']);
    expect(authenticated).toHaveBeenCalledWith(
      connection,
      expect.objectContaining({ userId: 'u1', appId: 'app-1' }),
    );
    expect([...sessions.subscribersOf('app-1')].map((s) => s.connection)).toEqual([connection]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('gives a client without a token stream.authTimeoutMs, then auth_error and close 4401', () => {
    const { connection, socket, frames } = fakeConnection();
    sessions.open(connection);
    expect(sessions.pendingCount).toBe(1);
    jest.advanceTimersByTime(999);
    expect(socket.close).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(frames().at(-1)).toEqual({ type: 'auth_error', payload: { message: 'Authentication timeout' } });
    expect(socket.close).toHaveBeenCalledWith(4401, 'Authentication timeout');
    expect(sessions.pendingCount).toBe(0);
  });

  it('stops the deadline once the auth frame is accepted', () => {
    const { connection, socket } = fakeConnection();
    sessions.open(connection);
    sessions.authenticate(connection, token({ sub: 'u1', appId: 'a' }));
    jest.advanceTimersByTime(5000);
    expect(socket.close).not.toHaveBeenCalled();
    expect(sessions.authenticatedCount).toBe(1);
  });

  it('arms no timer of its own for a token that expires (the liveness rule closes it)', () => {
    const { connection, socket } = fakeConnection();
    sessions.open(connection);
    sessions.authenticate(
      connection,
      token({ sub: 'u1', appId: 'a', exp: Math.floor(Date.now() / 1000) + 60 }),
    );
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(120_000);
    expect(socket.close).not.toHaveBeenCalled();
  });

  it('refuses a token without the appId claim', () => {
    const { connection, socket, frames } = fakeConnection();
    sessions.open(connection);
    sessions.authenticate(connection, token({ sub: 'u1' }));
    expect(frames().at(-1)).toEqual({
      type: 'auth_error',
      payload: { message: 'Token has no "appId" claim' },
    });
    expect(socket.close).toHaveBeenCalledWith(4401, 'Token has no "appId" claim');
    expect(authenticated).not.toHaveBeenCalled();
  });

  it('answers a connection limit with an error frame and close 4429', () => {
    authenticated.mockImplementation(() => {
      throw new RealtimeError('CONNECTION_LIMIT', 'Too many connections for this user');
    });
    const { connection, socket, frames } = fakeConnection();
    sessions.open(connection);
    sessions.authenticate(connection, token({ sub: 'u1', appId: 'a' }));
    expect(frames().at(-1)).toMatchObject({ type: 'error', payload: { code: 'CONNECTION_LIMIT' } });
    expect(socket.close).toHaveBeenCalledWith(4429, 'Too many connections for this user');
    expect(sessions.authenticatedCount).toBe(0);
  });

  it('takes a second auth as a refresh: auth_success with the new expiry, no backlog, the filter kept', () => {
    store.append('a', [
      { id: '1', timestamp: 1, level: 'warn', message: 'm1', appId: 'a', userId: 'system' },
    ]);
    const { connection, socket, frames } = fakeConnection();
    sessions.open(connection);
    sessions.authenticate(connection, token({ sub: 'u1', appId: 'a' }));
    sessions.subscribe(connection, { levels: ['warn'] });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const before = frames().length;
    sessions.authenticate(connection, token({ sub: 'u1', appId: 'a', exp }));
    expect(frames().slice(before)).toEqual([
      { type: 'auth_success', payload: { appId: 'a', userId: 'u1', expiresAt: exp * 1000 } },
    ]);
    expect(connection.identity?.expiresAt).toBe(exp * 1000);
    expect(authenticated).toHaveBeenCalledTimes(1);
    expect(socket.close).not.toHaveBeenCalled();
    const [session] = [...sessions.subscribersOf('a')];
    expect(session?.connection).toBe(connection);
    expect(session?.filter?.effective).toEqual({ levels: ['warn'] });
  });

  it('refuses a refresh for another user or app, keeping the session and its identity', () => {
    const { connection, socket } = fakeConnection();
    sessions.open(connection);
    sessions.authenticate(connection, token({ sub: 'u1', appId: 'a' }));
    const identity = connection.identity;
    expect(() => sessions.authenticate(connection, token({ sub: 'u2', appId: 'a' }))).toThrow(
      new RefreshRefusedError('Token is for another user'),
    );
    expect(() => sessions.authenticate(connection, token({ sub: 'u1', appId: 'b' }))).toThrow(
      new RefreshRefusedError('Token is for another app'),
    );
    expect(connection.identity).toBe(identity);
    expect(sessions.subscribersOf('b').size).toBe(0);
    expect([...sessions.subscribersOf('a')].map((s) => s.userId)).toEqual(['u1']);
    expect(socket.close).not.toHaveBeenCalled();
  });

  it('normalises a filter and clears it with an empty one', () => {
    const { connection } = fakeConnection();
    sessions.open(connection);
    sessions.authenticate(connection, token({ sub: 'u1', appId: 'a' }));
    expect(sessions.subscribe(connection, { levels: ['WARN', 'error', 'warn'], text: 'Disk' })).toEqual({
      levels: ['error', 'warn'],
      text: 'disk',
    });
    expect(sessions.subscribe(connection, { levels: [], text: '' })).toEqual({});
  });

  it('forgets a closed connection and its deadline', () => {
    const pending = fakeConnection();
    const live = fakeConnection();
    sessions.open(pending.connection);
    sessions.open(live.connection);
    sessions.authenticate(
      live.connection,
      token({ sub: 'u1', appId: 'a', exp: Math.floor(Date.now() / 1000) + 60 }),
    );
    expect(jest.getTimerCount()).toBe(1);
    sessions.close(pending.connection);
    sessions.close(live.connection);
    expect(jest.getTimerCount()).toBe(0);
    expect(sessions.subscribersOf('a').size).toBe(0);
    expect([...sessions.authenticatedConnections()]).toEqual([]);
  });

  it('clears every timer at shutdown', () => {
    sessions.open(fakeConnection().connection);
    const live = fakeConnection();
    sessions.open(live.connection);
    sessions.authenticate(
      live.connection,
      token({ sub: 'u1', appId: 'a', exp: Math.floor(Date.now() / 1000) + 60 }),
    );
    sessions.beforeApplicationShutdown();
    expect(jest.getTimerCount()).toBe(0);
  });
});
