// TransportDriver over Socket.IO (chat and events API): socket.io-client's own reconnection is off, the
// lifecycle drives the attempts; the handshake's `connect_error` with code AUTH_FAILED is a refused
// token. Liveness is Socket.IO's own ping/pong (a missed pong ends in `disconnect`).
import { io, type Socket } from 'socket.io-client';
import type {
  ChatClientToServerEvents,
  ChatServerToClientEvents,
  RealtimeServerEvents,
  SyncStatePayload,
} from 'nest-realtime/protocol';
import type { TransportDriver } from '../connection/connection-lifecycle';
import type { TransportReporter } from '../connection/websocket-transport';

type EventHandlers<Events> = { [K in keyof Events]: (payload: Events[K]) => void };

/** Every server → client event of the default namespace. */
export type RealtimeIoServerEvents = ChatServerToClientEvents & EventHandlers<RealtimeServerEvents>;
/** Every client → server event of the default namespace. */
export type RealtimeIoClientEvents = ChatClientToServerEvents & {
  rt_sync: (ack: (state: SyncStatePayload) => void) => void;
};
export type RealtimeSocket = Socket<RealtimeIoServerEvents, RealtimeIoClientEvents>;

export interface SocketIoOptions {
  /** Socket.IO engine path. @default '/socket.io' */
  path?: string;
  /** Page declared at the handshake (events API `emitToPage`). */
  page?: string;
  /** Engine transports. @default ['websocket'] */
  transports?: Array<'websocket' | 'polling' | 'webtransport'>;
}

interface ConnectError extends Error {
  data?: { code?: string; message?: string };
}

/** Reason socket.io-client gives for a disconnect the client asked for. */
const CLIENT_DISCONNECT = 'io client disconnect';

export class SocketIoTransport implements TransportDriver {
  readonly socket: RealtimeSocket;
  private reporter: TransportReporter | undefined;

  constructor(
    url: string,
    private readonly options: SocketIoOptions,
  ) {
    this.socket = io(url, {
      path: options.path ?? '/socket.io',
      transports: options.transports ?? ['websocket'],
      autoConnect: false,
      reconnection: false,
      forceNew: true,
    });
    this.socket.io.on('open', () => this.reporter?.transportOpened());
    this.socket.on('connect', () => this.reporter?.transportAuthenticated());
    this.socket.on('connect_error', (error: ConnectError) => {
      if (error.data?.code === 'AUTH_FAILED')
        this.reporter?.transportAuthFailed(error.data.message ?? error.message);
      else this.reporter?.transportLost(error.message);
    });
    this.socket.on('disconnect', (reason) => {
      if (reason !== CLIENT_DISCONNECT) this.reporter?.transportLost(reason);
    });
  }

  attach(reporter: TransportReporter): void {
    this.reporter = reporter;
  }

  get isOpen(): boolean {
    return this.socket.connected;
  }

  open(token: string | undefined): void {
    const auth: Record<string, string> = {};
    if (token !== undefined) auth.token = token;
    if (this.options.page !== undefined) auth.page = this.options.page;
    this.socket.auth = auth;
    this.socket.connect();
  }

  close(): void {
    if (this.socket.active || this.socket.connected) this.socket.disconnect();
  }
}
