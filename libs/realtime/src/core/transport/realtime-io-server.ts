// The library's Socket.IO server: authentication and connection limits in the handshake middleware
// (a slot is taken before the connection completes), identity rooms joined at connection, bytes
// counted and inbound activity stamped per engine.io packet, and its sockets under the liveness rule.
// At shutdown, new handshakes are refused by engine.io and the connections are ended so that their
// clients reconnect by themselves (shutdown-coordinator.ts). The client address's limits, the bound
// on what is queued for one client and the broadcast frames written once built:
// socket-io-address-limits.ts, socket-io-send-bound.ts, socket-io-direct-frames.ts.
import type { Server, ServerOptions, Socket } from 'socket.io';
import { RealtimeErrorCode } from '../../protocol';
import { ROOM_PREFIX } from '../../realtime.constants';
import type { RealtimeIdentity } from '../auth/realtime-identity';
import { RealtimeError, toRealtimeError } from '../errors/realtime-error';
import type { ConnectionLifecycle } from './connection-lifecycle.service';
import type { ConnectionLiveness, LivenessTransport } from './connection-liveness';
import { SHUTDOWN_CLOSE_REASON, type ShutdownGate } from './shutdown-coordinator';
import { SocketIoAddressLimits } from './socket-io-address-limits';
import { SocketIoDirectFrames } from './socket-io-direct-frames';
import { packetLength, SocketIoSendBound } from './socket-io-send-bound';
import {
  collectDisconnectHooks,
  endSocket,
  runDisconnectHooks,
  type RealtimeSocketData,
} from './socket-io-binding';

/**
 * Epoch ms of the last inbound Socket.IO packet (an event or an ack, never an engine.io pong), kept on
 * the engine.io connection, where the shared packet listener finds it as `this`.
 */
const LAST_INBOUND = Symbol('realtime.lastInboundAt');

type EngineConnection = Socket['conn'] & { [LAST_INBOUND]?: number };

const NO_AUTH: Record<string, unknown> = Object.freeze({});

/** A handshake's `auth` without its token (kept on the socket once verified). */
export function withoutToken(auth: Record<string, unknown>): Record<string, unknown> {
  if (!('token' in auth)) return auth;
  // A rest copy defines its properties (a client's "__proto__" field stays a plain field) and stays
  // a fast object, where a spread then `delete` left it in V8's slow dictionary mode.
  const { token: _token, ...rest } = auth;
  for (const _key in rest) return rest;
  // The usual auth held the token alone.
  return NO_AUTH;
}

/** The rooms every socket joins at connection, derived from its identity. */
export function identityRooms(identity: RealtimeIdentity): string[] {
  const rooms = [ROOM_PREFIX.user + identity.userId];
  if (identity.page) rooms.push(ROOM_PREFIX.page + identity.page);
  if (identity.isAdmin) rooms.push(ROOM_PREFIX.admins);
  return rooms;
}

/** Socket.IO server options from the library's options; `shutdown` refuses handshakes once it drains. */
export function realtimeIoOptions(
  options: ConnectionLifecycle['options'],
  shutdown: ShutdownGate,
): Partial<ServerOptions> & { destroyUpgrade: boolean; path: string } {
  const { limits, paths, socketIo, chat, redis } = options;
  // The classic Redis adapter keeps no session: recovery would only cost (with it on, every emit to
  // one socket goes through the adapter, and so through Redis).
  const recovery = chat.recoveryWindowMs > 0 && redis?.socketIoAdapter !== 'pubsub';
  return {
    path: paths.socketIo,
    maxHttpBufferSize: limits.maxPayloadBytes,
    pingInterval: limits.heartbeatIntervalMs,
    pingTimeout: limits.heartbeatTimeoutMs,
    cors: socketIo.cors,
    // The upgrade router hands engine.io only the upgrades of its path.
    destroyUpgrade: false,
    // A client that drops briefly gets the packets it missed (rooms and socket.data restored too).
    // Middlewares still run: a recovered session is authenticated and counted again.
    connectionStateRecovery: recovery
      ? { maxDisconnectionDuration: chat.recoveryWindowMs, skipMiddlewares: false }
      : undefined,
    // A new engine.io handshake (never a request of an open session) is refused while the shutdown
    // drains: HTTP 403, a transport error for the client, which retries. Refused later, by the
    // handshake middleware, socket.io-client would not retry at all.
    allowRequest: (_request, callback) =>
      callback(shutdown.draining ? SHUTDOWN_CLOSE_REASON : null, !shutdown.draining),
  };
}

/** Bound on the close of an engine.io connection whose client does not read what is still queued. */
const ENGINE_CLOSE_MS = 1000;

/**
 * Ends every connection of the server at shutdown by closing its engine.io connection: the client's
 * reason is "transport close", after which it reconnects by itself (a server-side `disconnect()`
 * gives "io server disconnect", after which it does not). Packets already queued are sent first;
 * a connection whose client reads none within a second is closed without them. Resolves once all
 * are closed. The sessions are kept for connection state recovery ("forced close" is recoverable).
 */
export async function endIoTransports(server: Server): Promise<void> {
  // Every engine.io connection: those on a host's namespace and those whose CONNECT is pending too.
  // (engine.io's `clients` map is public at run time; its typings mark it protected.)
  const engine = server.engine as unknown as { clients: Record<string, Socket['conn']> };
  const connections = Object.values(engine.clients);
  await Promise.all(
    connections.map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.readyState === 'closed') return resolve();
          const timer = setTimeout(() => connection.close(true), ENGINE_CLOSE_MS);
          connection.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          connection.close();
        }),
    ),
  );
}

/**
 * Installs the handshake middleware and the connection listener on a new server, publishes it for
 * EventsManager, and puts its sockets under the liveness rule. Returns the function that takes them
 * out of it.
 */
export function setUpRealtimeIoServer(
  server: Server,
  lifecycle: ConnectionLifecycle,
  liveness: ConnectionLiveness,
): () => void {
  /** Sockets past the middleware whose connection has not completed, with their early release. */
  const connecting = new WeakMap<Socket, () => void>();
  function onRealtimeDisconnect(this: Socket): void {
    lifecycle.release(this.id);
    runDisconnectHooks(this);
  }
  // Counted per engine.io connection from its opening; checked first in the middleware.
  const addressLimits = new SocketIoAddressLimits(server, lifecycle.clientAddresses);

  server.use((socket, next) => {
    // A CONNECT on an engine.io connection opened before the shutdown: end the connection, so that
    // the client reconnects (refusing the CONNECT with an error would stop socket.io-client).
    if (lifecycle.shutdown.draining) {
      socket.conn.close();
      return;
    }
    try {
      addressLimits.check(socket);
      // A recovered session id that is connected already is being replayed: refuse it.
      if (lifecycle.isRegistered(socket.id)) {
        throw new RealtimeError(RealtimeErrorCode.CONNECTION_LIMIT, 'Session already connected');
      }
      lifecycle.checkOrigin(socket.handshake.headers.origin);
      const identity = lifecycle.authenticate({
        auth: socket.handshake.auth,
        query: socket.handshake.query,
        headers: socket.handshake.headers,
      });
      lifecycle.checkCapacity(identity);
      const data = socket.data as RealtimeSocketData;
      data.identity = identity;
      // The verified token is not kept for the life of the socket (the identity holds what it said).
      socket.handshake.auth = withoutToken(socket.handshake.auth);
      // The slot is taken here, not at 'connection' (one tick later): several CONNECT packets in
      // one batch cannot all pass the limit. The socket keeps the identity the registry keeps, shared
      // with the user's other connections of equal claims, not a second copy of it.
      data.identity = lifecycle.register(socket.id, 'socket.io', identity, {
        endWith(error) {
          socket.emit('error', error.toPayload());
          socket.disconnect(true);
        },
      });
      // Released on disconnect (one shared listener, which also runs Nest's disconnect hooks), or
      // when the transport closes before the connection completes (that socket never disconnects).
      collectDisconnectHooks(socket);
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
      addressLimits.closeIfRefused(socket);
    }
  });
  const counters = lifecycle.counters;
  const watch = liveness.watch(ioLivenessView(server));
  // Bytes through this transport as engine.io frames them, per recipient for broadcasts, counted by
  // the send bound's packet listener. String length stands for bytes (equal for ASCII JSON): no
  // per-recipient scan of the payload.
  const sendBound = new SocketIoSendBound(lifecycle.options.limits.maxBufferedBytes, (bytes) =>
    counters.sent(bytes),
  );
  // A broadcast's frame written once built (counted and bounded the same): socket-io-direct-frames.ts.
  const directFrames = new SocketIoDirectFrames((bytes) => counters.sent(bytes), sendBound);
  // One listener for every connection: the activity stamp is a property write on `this`.
  function onPacket(this: EngineConnection, packet: { type: string; data?: unknown }): void {
    if (packet.type !== 'message') return;
    this[LAST_INBOUND] = Date.now();
    counters.bytesReceived += packetLength(packet.data);
  }
  // Registered before any gateway's handler, so identity rooms exist when handleConnection runs.
  server.on('connection', (socket: Socket) => {
    const releaseEarly = connecting.get(socket);
    if (releaseEarly !== undefined) {
      connecting.delete(socket);
      socket.conn.off('close', releaseEarly);
    }
    void socket.join(identityRooms((socket.data as RealtimeSocketData).identity));
    (socket.conn as EngineConnection)[LAST_INBOUND] = Date.now();
    watch.admit(socket);
    socket.conn.on('packet', onPacket);
    sendBound.watch(socket.conn);
    directFrames.watch(socket.conn);
  });
  lifecycle.publishSocketIoServer(server, watch);
  return () => {
    watch.stop();
    addressLimits.stop();
  };
}

/**
 * The server's sockets (chat and events API alike) as the liveness rule sees them: activity is any
 * inbound event packet; the heartbeat is engine.io's own (`pingInterval` / `pingTimeout`).
 */
function ioLivenessView(server: Server): LivenessTransport<Socket> {
  return {
    connections: () => server.of('/').sockets.values(),
    isOpen: (socket) => socket.connected,
    identityOf: (socket) => (socket.data as Partial<RealtimeSocketData>).identity ?? null,
    lastInboundAt: (socket) => (socket.conn as EngineConnection)[LAST_INBOUND] ?? Date.now(),
    end: endSocket,
  };
}
