// The policy side of the transport adapter: who may connect (token, limits), what a connection is
// registered as, which fresh token an open connection may take, and where the Socket.IO server is
// published for EventsManager.
import { Inject, Injectable } from '@nestjs/common';
import type { Server, Socket } from 'socket.io';
import { RealtimeErrorCode } from '../../protocol';
import { REALTIME_OPTIONS } from '../../realtime.constants';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import type { RealtimeIdentity } from '../auth/realtime-identity';
import type { HandshakeSource } from '../auth/token-extractor';
import { TokenVerifier } from '../auth/token-verifier.service';
import {
  ConnectionRegistry,
  type EndableConnection,
  type RealtimeTransport,
} from '../connection-registry.service';
import { RealtimeError } from '../errors/realtime-error';
import {
  REALTIME_REDIS,
  socketIoRedisAdapter,
  type RealtimeRedisClients,
} from '../scale-out/redis-clients.provider';
import { TransportCounters } from '../metrics/transport-counters.service';
import { ClientAddressLimits } from './client-address-limits.service';
import type { LivenessWatch } from './connection-liveness';
import type { RawWsServer } from './raw-ws-server';
import { identityRooms } from './realtime-io-server';
import { ShutdownCoordinator } from './shutdown-coordinator';
import type { RealtimeSocketData } from './socket-io-binding';
import { SocketIoServerRef } from './socket-io-server.ref';

@Injectable()
export class ConnectionLifecycle {
  /** Set by RealtimeAdapter when it serves this module's gateways (checked at boot). */
  adapterBound = false;
  /** The Socket.IO server's sockets under the liveness rule: a refreshed expiry is timed there. */
  private ioLiveness: LivenessWatch<Socket> | null = null;

  constructor(
    @Inject(REALTIME_OPTIONS) readonly options: ResolvedRealtimeOptions,
    private readonly verifier: TokenVerifier,
    private readonly registry: ConnectionRegistry,
    private readonly ioServerRef: SocketIoServerRef,
    @Inject(REALTIME_REDIS) private readonly redis: RealtimeRedisClients | null,
    readonly counters: TransportCounters,
    /** The shutdown's gate: the transports refuse new connections and frames once it drains. */
    readonly shutdown: ShutdownCoordinator,
    /** The per-client-address limits, applied by every transport before the origin and the token. */
    readonly clientAddresses: ClientAddressLimits,
  ) {}

  /** Verifies the handshake's token; throws RealtimeError(AUTH_FAILED). */
  authenticate(source: HandshakeSource): RealtimeIdentity {
    return this.verifier.verifyHandshake(source);
  }

  /** Verifies a token given after the handshake (deferred authentication). */
  authenticateToken(token: string | undefined, page: string | null = null): RealtimeIdentity {
    return this.verifier.verify(token, page);
  }

  /**
   * A fresh token on an open connection whose identity is `current`: verified as at the handshake,
   * for the same user and app (RefreshRefusedError otherwise: the connection keeps its identity).
   * The registry's entry takes the new identity in place, without a release and a new registration:
   * the user's presence does not flap.
   */
  refresh(id: string, current: RealtimeIdentity, token: string | undefined): RealtimeIdentity {
    const identity = this.verifier.verifyRefresh(current, token);
    this.registry.updateIdentity(id, identity);
    return identity;
  }

  /**
   * `refresh` for a Socket.IO socket (chat and events API): the socket carries the new identity, its
   * identity rooms follow the token's roles (the admins' room), and the liveness rule times the new
   * expiry. Returns the new identity.
   */
  async refreshSocket(socket: Socket, token: string | undefined): Promise<RealtimeIdentity> {
    const data = socket.data as Partial<RealtimeSocketData>;
    const current = data.identity;
    if (current === undefined) throw RealtimeError.authFailed('Not authenticated');
    const identity = this.refresh(socket.id, current, token);
    data.identity = identity;
    const rooms = identityRooms(identity);
    for (const room of identityRooms(current)) {
      if (!rooms.includes(room)) await socket.leave(room);
    }
    await socket.join(rooms);
    this.ioLiveness?.admit(socket);
    return identity;
  }

  /** Throws RealtimeError(PERMISSION_DENIED) for a browser origin outside `allowedOrigins`. */
  checkOrigin(origin: string | string[] | undefined): void {
    const allowed = this.options.allowedOrigins;
    if (allowed === null || origin === undefined) return;
    const value = Array.isArray(origin) ? origin[0] : origin;
    if (value !== undefined && allowed.has(value)) return;
    throw new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, 'Origin not allowed', {
      origin: value ?? null,
    });
  }

  /** Throws RealtimeError(CONNECTION_LIMIT) when this connection would exceed a limit. */
  checkCapacity(identity: RealtimeIdentity | null): void {
    const { maxConnections, maxConnectionsPerUser } = this.options.limits;
    if (this.registry.size + this.registry.pendingCount >= maxConnections) {
      throw new RealtimeError(RealtimeErrorCode.CONNECTION_LIMIT, 'Server connection limit reached', {
        max_connections: maxConnections,
      });
    }
    if (identity && this.registry.connectionsOf(identity.userId) >= maxConnectionsPerUser) {
      throw new RealtimeError(RealtimeErrorCode.CONNECTION_LIMIT, 'Too many connections for this user', {
        max_connections_per_user: maxConnectionsPerUser,
      });
    }
  }

  /** A connection accepted before its authentication takes a slot until it authenticates or closes. */
  holdPending(): void {
    this.registry.holdPending();
  }

  releasePending(): void {
    this.registry.releasePending();
  }

  /**
   * Counts an authenticated connection. `end` closes it with an error: with `redis`, a per-user limit
   * is checked against the whole deployment once the connection is counted there. Returns the
   * identity to keep for the connection (shared with the user's other connections when equal).
   */
  register(
    id: string,
    transport: RealtimeTransport,
    identity: RealtimeIdentity,
    end?: EndableConnection,
  ): RealtimeIdentity {
    return this.registry.add(id, transport, identity, end);
  }

  isRegistered(id: string): boolean {
    return this.registry.has(id);
  }

  release(id: string): void {
    this.registry.remove(id);
  }

  /** Raw ws endpoints by the path reference of their gateway ('@rooms', '@logs', or a literal path). */
  private readonly endpoints = new Map<string, RawWsServer>();

  registerEndpoint(pathRef: string, server: RawWsServer): void {
    this.endpoints.set(pathRef, server);
  }

  /** The raw ws endpoint of a gateway, e.g. to serve it on a second port as well. */
  endpoint(pathRef: string): RawWsServer | undefined {
    return this.endpoints.get(pathRef);
  }

  /**
   * Relays the server's broadcasts through Redis when configured, and publishes it to EventsManager;
   * `liveness` is its sockets' watch (refreshed tokens are admitted there).
   */
  publishSocketIoServer(server: Server, liveness?: LivenessWatch<Socket>): void {
    if (this.redis) server.adapter(socketIoRedisAdapter(this.redis));
    this.ioServerRef.attach(server);
    this.ioLiveness = liveness ?? null;
  }
}
