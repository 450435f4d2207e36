// Events API listener: the rt_* events of the page this client declares, typed by event name, with the
// connection lifecycle. After a reconnection it asks `rt_sync` for the current state and reports it
// through onSyncComplete.
import type { RealtimeServerEventName, RealtimeServerEvents, SyncStatePayload } from 'nest-realtime/protocol';
import { ConnectionLifecycle } from '../connection/connection-lifecycle';
import { resolveConnectionOptions, type ConnectionOptions } from '../connection/connection.options';
import { ManagedClient } from '../connection/managed-client';
import { ClientErrorCode, RealtimeClientError } from '../connection/realtime-client.error';
import { TypedEmitter } from '../connection/typed-emitter';
import { SocketIoTransport, type SocketIoOptions } from './socket-io-transport';

export type RealtimeEventsClientOptions = ConnectionOptions & SocketIoOptions;

const EVENT_PREFIX = 'rt_';

export class RealtimeEventsClient extends ManagedClient<SyncStatePayload | undefined> {
  protected readonly lifecycle: ConnectionLifecycle<SyncStatePayload | undefined>;
  private readonly transport: SocketIoTransport;
  private readonly events = new TypedEmitter<RealtimeServerEvents>();
  private readonly requestTimeoutMs: number;

  constructor(options: RealtimeEventsClientOptions) {
    super();
    const resolved = resolveConnectionOptions(options);
    this.requestTimeoutMs = resolved.requestTimeoutMs;
    this.transport = new SocketIoTransport(resolved.url, options);
    this.lifecycle = new ConnectionLifecycle(this.transport, resolved, {
      synchronize: async (resync) => (resync ? this.requestSync() : undefined),
      connectionLost: () => undefined,
      refreshSession: (token) => this.transport.refresh(token, this.requestTimeoutMs),
    });
    this.transport.attach(this.lifecycle);
    this.transport.socket.onAny((event: string, payload: unknown) => {
      if (event.startsWith(EVENT_PREFIX)) {
        this.events.emit(
          event as RealtimeServerEventName,
          payload as RealtimeServerEvents[RealtimeServerEventName],
        );
      }
    });
  }

  on<K extends RealtimeServerEventName>(
    event: K,
    listener: (payload: RealtimeServerEvents[K]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  off<K extends RealtimeServerEventName>(
    event: K,
    listener: (payload: RealtimeServerEvents[K]) => void,
  ): void {
    this.events.off(event, listener);
  }

  /** The server's current state for this client's page (modules, and stats for admins). */
  async sync(): Promise<SyncStatePayload> {
    await this.lifecycle.whenActive();
    return this.requestSync();
  }

  private async requestSync(): Promise<SyncStatePayload> {
    if (!this.transport.isOpen) {
      throw new RealtimeClientError(ClientErrorCode.CONNECTION_LOST, 'Connection lost before rt_sync');
    }
    try {
      return (await this.transport.socket
        .timeout(this.requestTimeoutMs)
        .emitWithAck('rt_sync')) as SyncStatePayload;
    } catch {
      // emitWithAck on a timeout() socket rejects only when the acknowledgement does not come in time.
      throw new RealtimeClientError(
        ClientErrorCode.TIMEOUT,
        `No rt_sync answer within ${this.requestTimeoutMs} ms`,
      );
    }
  }
}
