// RealtimeAdapter: the one WebSocket adapter a Nest app may have, serving Socket.IO gateways and raw
// `ws` gateways side by side on the host's HTTP port. Host main.ts:
//   app.useWebSocketAdapter(new RealtimeAdapter(app));
import type { INestApplicationContext } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { IncomingMessage, Server as HttpServer } from 'http';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import type { Duplex } from 'stream';
import { RealtimeCloseCode, RealtimeErrorCode } from '../../protocol';
import { ROOM_PREFIX } from '../../realtime.constants';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import { isExpired, type RealtimeIdentity } from '../auth/realtime-identity';
import { RealtimeError, toRealtimeError } from '../errors/realtime-error';
import { answerWsException } from '../filters/realtime-ws-exception.filter';
import { ConnectionLifecycle } from './connection-lifecycle.service';
import type { FrameRoute } from './direct-frame-route';
import { forEachHandlerValue } from './handler-result';
import { RawWsConnection } from './raw-ws-connection';
import { RawWsServer } from './raw-ws-server';
import {
  isRealtimeGatewayMetadata,
  type RealtimePathRef,
  type RealtimeWsGatewayOptions,
} from './realtime-gateway.decorator';

/** What every authenticated Socket.IO socket carries in `socket.data`. */
export interface RealtimeSocketData {
  identity: RealtimeIdentity;
}

export type RealtimeSocket = Socket<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  RealtimeSocketData
>;

/** Most inner messages one inbound batch frame may carry. */
const MAX_BATCH = 50;
/** Frames of one raw ws connection waiting to be handled before the socket is paused. */
const MAX_PENDING_FRAMES = 64;
type IoCreateOptions = Parameters<IoAdapter['create']>[1];

interface WsResponseLike {
  event: string;
  data: unknown;
}

function isWsResponse(value: unknown): value is WsResponseLike {
  return typeof value === 'object' && value !== null && typeof (value as WsResponseLike).event === 'string';
}

function expireSocket(socket: Socket): void {
  socket.emit('error', RealtimeError.authFailed('Token expired').toPayload());
  socket.disconnect(true);
}

function packetBytes(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (Buffer.isBuffer(data)) return data.length;
  if (data instanceof ArrayBuffer) return data.byteLength;
  return 0;
}

const NO_AUTH: Record<string, unknown> = Object.freeze({});

function withoutToken(auth: Record<string, unknown>): Record<string, unknown> {
  if (!('token' in auth)) return auth;
  const rest = { ...auth };
  delete rest.token;
  return Object.keys(rest).length === 0 ? NO_AUTH : rest;
}

/** The rooms every socket joins at connection, derived from its identity. */
export function identityRooms(identity: RealtimeIdentity): string[] {
  const rooms = [ROOM_PREFIX.user + identity.userId];
  if (identity.page) rooms.push(ROOM_PREFIX.page + identity.page);
  if (identity.isAdmin) rooms.push(ROOM_PREFIX.admins);
  return rooms;
}

type HandlerCallback = MessageMappingProperties['callback'];

/** How one raw ws connection's frames are dispatched: direct routes first, then Nest's handlers. */
interface RawWsDispatch {
  byType: Map<string, HandlerCallback>;
  routes: ReadonlyMap<string, FrameRoute>;
}

const NO_ROUTES: ReadonlyMap<string, FrameRoute> = new Map();

/** Per-socket state of the Socket.IO binding, kept on the socket object itself (not `socket.data`,
 * which connection state recovery copies to the next socket). */
const HANDLERS = Symbol('realtime.handlers');
const DISCONNECT_HOOKS = Symbol('realtime.disconnectHooks');

interface BoundSocket extends Socket {
  /** Nest's callbacks bound to this socket, by event. */
  [HANDLERS]?: Record<string, HandlerCallback>;
  /** Nest's disconnect hooks of a socket of the realtime server (null: none yet). */
  [DISCONNECT_HOOKS]?: null | (() => void) | Array<() => void>;
}

export class RealtimeAdapter extends IoAdapter {
  // Not `logger`: Nest 12's IoAdapter has a protected field of that name.
  private readonly log = new Logger('RealtimeAdapter');
  private readonly rawServers = new Map<string, RawWsServer>();
  private readonly ioPaths = new Set<string>();
  private lifecycle: ConnectionLifecycle | null = null;
  private routedServer: HttpServer | null = null;
  private expirySweep: NodeJS.Timeout | null = null;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void =>
    this.routeUpgrade(request, socket, head);

  constructor(private readonly app: INestApplicationContext) {
    super(app);
  }

  override create(port: number, options?: IoCreateOptions): Server {
    if (!isRealtimeGatewayMetadata(options)) {
      // A host gateway of its own: plain Socket.IO, but leaving other upgrade paths alone. Two
      // Socket.IO servers on one path would both take every upgrade: refuse that at boot.
      const path = options?.path ?? '/socket.io';
      if (path === this.options.paths.socketIo) {
        throw new Error(
          `RealtimeAdapter: a plain @WebSocketGateway() on ${path} would start a second Socket.IO server ` +
            `on the path RealtimeModule serves; use @RealtimeGateway({ transport: 'socket.io' }) to share ` +
            `the authenticated server, or give the gateway another path`,
        );
      }
      this.installUpgradeRouter();
      this.ioPaths.add(path);
      return super.create(port, { ...options, destroyUpgrade: false } as IoCreateOptions);
    }
    const lifecycle = this.getLifecycle();
    lifecycle.adapterBound = true;
    this.installUpgradeRouter();
    if (options.realtime.transport === 'ws') {
      // Nest treats the returned object as an opaque server: it only binds connection handlers to it.
      return this.createRawWsServer(options.realtime, lifecycle) as unknown as Server;
    }
    return this.createRealtimeIoServer(port, lifecycle);
  }

  override bindClientConnect(server: unknown, callback: (...args: unknown[]) => void): void {
    if (server instanceof RawWsServer) {
      server.boundGateways += 1;
      if (server.boundGateways > 1) {
        throw new Error(`RealtimeAdapter: one gateway per raw WebSocket path (${server.path} has several)`);
      }
      server.on('connection', callback);
      return;
    }
    super.bindClientConnect(server, callback);
  }

  override bindClientDisconnect(client: unknown, callback: () => void): void {
    if (client instanceof RawWsConnection) {
      client.socket.once('close', callback);
      return;
    }
    const socket = client as BoundSocket;
    const hooks = socket[DISCONNECT_HOOKS];
    if (hooks === undefined) {
      // A socket of a host's own Socket.IO server.
      super.bindClientDisconnect(socket, callback);
      return;
    }
    // Called by the realtime server's one shared 'disconnect' listener (no listener per gateway).
    socket[DISCONNECT_HOOKS] =
      hooks === null ? callback : Array.isArray(hooks) ? [...hooks, callback] : [hooks, callback];
  }

  /** Nest's per-client result transform is not kept: both transports handle results themselves. */
  override bindMessageHandlers(
    client: unknown,
    handlers: MessageMappingProperties[],
    _transform: (data: unknown) => Observable<unknown>,
  ): void {
    if (client instanceof RawWsConnection) {
      this.bindRawWsHandlers(client, handlers);
      return;
    }
    this.bindSocketIoHandlers(client as BoundSocket, handlers);
  }

  /**
   * One shared listener per event for every socket, where IoAdapter builds an RxJS chain per handler
   * per socket (fromEvent, mergeMap, takeUntil and a shared disconnect stream): kilobytes held by
   * every idle connection. The socket keeps only Nest's bound callbacks, by event. Same behaviour:
   * the handler's result (value, promise or observable) is emitted when it names an event, else
   * given to the ack unless the handler acknowledges itself. Nest's per-socket transform is not kept:
   * `forEachHandlerValue` does the same.
   */
  private bindSocketIoHandlers(socket: BoundSocket, handlers: MessageMappingProperties[]): void {
    const table = (socket[HANDLERS] ??= {});
    for (const { message, callback, isAckHandledManually } of handlers) {
      const event = String(message);
      if (table[event] !== undefined) {
        // Two gateways handle the same event on this socket: the second gets a listener of its own.
        socket.on(event, (...args: unknown[]) =>
          this.handleSocketEvent(socket, callback, isAckHandledManually, args),
        );
        continue;
      }
      table[event] = callback;
      socket.on(event, this.sharedListener(event, isAckHandledManually));
    }
  }

  private readonly sharedListeners = new Map<string, (this: BoundSocket, ...args: unknown[]) => void>();

  private sharedListener(
    event: string,
    isAckHandledManually: boolean,
  ): (this: BoundSocket, ...args: unknown[]) => void {
    const key = `${isAckHandledManually ? 'manual' : 'auto'}:${event}`;
    let listener = this.sharedListeners.get(key);
    if (listener === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the listener's `this` is the socket
      const adapter = this;
      listener = function (this: BoundSocket, ...args: unknown[]): void {
        const callback = this[HANDLERS]?.[event];
        if (callback !== undefined) adapter.handleSocketEvent(this, callback, isAckHandledManually, args);
      };
      this.sharedListeners.set(key, listener);
    }
    return listener;
  }

  private handleSocketEvent(
    socket: Socket,
    callback: HandlerCallback,
    isAckHandledManually: boolean | undefined,
    args: unknown[],
  ): void {
    const identity = (socket.data as Partial<RealtimeSocketData>).identity;
    if (identity !== undefined) {
      // A socket of the realtime server: counted, and closed once its token expired.
      this.getLifecycle().counters.messagesReceived += 1;
      if (isExpired(identity)) {
        expireSocket(socket);
        return;
      }
    }
    const payload: { data?: unknown; ack?: unknown } = this.mapPayload(args.length > 1 ? args : args[0]);
    const { data, ack } = payload;
    forEachHandlerValue(callback(data, ack), (response) => {
      if (response === null || response === undefined) return;
      const named = response as { event?: string; data?: unknown };
      if (typeof named === 'object' && named.event) {
        socket.emit(named.event, named.data);
        return;
      }
      if (!isAckHandledManually && typeof ack === 'function') (ack as (value: unknown) => void)(response);
    }).catch((error: unknown) => {
      // Nest's exception filters answer handler errors; this is an observable failing afterwards.
      this.log.error(
        'Unhandled error after a Socket.IO handler',
        error instanceof Error ? error.stack : String(error),
      );
    });
  }

  override async close(server: unknown): Promise<void> {
    if (server instanceof RawWsServer) {
      this.rawServers.delete(server.path);
      await server.close();
      return;
    }
    await super.close(server as Server);
  }

  override async dispose(): Promise<void> {
    if (this.expirySweep) clearInterval(this.expirySweep);
    this.expirySweep = null;
    this.routedServer?.off('upgrade', this.onUpgrade);
    this.routedServer = null;
    await Promise.all([...this.rawServers.values()].map((server) => server.close()));
    this.rawServers.clear();
  }

  private getLifecycle(): ConnectionLifecycle {
    if (this.lifecycle) return this.lifecycle;
    let lifecycle: ConnectionLifecycle;
    try {
      lifecycle = this.app.get(ConnectionLifecycle, { strict: false });
    } catch {
      throw new Error('RealtimeAdapter: import RealtimeModule.forRoot(...) in the application module');
    }
    this.lifecycle = lifecycle;
    return lifecycle;
  }

  private get options(): ResolvedRealtimeOptions {
    return this.getLifecycle().options;
  }

  private resolvePath(ref: RealtimePathRef): string {
    if (ref === '@chat') return this.options.paths.chat;
    if (ref === '@logs') return this.options.paths.logs;
    return ref;
  }

  private createRawWsServer(gateway: RealtimeWsGatewayOptions, lifecycle: ConnectionLifecycle): RawWsServer {
    const path = this.resolvePath(gateway.path);
    if (this.rawServers.has(path)) {
      throw new Error(`RealtimeAdapter: two raw WebSocket endpoints on ${path}`);
    }
    const { limits } = this.options;
    const server = new RawWsServer(
      path,
      gateway,
      {
        maxPayloadBytes: limits.maxPayloadBytes,
        maxBufferedBytes: limits.maxBufferedBytes,
        heartbeatIntervalMs: limits.heartbeatIntervalMs,
        idleTimeoutMs: limits.idleTimeoutMs,
        // ws applies the threshold only without server context takeover.
        perMessageDeflate: this.options.compression.enabled
          ? { threshold: this.options.compression.threshold, serverNoContextTakeover: true }
          : false,
      },
      lifecycle,
    );
    this.rawServers.set(path, server);
    lifecycle.registerEndpoint(gateway.path, server);
    return server;
  }

  private createRealtimeIoServer(port: number, lifecycle: ConnectionLifecycle): Server {
    const { limits, paths, socketIo, chat } = this.options;
    const ioOptions: Partial<ServerOptions> & { destroyUpgrade: boolean; path: string } = {
      path: paths.socketIo,
      maxHttpBufferSize: limits.maxPayloadBytes,
      pingInterval: limits.heartbeatIntervalMs,
      pingTimeout: limits.heartbeatTimeoutMs,
      cors: socketIo.cors,
      destroyUpgrade: false,
      // A client that drops briefly gets the packets it missed (rooms and socket.data restored too).
      // Middlewares still run: a recovered session is authenticated and counted again.
      connectionStateRecovery:
        chat.recoveryWindowMs > 0
          ? { maxDisconnectionDuration: chat.recoveryWindowMs, skipMiddlewares: false }
          : undefined,
    };
    this.ioPaths.add(paths.socketIo);
    // createIOServer, not create(): on Nest 12 create() may return a Namespace.
    const server = this.createIOServer(port, ioOptions) as Server;
    /** Sockets past the middleware whose connection has not completed, with their early release. */
    const connecting = new WeakMap<Socket, () => void>();
    function onRealtimeDisconnect(this: BoundSocket): void {
      lifecycle.release(this.id);
      const hooks = this[DISCONNECT_HOOKS];
      if (typeof hooks === 'function') hooks();
      else if (Array.isArray(hooks)) for (const hook of hooks) hook();
    }
    server.use((socket, next) => {
      try {
        // A recovered session id that is connected already is being replayed: refuse it.
        if (lifecycle.isRegistered(socket.id)) {
          throw new RealtimeError(RealtimeErrorCode.CONNECTION_LIMIT, 'Session already connected');
        }
        const identity = lifecycle.authenticate({
          auth: socket.handshake.auth,
          query: socket.handshake.query,
          headers: socket.handshake.headers,
        });
        lifecycle.checkCapacity(identity);
        (socket.data as RealtimeSocketData).identity = identity;
        // The verified token is not kept for the life of the socket (the identity holds what it said).
        socket.handshake.auth = withoutToken(socket.handshake.auth);
        // The slot is taken here, not at 'connection' (one tick later): several CONNECT packets in
        // one batch cannot all pass the limit.
        lifecycle.register(socket.id, 'socket.io', identity);
        // Released on disconnect (one shared listener, which also runs Nest's disconnect hooks), or
        // when the transport closes before the connection completes (that socket never disconnects).
        (socket as BoundSocket)[DISCONNECT_HOOKS] = null;
        socket.on('disconnect', onRealtimeDisconnect);
        const releaseEarly = (): void => lifecycle.release(socket.id);
        socket.conn.once('close', releaseEarly);
        connecting.set(socket, releaseEarly);
        next();
      } catch (error) {
        const realtimeError = toRealtimeError(error);
        lifecycle.counters.error();
        const refusal = new Error(realtimeError.message) as Error & { data?: unknown };
        refusal.data = realtimeError.toPayload();
        next(refusal);
      }
    });
    const counters = lifecycle.counters;
    // Bytes through this transport as engine.io frames them, per recipient for broadcasts.
    // String length stands for bytes (equal for ASCII JSON): no per-recipient scan of the payload.
    const onPacketCreate = (packet: { data?: unknown }): void => counters.sent(packetBytes(packet.data));
    const onPacket = (packet: { type: string; data?: unknown }): void => {
      if (packet.type === 'message') counters.bytesReceived += packetBytes(packet.data);
    };
    // Registered before any gateway's handler, so identity rooms exist when handleConnection runs.
    server.on('connection', (socket: Socket) => {
      const releaseEarly = connecting.get(socket);
      if (releaseEarly !== undefined) {
        connecting.delete(socket);
        socket.conn.off('close', releaseEarly);
      }
      void socket.join(identityRooms((socket.data as RealtimeSocketData).identity));
      socket.conn.on('packetCreate', onPacketCreate);
      socket.conn.on('packet', onPacket);
    });
    lifecycle.publishSocketIoServer(server);
    this.startExpirySweep(server, limits.heartbeatIntervalMs);
    return server;
  }

  /** A socket whose token expires is told and closed within one heartbeat, even if it only listens. */
  private startExpirySweep(server: Server, everyMs: number): void {
    this.expirySweep = setInterval(() => {
      const now = Date.now();
      for (const socket of server.of('/').sockets.values()) {
        const identity = (socket.data as Partial<RealtimeSocketData>).identity;
        if (identity && isExpired(identity, now)) expireSocket(socket);
      }
    }, everyMs);
    this.expirySweep.unref();
  }

  private bindRawWsHandlers(connection: RawWsConnection, handlers: MessageMappingProperties[]): void {
    const routes = this.serverOf(connection)?.directRoutes ?? NO_ROUTES;
    const byType = new Map<string, MessageMappingProperties['callback']>();
    for (const handler of handlers) {
      const type = String(handler.message);
      if (routes.has(type)) {
        this.warnShadowed(connection.path, type);
        continue;
      }
      byType.set(type, handler.callback);
    }
    const dispatch: RawWsDispatch = { byType, routes };
    // Frames of one connection are handled strictly in order (Nest's WsAdapter does not guarantee it).
    // A client that sends faster than its frames are handled is paused (TCP back-pressure) rather
    // than queued without bound.
    let queue: Promise<void> = Promise.resolve();
    let pending = 0;
    connection.socket.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      pending += 1;
      if (pending === MAX_PENDING_FRAMES) connection.socket.pause();
      connection.lastSeenAt = Date.now();
      connection.countReceived(
        Buffer.isBuffer(raw)
          ? raw.length
          : Array.isArray(raw)
            ? raw.reduce((n, part) => n + part.length, 0)
            : raw.byteLength,
      );
      queue = queue
        .then(() => this.dispatchFrame(connection, dispatch, raw, isBinary))
        .finally(() => {
          pending -= 1;
          if (pending === MAX_PENDING_FRAMES / 2 && connection.socket.isPaused) connection.socket.resume();
        });
    });
  }

  private readonly shadowed = new Set<string>();

  /** A direct route takes precedence over a @SubscribeMessage handler of the same type: said once. */
  private warnShadowed(path: string, type: string): void {
    const key = `${path} ${type}`;
    if (this.shadowed.has(key)) return;
    this.shadowed.add(key);
    this.log.warn(`"${type}" on ${path} has a direct route: its @SubscribeMessage handler is not called`);
  }

  private serverOf(connection: RawWsConnection): RawWsServer | undefined {
    for (const server of this.rawServers.values()) if (server.connections.has(connection)) return server;
    return undefined;
  }

  private async dispatchFrame(
    connection: RawWsConnection,
    dispatch: RawWsDispatch,
    raw: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
  ): Promise<void> {
    if (!connection.isOpen) return;
    try {
      if (connection.identity && isExpired(connection.identity)) {
        connection.sendError(RealtimeError.authFailed('Token expired'));
        connection.close(RealtimeCloseCode.AUTH_FAILED, 'Token expired');
        return;
      }
      if (isBinary) {
        connection.sendError(RealtimeError.invalidFormat('Binary frames are not supported'));
        return;
      }
      const text = Buffer.isBuffer(raw)
        ? raw.toString('utf8')
        : Buffer.from(raw as ArrayBuffer).toString('utf8');
      const decoded = connection.decode(text);
      if (!decoded.ok) {
        connection.sendError(
          new RealtimeError(decoded.error.code, decoded.error.message, decoded.error.details),
        );
        return;
      }
      const batchType = connection.batchType;
      if (batchType !== undefined && decoded.type === batchType) {
        await this.dispatchBatch(connection, dispatch, decoded.data, batchType);
        return;
      }
      await this.dispatchMessage(connection, dispatch, decoded.type, decoded.data);
    } catch (error) {
      answerWsException(connection, error, this.log);
    }
  }

  /**
   * Handles one decoded message with its direct route or its gateway handler (Nest answers the
   * handler's errors through the gateway's filter; a route's errors are thrown to the caller).
   */
  private async dispatchMessage(
    connection: RawWsConnection,
    dispatch: RawWsDispatch,
    type: string,
    data: unknown,
  ): Promise<void> {
    let result: unknown;
    const route = dispatch.routes.get(type);
    if (route !== undefined) {
      result = route.run(connection, data);
    } else {
      const handler = dispatch.byType.get(type);
      if (handler === undefined) {
        connection.sendError(RealtimeError.invalidFormat(`Unknown message type "${type}"`, { type }));
        return;
      }
      result = handler(data, type);
    }
    // Every response is sent as it comes; the next frame waits until the handler is done.
    await forEachHandlerValue(result, (value) => {
      if (isWsResponse(value)) connection.send(value.event, value.data);
    });
  }

  /** Inbound batch: each inner `{ type, data }` in order, each answered as if sent alone. */
  private async dispatchBatch(
    connection: RawWsConnection,
    dispatch: RawWsDispatch,
    data: unknown,
    batchType: string,
  ): Promise<void> {
    const messages = (data as { messages?: unknown } | null)?.messages;
    if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH) {
      connection.sendError(
        RealtimeError.invalidFormat(
          `${batchType} needs data.messages, an array of 1 to ${MAX_BATCH} messages`,
          {
            field: 'messages',
            max: MAX_BATCH,
          },
        ),
      );
      return;
    }
    for (const [index, inner] of messages.entries()) {
      if (!connection.isOpen) return;
      const message = inner as { type?: unknown; data?: unknown } | null;
      if (
        typeof message !== 'object' ||
        message === null ||
        typeof message.type !== 'string' ||
        message.type === batchType
      ) {
        connection.sendError(
          RealtimeError.invalidFormat(
            `messages[${index}] must be an object with a "type" (batches do not nest)`,
            {
              field: `messages[${index}].type`,
              index,
            },
          ),
        );
        continue;
      }
      try {
        await this.dispatchMessage(connection, dispatch, message.type, message.data ?? {});
      } catch (error) {
        answerWsException(connection, error, this.log);
      }
    }
  }

  private installUpgradeRouter(): void {
    if (this.routedServer) return;
    const httpServer = this.httpServer as HttpServer | undefined;
    if (!httpServer || typeof httpServer.on !== 'function') return;
    httpServer.on('upgrade', this.onUpgrade);
    this.routedServer = httpServer;
  }

  private routeUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query < 0 ? url : url.slice(0, query);
    const raw = this.rawServers.get(pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname);
    if (raw) {
      raw.handleUpgrade(request, socket, head);
      return;
    }
    for (const ioPath of this.ioPaths) {
      // engine.io owns "<path>/" (not "<path>" itself): it answers these.
      if (pathname.startsWith(ioPath === '/' ? '/' : ioPath + '/')) return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }
}
