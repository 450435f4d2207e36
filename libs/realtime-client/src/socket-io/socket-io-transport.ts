// TransportDriver over Socket.IO (chat and events API): socket.io-client's own reconnection is off, the
// lifecycle drives the attempts; the handshake's `connect_error` with code AUTH_FAILED is a refused
// token, and so is an `error` AUTH_FAILED followed by the server's disconnect (the token expired, or
// the session was revoked). Liveness is Socket.IO's own ping/pong (a missed pong ends in `disconnect`).
// `authRefresh` gives the open socket a fresh token.
import { io, type Socket } from 'socket.io-client';
import {
  AUTH_REFRESH_REFUSED,
  RealtimeErrorCode,
  type AuthRefreshAck,
  type ChatClientToServerEvents,
  type ChatServerToClientEvents,
  type RealtimeErrorPayload,
  type RealtimeServerEvents,
  type SyncStatePayload,
} from 'nest-realtime/protocol';
import type { TransportDriver } from '../connection/connection-lifecycle';
import { retryAfterOf } from '../connection/retry-after';
import { ClientErrorCode, RealtimeClientError } from '../connection/realtime-client.error';
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
  data?: { code?: string; message?: string; details?: Record<string, unknown> };
}

/** Reason socket.io-client gives for a disconnect the client asked for. */
const CLIENT_DISCONNECT = 'io client disconnect';
/** Reason socket.io-client gives for a disconnect the server asked for (`socket.disconnect()`). */
const SERVER_DISCONNECT = 'io server disconnect';

/** An AUTH_FAILED that ends the session (a refused refresh leaves it as it was). */
function endsSession(error: RealtimeErrorPayload): boolean {
  return error.code === RealtimeErrorCode.AUTH_FAILED && error.details?.reason !== AUTH_REFRESH_REFUSED;
}

export class SocketIoTransport implements TransportDriver {
  readonly socket: RealtimeSocket;
  private reporter: TransportReporter | undefined;
  /**
   * The message of the last `error` event when it was an AUTH_FAILED that ends the session: the
   * server tells why, then disconnects. Any other `error` event clears it.
   */
  private sessionEnding: string | undefined;

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
    this.socket.on('connect', () => {
      this.sessionEnding = undefined;
      this.reporter?.transportAuthenticated();
    });
    this.socket.on('error', (error) => {
      this.sessionEnding = endsSession(error) ? error.message : undefined;
    });
    this.socket.on('connect_error', (error: ConnectError) => {
      if (error.data?.code === 'AUTH_FAILED')
        this.reporter?.transportAuthFailed(error.data.message ?? error.message);
      // A refused handshake may say when to try again (RATE_LIMITED's retry_after_ms).
      else this.reporter?.transportLost(error.message, retryAfterOf(error.data));
    });
    this.socket.on('disconnect', (reason) => {
      const ending = this.sessionEnding;
      this.sessionEnding = undefined;
      if (reason === CLIENT_DISCONNECT) return;
      // An expired or revoked token: the lifecycle asks the token provider, as for a refused handshake.
      if (reason === SERVER_DISCONNECT && ending !== undefined) this.reporter?.transportAuthFailed(ending);
      else this.reporter?.transportLost(reason);
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

  /**
   * Sends `authRefresh` with a fresh token; resolves once acknowledged, rejects with the server's
   * error (AUTH_FAILED: the socket goes on with its token), TIMEOUT, or CONNECTION_LOST.
   */
  async refresh(token: string, timeoutMs: number): Promise<void> {
    if (!this.socket.connected) {
      throw new RealtimeClientError(ClientErrorCode.CONNECTION_LOST, 'Connection lost before authRefresh');
    }
    let answer: AuthRefreshAck;
    try {
      answer = (await this.socket.timeout(timeoutMs).emitWithAck('authRefresh', { token })) as AuthRefreshAck;
    } catch {
      // emitWithAck on a timeout() socket rejects only when the acknowledgement does not come in time.
      throw new RealtimeClientError(ClientErrorCode.TIMEOUT, `No authRefresh answer within ${timeoutMs} ms`);
    }
    if ('error' in answer) throw RealtimeClientError.fromPayload(answer.error);
  }
}
