// RealtimeAdapter: the one WebSocket adapter a Nest app may have, serving Socket.IO gateways and raw
// `ws` gateways side by side on the host's HTTP port. Host main.ts:
//   app.useWebSocketAdapter(new RealtimeAdapter(app));
// A facade over four parts, one job each: the library's Socket.IO server (realtime-io-server.ts), the
// Socket.IO handler binding (socket-io-binding.ts), the raw ws frame dispatch (raw-ws-dispatcher.ts)
// and the HTTP upgrade router (upgrade-router.ts).
import type { INestApplicationContext } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Server as HttpServer } from 'http';
import type { Observable } from 'rxjs';
import type { Server } from 'socket.io';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import { ConnectionLifecycle } from './connection-lifecycle.service';
import { ConnectionLiveness } from './connection-liveness';
import { StorageFaultLog } from '../filters/storage-fault-log';
import type { FrameRoute } from './direct-frame-route';
import { RawWsConnection } from './raw-ws-connection';
import { RawWsDispatcher } from './raw-ws-dispatcher';
import { sharedGatewayHandlers } from './shared-gateway-handlers';
import { RawWsServer } from './raw-ws-server';
import { endIoTransports, realtimeIoOptions, setUpRealtimeIoServer } from './realtime-io-server';
import {
  isRealtimeGatewayMetadata,
  type RealtimePathRef,
  type RealtimeWsGatewayOptions,
} from './realtime-gateway.decorator';
import { SocketIoBinding, type BoundSocket } from './socket-io-binding';
import { UpgradeRouter } from './upgrade-router';

export type { RealtimeSocketData } from './socket-io-binding';
export { identityRooms } from './realtime-io-server';

type IoCreateOptions = Parameters<IoAdapter['create']>[1];
/**
 * What IoAdapter's create() returns, named through IoAdapter: the host's @nestjs/platform-socket.io
 * may hold its own copy of socket.io, and the override must match its types, not another copy's.
 */
type IoCreated = ReturnType<IoAdapter['create']>;

const NO_ROUTES: ReadonlyMap<string, FrameRoute> = new Map();

export class RealtimeAdapter extends IoAdapter {
  // Not `logger`: Nest 12's IoAdapter has a protected field of that name.
  private readonly log = new Logger('RealtimeAdapter');
  private readonly router = new UpgradeRouter();
  private readonly dispatcher = new RawWsDispatcher(this.log, () => this.storageFaults());
  private readonly binding = new SocketIoBinding(
    () => this.getLifecycle(),
    (payload) => this.mapPayload(payload),
    this.log,
    (handlers) => sharedGatewayHandlers(this.app, (options) => options.transport === 'socket.io', handlers),
  );
  private lifecycle: ConnectionLifecycle | null = null;
  private storageFaultLog: StorageFaultLog | null = null;
  private stopIoLiveness: (() => void) | null = null;

  constructor(private readonly app: INestApplicationContext) {
    super(app);
  }

  override create(port: number, options?: IoCreateOptions): IoCreated {
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
      this.router.install(this.httpServer as HttpServer | undefined);
      this.router.ioPaths.add(path);
      return super.create(port, { ...options, destroyUpgrade: false } as IoCreateOptions);
    }
    const lifecycle = this.getLifecycle();
    lifecycle.adapterBound = true;
    this.router.install(this.httpServer as HttpServer | undefined);
    if (options.realtime.transport === 'ws') {
      // Nest treats the returned object as an opaque server: it only binds connection handlers to it.
      return this.createRawWsServer(options.realtime, lifecycle) as unknown as IoCreated;
    }
    const ioOptions = realtimeIoOptions(this.options, lifecycle.shutdown);
    this.router.ioPaths.add(ioOptions.path);
    // createIOServer, not create(): on Nest 12 create() may return a Namespace.
    const server = this.createIOServer(port, ioOptions) as Server;
    this.stopIoLiveness = setUpRealtimeIoServer(server, lifecycle, this.liveness());
    lifecycle.shutdown.closeOnShutdown(() => endIoTransports(server));
    return server;
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
      // Run by the endpoint's one close listener, after its own cleanup (RawWsServer.closed).
      client.disconnectHook = callback;
      return;
    }
    // A socket of the realtime server collects its hooks; a host's own Socket.IO server binds them.
    if (!this.binding.addDisconnectHook(client as BoundSocket, callback)) {
      super.bindClientDisconnect(client, callback);
    }
  }

  /** Nest's per-client result transform is not kept: both transports handle results themselves. */
  override bindMessageHandlers(
    client: unknown,
    handlers: MessageMappingProperties[],
    _transform: (data: unknown) => Observable<unknown>,
  ): void {
    if (client instanceof RawWsConnection) {
      const server = this.serverOf(client);
      this.dispatcher.bind(
        client,
        handlers,
        server?.directRoutes ?? NO_ROUTES,
        this.getLifecycle().shutdown,
        () =>
          server === undefined
            ? null
            : sharedGatewayHandlers(this.app, (options) => options === server.gateway, handlers),
      );
      return;
    }
    this.binding.bindHandlers(client as BoundSocket, handlers);
  }

  override async close(server: unknown): Promise<void> {
    if (server instanceof RawWsServer) {
      this.router.rawServers.delete(server.path);
      await server.close();
      return;
    }
    await super.close(server as Server);
  }

  override async dispose(): Promise<void> {
    this.stopIoLiveness?.();
    this.stopIoLiveness = null;
    this.router.uninstall();
    await Promise.all([...this.router.rawServers.values()].map((server) => server.close()));
    this.router.rawServers.clear();
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

  /** Provided next to ConnectionLifecycle, so found once getLifecycle() succeeded. */
  private liveness(): ConnectionLiveness {
    return this.app.get(ConnectionLiveness, { strict: false });
  }

  /** The module's log of database outages; null (errors logged per connection) if it is not found. */
  private storageFaults(): StorageFaultLog | null {
    if (this.storageFaultLog === null) {
      try {
        this.storageFaultLog = this.app.get(StorageFaultLog, { strict: false });
      } catch {
        // Called while answering an error: a missing provider must not turn into a second one.
        return null;
      }
    }
    return this.storageFaultLog;
  }

  private get options(): ResolvedRealtimeOptions {
    return this.getLifecycle().options;
  }

  private resolvePath(ref: RealtimePathRef): string {
    if (ref === '@rooms') return this.options.paths.rooms;
    if (ref === '@logs') return this.options.paths.logs;
    return ref;
  }

  private createRawWsServer(gateway: RealtimeWsGatewayOptions, lifecycle: ConnectionLifecycle): RawWsServer {
    const path = this.resolvePath(gateway.path);
    if (this.router.rawServers.has(path)) {
      throw new Error(`RealtimeAdapter: two raw WebSocket endpoints on ${path}`);
    }
    const { limits } = this.options;
    const server = new RawWsServer(
      path,
      gateway,
      {
        maxPayloadBytes: limits.maxPayloadBytes,
        maxBufferedBytes: limits.maxBufferedBytes,
        // ws applies the threshold only without server context takeover.
        perMessageDeflate: this.options.compression.enabled
          ? { threshold: this.options.compression.threshold, serverNoContextTakeover: true }
          : false,
      },
      lifecycle,
      this.liveness(),
    );
    this.router.rawServers.set(path, server);
    lifecycle.registerEndpoint(gateway.path, server);
    lifecycle.shutdown.closeOnShutdown(() => server.goAway());
    return server;
  }

  private serverOf(connection: RawWsConnection): RawWsServer | undefined {
    for (const server of this.router.rawServers.values())
      if (server.connections.has(connection)) return server;
    return undefined;
  }
}
