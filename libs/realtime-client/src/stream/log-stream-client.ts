// Log stream client: the per-application log and metrics stream, with the connection lifecycle. The
// backlog the server sends after each (re)authentication is deduplicated by log id, and the `subscribe`
// filter is sent again after a reconnection. The token is refreshed on the open connection with a
// second `auth` frame.
import {
  type LogEntry,
  type LogFilter,
  type PayloadEnvelope,
  type RealtimeErrorPayload,
  type StreamAuthSuccessPayload,
  type StreamClientFrame,
  type StreamServerFrame,
} from 'nest-realtime/protocol';
import { ConnectionLifecycle } from '../connection/connection-lifecycle';
import type { HeartbeatOptions } from '../connection/heartbeat';
import {
  resolveConnectionOptions,
  toWebSocketUrl,
  type ConnectionOptions,
} from '../connection/connection.options';
import { ManagedClient } from '../connection/managed-client';
import { PendingRequests } from '../connection/pending-requests';
import { ClientErrorCode, RealtimeClientError } from '../connection/realtime-client.error';
import { retryAfterOf } from '../connection/retry-after';
import { TypedEmitter } from '../connection/typed-emitter';
import { WebSocketTransport, type InboundSignal, type WireProtocol } from '../connection/websocket-transport';
import { resolveWebSocket } from '../websocket/resolve-websocket';
import type { WebSocketConstructor } from '../websocket/websocket.types';

export interface LogStreamClientOptions extends ConnectionOptions {
  /** Path of the stream endpoint. @default '/ws/logs' */
  path?: string;
  /** WebSocket class. @default globalThis.WebSocket, else the `ws` package (Node) */
  webSocket?: WebSocketConstructor;
  /** Log ids remembered to drop the backlog entries already delivered. @default 5000 */
  dedupeWindow?: number;
  /** `ping` / `pong` frames (a stream addition); `false` turns them off. @default { intervalMs: 30000, timeoutMs: 10000 } */
  heartbeat?: Partial<HeartbeatOptions> | false;
}

type ServerPayload<T extends StreamServerFrame['type']> = Extract<StreamServerFrame, { type: T }>['payload'];

/** Events a LogStreamClient emits; payloads are the frame payloads. */
export interface LogStreamClientEvents {
  connect: ServerPayload<'connect'>;
  /** New entries only: the backlog resent after a reconnection is not delivered twice. */
  logs: LogEntry[];
  metrics: ServerPayload<'metrics'>;
  subscribed: LogFilter;
  /** An error frame that answers no request of this client. */
  error: RealtimeErrorPayload;
}

export interface LogStreamSyncReport {
  /** The filter sent again, if any. */
  filter: LogFilter | undefined;
}

class StreamWireProtocol implements WireProtocol<StreamServerFrame> {
  readonly authenticatedByPong = false;

  constructor(
    private readonly endpoint: string,
    private readonly onIdentity: (identity: StreamAuthSuccessPayload) => void,
    /** A refresh waits for its `auth_success`, which is then its answer, not a (re)authentication. */
    private readonly awaitsRefresh: () => boolean,
  ) {}

  url(token: string | undefined): string {
    return token === undefined ? this.endpoint : `${this.endpoint}?token=${encodeURIComponent(token)}`;
  }

  interpret(text: string): InboundSignal<StreamServerFrame> {
    let frame: StreamServerFrame;
    try {
      frame = JSON.parse(text) as StreamServerFrame;
    } catch {
      // The server only sends JSON; anything else is not a frame of this protocol.
      return { kind: 'ignored' };
    }
    if (frame.type === 'auth_success') {
      if (this.awaitsRefresh()) return { kind: 'frame', frame };
      this.onIdentity(frame.payload);
      return { kind: 'authenticated' };
    }
    if (frame.type === 'auth_error') return { kind: 'auth_failed', message: frame.payload.message };
    if (frame.type === 'pong') return { kind: 'pong' };
    if (frame.type === 'error')
      return { kind: 'frame', frame, error: { retryAfterMs: retryAfterOf(frame.payload) } };
    return { kind: 'frame', frame };
  }

  pingFrame(): string {
    return encodeStreamFrame({ type: 'ping', payload: {} });
  }
}

function encodeStreamFrame(frame: StreamClientFrame): string {
  const envelope: PayloadEnvelope = frame;
  return JSON.stringify(envelope);
}

export class LogStreamClient extends ManagedClient<LogStreamSyncReport> {
  protected readonly lifecycle: ConnectionLifecycle<LogStreamSyncReport>;
  private readonly transport: WebSocketTransport<StreamServerFrame>;
  private readonly events = new TypedEmitter<LogStreamClientEvents>();
  private readonly pending: PendingRequests<StreamServerFrame>;
  private readonly delivered = new Set<string>();
  private readonly dedupeWindow: number;
  private filter: LogFilter | undefined;
  private authenticatedAs: StreamAuthSuccessPayload | undefined;
  /** Refreshes sent and not answered yet. */
  private refreshes = 0;

  constructor(options: LogStreamClientOptions) {
    super();
    const resolved = resolveConnectionOptions(options);
    const endpoint = `${toWebSocketUrl(resolved.url)}${options.path ?? '/ws/logs'}`;
    this.dedupeWindow = options.dedupeWindow ?? 5000;
    const heartbeat =
      options.heartbeat === false ? false : { intervalMs: 30000, timeoutMs: 10000, ...options.heartbeat };
    this.pending = new PendingRequests(resolved.requestTimeoutMs);
    this.transport = new WebSocketTransport(
      resolveWebSocket(options.webSocket),
      new StreamWireProtocol(
        endpoint,
        (identity) => (this.authenticatedAs = identity),
        () => this.refreshes > 0,
      ),
      heartbeat,
      (frame) => this.receive(frame),
    );
    this.lifecycle = new ConnectionLifecycle(this.transport, resolved, {
      synchronize: (resync) => this.synchronize(resync),
      connectionLost: (error) => this.pending.rejectAll(error),
      refreshSession: (token) => this.sendRefresh(token),
    });
    this.transport.attach(this.lifecycle);
  }

  /** The app and user the server authenticated (after `connect()`). */
  get identity(): StreamAuthSuccessPayload | undefined {
    return this.authenticatedAs;
  }

  on<K extends keyof LogStreamClientEvents>(
    event: K,
    listener: (payload: LogStreamClientEvents[K]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  /** Sets the filter of the `logs` this client receives (kept across reconnections). */
  subscribe(filter: LogFilter): Promise<LogFilter> {
    return new Promise<LogFilter>((resolve, reject) => {
      this.lifecycle.submit({
        run: () =>
          void this.sendSubscribe(filter).then((applied) => {
            this.filter = filter;
            resolve(applied);
          }, reject),
        fail: reject,
      });
    });
  }

  private sendSubscribe(filter: LogFilter): Promise<LogFilter> {
    if (!this.transport.isOpen) {
      return Promise.reject(
        new RealtimeClientError(ClientErrorCode.CONNECTION_LOST, 'Connection lost before subscribe'),
      );
    }
    const answer = this.pending.add('subscribe', (frame) => frame.type === 'subscribed');
    this.transport.send(encodeStreamFrame({ type: 'subscribe', payload: filter }));
    return answer.then((frame) => frame.payload as LogFilter);
  }

  /** A second `auth` frame: answered by `auth_success`, or refused by an `error` frame (the oldest request). */
  private async sendRefresh(token: string): Promise<void> {
    if (!this.transport.isOpen) {
      throw new RealtimeClientError(ClientErrorCode.CONNECTION_LOST, 'Connection lost before auth');
    }
    const answer = this.pending.add('auth', (frame) => frame.type === 'auth_success');
    this.refreshes += 1;
    try {
      this.transport.send(encodeStreamFrame({ type: 'auth', payload: { token } }));
      await answer;
    } finally {
      this.refreshes -= 1;
    }
  }

  private async synchronize(resync: boolean): Promise<LogStreamSyncReport> {
    if (resync && this.filter) await this.sendSubscribe(this.filter);
    return { filter: this.filter };
  }

  private receive(frame: StreamServerFrame): void {
    switch (frame.type) {
      case 'logs': {
        const fresh = frame.payload.filter((entry) => this.remember(entry.id));
        if (fresh.length > 0) this.events.emit('logs', fresh);
        return;
      }
      case 'error':
        if (!this.pending.rejectOldest(RealtimeClientError.fromPayload(frame.payload))) {
          this.events.emit('error', frame.payload);
        }
        return;
      case 'auth_success':
        // The answer of a refresh (a first authentication is the transport's).
        this.pending.resolveMatching(frame);
        return;
      case 'subscribed':
        this.pending.resolveMatching(frame);
        this.events.emit('subscribed', frame.payload);
        return;
      case 'metrics':
        this.events.emit('metrics', frame.payload);
        return;
      case 'connect':
        this.events.emit('connect', frame.payload);
        return;
      default:
        return;
    }
  }

  /** True the first time an id is seen. */
  private remember(id: string): boolean {
    if (this.delivered.has(id)) return false;
    this.delivered.add(id);
    if (this.delivered.size > this.dedupeWindow) {
      const oldest = this.delivered.values().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
    return true;
  }
}
