// A raw `ws` endpoint on the shared HTTP port: upgrade with authentication and limits, its connections
// under the liveness rule (ping frames, idle timeout, token expiry), and orderly shutdown (upgrades
// answered 503 once the shutdown drains, then close 1001: shutdown-coordinator.ts).
// RealtimeAdapter routes upgrades here by path.
import { Logger, type Type } from '@nestjs/common';
import { EventEmitter } from 'events';
import type { IncomingMessage } from 'http';
import type { Duplex } from 'stream';
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from 'ws';
import { RealtimeCloseCode } from '../../protocol';
import type { RealtimeIdentity } from '../auth/realtime-identity';
import { parseQuery } from '../auth/token-extractor';
import { RealtimeError, toRealtimeError } from '../errors/realtime-error';
import { REFUSED_CONNECTION_LINGER_MS } from './client-address-limits.service';
import type { ConnectionLifecycle } from './connection-lifecycle.service';
import type {
  ConnectionLiveness,
  LivenessEnding,
  LivenessTransport,
  LivenessWatch,
} from './connection-liveness';
import { DirectFrameRoute, type DirectFrameHandler, type FrameRoute } from './direct-frame-route';
import { RawWsConnection, type RawWsFrame } from './raw-ws-connection';
import type { RealtimeWsGatewayOptions } from './realtime-gateway.decorator';
import { SHUTDOWN_CLOSE_REASON } from './shutdown-coordinator';

export interface RawWsServerSettings {
  maxPayloadBytes: number;
  maxBufferedBytes: number;
  perMessageDeflate: false | PerMessageDeflateOptions;
}

/**
 * Ends a raw ws connection for the liveness rule: the client is told why in its endpoint's codec
 * (an expired token: `error` AUTH_FAILED, the log stream's `auth_error`; idle: `error` IDLE_TIMEOUT
 * on both), then the connection is closed with the ending's code (4401, 4408).
 */
function endRawWsConnection(connection: RawWsConnection, ending: LivenessEnding): void {
  connection.sendError(ending.error);
  connection.close(ending.closeCode, ending.reason);
}

/** A refused connection whose client does not answer the close frame is dropped after `delayMs`. */
function dropIfStillOpenAfter(ws: WebSocket, delayMs: number): void {
  const timer = setTimeout(() => ws.terminate(), delayMs);
  timer.unref();
  ws.once('close', () => clearTimeout(timer));
}

/**
 * The endpoint's open connections: iterated like a set of connections, and found by their socket
 * (the socket listeners below are shared, so they receive the socket, not the connection).
 */
export class RawWsConnections implements Iterable<RawWsConnection> {
  private readonly bySocket = new Map<WebSocket, RawWsConnection>();

  get size(): number {
    return this.bySocket.size;
  }

  has(connection: RawWsConnection): boolean {
    return this.bySocket.get(connection.socket) === connection;
  }

  /** The open connection of a socket. */
  of(socket: WebSocket): RawWsConnection | undefined {
    return this.bySocket.get(socket);
  }

  add(connection: RawWsConnection): void {
    this.bySocket.set(connection.socket, connection);
  }

  delete(connection: RawWsConnection): boolean {
    return this.has(connection) && this.bySocket.delete(connection.socket);
  }

  values(): IterableIterator<RawWsConnection> {
    return this.bySocket.values();
  }

  [Symbol.iterator](): IterableIterator<RawWsConnection> {
    return this.bySocket.values();
  }
}

/** What an endpoint does with the events of its sockets (see `endpointSocketClass`). */
interface SocketEvents {
  message(socket: WebSocket, raw: RawWsFrame, isBinary: boolean): void;
  pong(socket: WebSocket): void;
  close(socket: WebSocket, code: number): void;
  error(error: Error): void;
}

/**
 * The class of an endpoint's sockets (ws's `WebSocket` option): it hands ws's `message`, `pong`,
 * `close` and `error` events to the endpoint as ws emits them, so that a socket carries no listener
 * of its own. Four listeners made each socket's event table about 100 bytes larger than the two of a
 * bare `ws` server (heap snapshot diffs of the connections group, 1,000 against 3,000 connections).
 * Listeners added to a socket (`once('close')` of a refused connection or of the shutdown) still run,
 * after the endpoint's handling.
 */
function endpointSocketClass(events: SocketEvents): typeof WebSocket {
  return class EndpointSocket extends WebSocket {
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      switch (event) {
        case 'message':
          events.message(this, args[0] as RawWsFrame, args[1] as boolean);
          break;
        case 'pong':
          events.pong(this);
          break;
        case 'close':
          events.close(this, args[0] as number);
          break;
        case 'error':
          // Without a listener of its own, EventEmitter would throw it (and crash the process).
          events.error(args[0] as Error);
          if (this.listenerCount('error') === 0) return true;
          break;
        default:
          break;
      }
      return super.emit(event, ...args);
    }
  };
}

export class RawWsServer extends EventEmitter {
  /** Open accepted connections. */
  readonly connections = new RawWsConnections();
  /** Accepted connections of a deferred-authentication gateway that have not authenticated yet. */
  private readonly pending = new Set<RawWsConnection>();
  private readonly logger = new Logger('RawWsServer');
  private readonly wss: WebSocketServer;
  private readonly liveness: LivenessWatch<RawWsConnection>;
  /** Gateways bound to this endpoint (one is allowed). */
  boundGateways = 0;
  /** Frame types dispatched past Nest's handler pipeline, by type (see `routeDirect`). */
  readonly directRoutes = new Map<string, FrameRoute>();

  constructor(
    readonly path: string,
    readonly gateway: RealtimeWsGatewayOptions,
    private readonly settings: RawWsServerSettings,
    private readonly lifecycle: ConnectionLifecycle,
    liveness: ConnectionLiveness,
  ) {
    super();
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: settings.maxPayloadBytes,
      perMessageDeflate: settings.perMessageDeflate,
      clientTracking: false,
      WebSocket: endpointSocketClass(this.socketEvents()),
    });
    this.liveness = liveness.watch(this.livenessView());
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.lifecycle.shutdown.draining) {
      // Not upgraded: the client (or a proxy in front) tries again, reaching a node that accepts.
      socket.on('error', () => undefined);
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    let identity: RealtimeIdentity | null = null;
    // The client address's limits first: a flood costs no origin check and no token verification.
    const address = this.lifecycle.clientAddresses.addressOf(request);
    let refusal = this.lifecycle.clientAddresses.admit(address);
    if (refusal === null) {
      try {
        this.lifecycle.checkOrigin(request.headers.origin);
        if ((this.gateway.authentication ?? 'handshake') === 'handshake') {
          identity = this.lifecycle.authenticate({
            query: parseQuery(request.url),
            headers: request.headers,
          });
        }
        this.lifecycle.checkCapacity(identity);
      } catch (error) {
        refusal = toRealtimeError(error);
      }
    }
    // ws calls back synchronously, or never (a socket already gone): the address is held from
    // `accept` on, so that an upgrade that fails holds nothing.
    this.wss.handleUpgrade(request, socket, head, (ws) =>
      this.accept(ws, socket, request, identity, refusal, address),
    );
  }

  /**
   * Sets up an upgraded connection. Its socket gets the endpoint's shared listeners, never a closure
   * made in a scope that holds the upgrade request (headers, URL with its token, stream state: about
   * 1.4 KB for the life of the connection), nor any closure per connection.
   */
  private accept(
    ws: WebSocket,
    socket: Duplex,
    request: IncomingMessage,
    identity: RealtimeIdentity | null,
    refusal: RealtimeError | null,
    address: string,
  ): void {
    const connection = new RawWsConnection(
      ws,
      request,
      this.gateway.codec,
      this.settings.maxBufferedBytes,
      this.lifecycle.counters,
      this.gateway.batchType,
    );
    connection.writeFramesTo(socket);
    if (refusal) {
      connection.releaseRequest();
      connection.endWith(refusal);
      dropIfStillOpenAfter(ws, REFUSED_CONNECTION_LINGER_MS);
      return;
    }
    this.lifecycle.clientAddresses.hold(address);
    connection.clientAddress = address;
    this.connections.add(connection);
    if (!identity) {
      this.pending.add(connection);
      this.lifecycle.holdPending();
    }
    if (identity) this.authenticated(connection, identity);
    this.emit('connection', connection, request);
    connection.releaseRequest();
  }

  /**
   * An accepted connection closed: its address, registration and pending slot are given back, then
   * Nest's disconnect hook runs (the gateway's handleDisconnect), which may read `closeCode`.
   */
  closed(connection: RawWsConnection, code: number): void {
    if (!this.connections.delete(connection)) return;
    connection.closeCode = code;
    if (connection.clientAddress !== null) {
      this.lifecycle.clientAddresses.release(connection.clientAddress);
      connection.clientAddress = null;
    }
    if (this.pending.delete(connection)) this.lifecycle.releasePending();
    this.lifecycle.release(connection.id);
    const hook = connection.disconnectHook;
    connection.disconnectHook = null;
    hook?.();
  }

  /**
   * Routes a frame type straight to `handler`, past Nest's per-call handler pipeline, for the
   * hottest frames: the data is still validated against `dto` as the gateway's ValidationPipe does,
   * and errors are answered as RealtimeWsExceptionFilter answers them. Guards, interceptors and other
   * pipes do not run. A gateway calls it in `afterInit(server)`. A route takes precedence over a
   * @SubscribeMessage handler of the same type (the adapter warns once).
   */
  routeDirect<T extends object>(type: string, dto: Type<T>, handler: DirectFrameHandler<T>): void {
    if (this.directRoutes.has(type)) {
      throw new Error(`RawWsServer: "${type}" on ${this.path} is routed twice`);
    }
    this.directRoutes.set(type, new DirectFrameRoute(dto, handler));
  }

  /**
   * The events of every socket of this endpoint (accepted or refused), found by their socket. 'error'
   * precedes 'close' (e.g. a frame over maxPayload: ws closes with 1009 itself).
   */
  private socketEvents(): SocketEvents {
    return {
      message: (socket, raw, isBinary) => {
        const connection = this.connections.of(socket);
        connection?.dispatch?.received(connection, raw, isBinary);
      },
      pong: (socket) => {
        const connection = this.connections.of(socket);
        if (connection !== undefined) connection.missedPongs = 0;
      },
      close: (socket, code) => {
        const connection = this.connections.of(socket);
        if (connection !== undefined) this.closed(connection, code);
      },
      error: (error) => this.logger.debug(`ws ${this.path}: ${error.message}`),
    };
  }

  /**
   * Attaches an identity to a connection (at the upgrade, or later for deferred authentication)
   * and registers it. Throws RealtimeError(CONNECTION_LIMIT) when a per-user limit is reached.
   */
  authenticated(connection: RawWsConnection, identity: RealtimeIdentity): void {
    const deferred = (this.gateway.authentication ?? 'handshake') === 'deferred';
    // A deferred connection's user is known only now: apply the per-user limit here. Its pending
    // slot is given back first, so that the check sees it once.
    if (deferred && connection.identity === null) {
      if (this.pending.delete(connection)) this.lifecycle.releasePending();
      this.lifecycle.checkCapacity(identity);
    }
    // Re-authentication (e.g. a refreshed token) may change the user: register afresh.
    if (connection.identity !== null) this.lifecycle.release(connection.id);
    connection.identity = identity;
    // The user's identity already registered when equal: one object for their many connections.
    connection.identity = this.lifecycle.register(connection.id, 'ws', identity, connection);
    this.liveness.admit(connection);
  }

  /**
   * A fresh token on an authenticated connection (the rooms' `auth_refresh`, the log stream's second
   * `auth`): verified as at the upgrade, for the same user and app. The identity is replaced in place
   * (the connection stays registered: no presence change) and its new expiry is timed by the liveness
   * rule. Throws RefreshRefusedError, the connection keeping its identity; AUTH_FAILED "Not
   * authenticated" for a connection that has none yet.
   */
  refresh(connection: RawWsConnection, token: string | undefined): RealtimeIdentity {
    const current = connection.identity;
    if (current === null) throw RealtimeError.authFailed('Not authenticated');
    const identity = this.lifecycle.refresh(connection.id, current, token);
    connection.identity = identity;
    this.liveness.admit(connection);
    return identity;
  }

  /**
   * The endpoint's connections as the liveness rule sees them: activity is `lastSeenAt` (stamped per
   * inbound message by the dispatcher; pongs do not count), and the heartbeat is ws ping frames.
   */
  private livenessView(): LivenessTransport<RawWsConnection> {
    return {
      connections: () => this.connections,
      isOpen: (connection) => connection.isOpen,
      identityOf: (connection) => connection.identity,
      lastInboundAt: (connection) => connection.lastSeenAt,
      end: endRawWsConnection,
      heartbeat: {
        missed: (connection) => connection.missedPongs,
        ping: (connection) => {
          connection.missedPongs += 1;
          connection.socket.ping();
        },
        drop: (connection) => connection.socket.terminate(),
      },
    };
  }

  /**
   * Closes every connection with 1001 "Server shutting down" (the client reconnects by itself), and
   * resolves once each has closed, terminating one whose close handshake takes longer than a second.
   */
  async goAway(): Promise<void> {
    for (const connection of this.connections) {
      connection.close(RealtimeCloseCode.GOING_AWAY, SHUTDOWN_CLOSE_REASON);
    }
    const closing = [...this.connections].map(
      (connection) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            connection.socket.terminate();
            resolve();
          }, 1000);
          connection.socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    );
    await Promise.all(closing);
  }

  async close(): Promise<void> {
    this.liveness.stop();
    await this.goAway();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
