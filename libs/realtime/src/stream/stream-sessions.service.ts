// Who is on the stream: connections waiting to authenticate (each with its deadline), and
// authenticated ones grouped by the appId claim of their token, with their filter. It also writes the
// handshake frames: connect, auth_success (+ backlog), auth_error. Token expiry is the liveness rule's,
// as on every endpoint (the identity is attached to the connection at authentication); an `auth` on an
// authenticated connection refreshes its token and keeps its subscription.
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { RealtimeErrorCode, StreamOutbound, type LogFilter } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { extractToken, parseQuery } from '../core/auth/token-extractor';
import { RealtimeError, toRealtimeError } from '../core/errors/realtime-error';
import { ConnectionLifecycle } from '../core/transport/connection-lifecycle.service';
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import type { RawWsServer } from '../core/transport/raw-ws-server';
import { compileLogFilter, type CompiledLogFilter } from './log-filter';
import { InjectLogStore, type LogStore } from './log-store';

export interface StreamSession {
  readonly connection: RawWsConnection;
  /** The appId claim of the token: the only app this connection ever reads. */
  readonly appId: string;
  readonly userId: string;
  filter: CompiledLogFilter | null;
}

@Injectable()
export class StreamSessions implements BeforeApplicationShutdown {
  private readonly logger = new Logger('LogStream');
  private readonly pending = new Map<RawWsConnection, NodeJS.Timeout>();
  private readonly sessions = new Map<RawWsConnection, StreamSession>();
  private readonly byApp = new Map<string, Set<StreamSession>>();

  constructor(
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly lifecycle: ConnectionLifecycle,
    @InjectLogStore() private readonly store: LogStore,
  ) {}

  /** Connections whose authentication deadline is running. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Authenticated stream connections, every app. */
  get authenticatedCount(): number {
    return this.sessions.size;
  }

  /** A new connection: `connect`, then authentication by the URL's token or a deadline for an `auth` frame. */
  open(connection: RawWsConnection): void {
    // The upgrade request is there during handleConnection, which calls this.
    const query = parseQuery(connection.request?.url);
    connection.send(StreamOutbound.CONNECT, { appId: query.appId, userId: query.userId });
    const token = extractToken({ query, headers: connection.request?.headers ?? {} });
    if (token !== undefined) {
      this.authenticate(connection, token);
      return;
    }
    const timer = setTimeout(
      () => this.refuse(connection, RealtimeError.authFailed('Authentication timeout')),
      this.options.stream.authTimeoutMs,
    );
    timer.unref();
    this.pending.set(connection, timer);
  }

  /**
   * Verifies a token and subscribes the connection to its app: auth_success then the backlog. A
   * refused token gets auth_error and the connection is closed (4401). On an authenticated
   * connection it is a refresh (see `refresh`).
   */
  authenticate(connection: RawWsConnection, token: string | undefined): void {
    const current = this.sessions.get(connection);
    if (current) {
      this.refresh(current, token);
      return;
    }
    let session: StreamSession;
    try {
      const identity = this.lifecycle.authenticateToken(token);
      if (identity.appId === null) {
        throw RealtimeError.authFailed(`Token has no "${this.options.auth.claims.appId}" claim`);
      }
      this.endpoint().authenticated(connection, identity);
      session = { connection, appId: identity.appId, userId: identity.userId, filter: null };
    } catch (error) {
      this.refuse(connection, toRealtimeError(error), error);
      return;
    }
    this.clearPending(connection);
    this.sessions.set(connection, session);
    let members = this.byApp.get(session.appId);
    if (!members) {
      members = new Set();
      this.byApp.set(session.appId, members);
    }
    members.add(session);
    connection.send(StreamOutbound.AUTH_SUCCESS, { appId: session.appId, userId: session.userId });
    connection.send(StreamOutbound.LOGS, this.store.recent(session.appId, this.options.stream.backlogSize));
  }

  /**
   * A fresh token for an authenticated connection, of the same user and app: answered auth_success
   * with the new expiry; the subscription, its filter and the expiry timing follow (no backlog is
   * sent again). Throws RefreshRefusedError (an `error` frame; the connection keeps its token).
   */
  private refresh(session: StreamSession, token: string | undefined): void {
    const { connection, appId, userId } = session;
    const { expiresAt } = this.endpoint().refresh(connection, token);
    connection.send(StreamOutbound.AUTH_SUCCESS, { appId, userId, expiresAt });
  }

  /** Sets (or, with an empty filter, clears) the connection's filter; returns the filter in force. */
  subscribe(connection: RawWsConnection, filter: LogFilter): LogFilter {
    const session = this.sessions.get(connection);
    if (!session) throw RealtimeError.authFailed('Not authenticated');
    session.filter = compileLogFilter(filter);
    return session.filter?.effective ?? {};
  }

  /** The connection closed: forget it and its deadline. */
  close(connection: RawWsConnection): void {
    this.clearPending(connection);
    const session = this.sessions.get(connection);
    if (!session) return;
    this.sessions.delete(connection);
    const members = this.byApp.get(session.appId);
    members?.delete(session);
    if (members?.size === 0) this.byApp.delete(session.appId);
  }

  /** Authenticated sessions of one app. */
  subscribersOf(appId: string): ReadonlySet<StreamSession> {
    return this.byApp.get(appId) ?? new Set();
  }

  /** Every authenticated stream connection (metrics go to all of them). */
  authenticatedConnections(): IterableIterator<RawWsConnection> {
    return this.sessions.keys();
  }

  beforeApplicationShutdown(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    this.sessions.clear();
    this.byApp.clear();
  }

  private endpoint(): RawWsServer {
    const server = this.lifecycle.endpoint('@logs');
    if (!server) throw new Error('The log stream endpoint is not registered');
    return server;
  }

  /** auth_error (or error) through the codec, then close with the matching code. */
  private refuse(connection: RawWsConnection, error: RealtimeError, cause?: unknown): void {
    this.clearPending(connection);
    if (error.code === RealtimeErrorCode.INTERNAL_ERROR) {
      this.logger.error('Stream authentication failed', cause instanceof Error ? cause.stack : String(cause));
    }
    connection.endWith(error);
  }

  private clearPending(connection: RawWsConnection): void {
    const timer = this.pending.get(connection);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pending.delete(connection);
  }
}
