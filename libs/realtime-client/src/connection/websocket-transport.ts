// TransportDriver over a raw WebSocket (rooms and log stream): opens the socket, lets the
// wire protocol interpret each frame, runs the heartbeat once authenticated, reports to the lifecycle.
import type { WebSocketConstructor, WebSocketLike } from '../websocket/websocket.types';
import { WEBSOCKET_OPEN } from '../websocket/websocket.types';
import type { TransportDriver } from './connection-lifecycle';
import { Heartbeat, type HeartbeatOptions } from './heartbeat';

/** What one inbound frame means to the connection. */
export type InboundSignal<F> =
  | { kind: 'authenticated' }
  | { kind: 'auth_failed'; message: string }
  | { kind: 'pong' }
  /**
   * `error`: the frame is an error frame, with its `retry_after_ms` if it has one (kept in case the
   * server then closes with 4429, a refused handshake).
   */
  | { kind: 'frame'; frame: F; error?: { retryAfterMs: number | undefined } }
  | { kind: 'ignored' };

/** The protocol-specific part of a raw WebSocket client. */
export interface WireProtocol<F> {
  url(token: string | undefined): string;
  /** Sent as soon as the socket opens (e.g. a ping whose pong proves the token was accepted). */
  openingFrame?(): string;
  /** The heartbeat's ping; without it the protocol has no heartbeat. */
  pingFrame?(): string;
  /** The first pong proves authentication (protocols without an explicit success frame). */
  readonly authenticatedByPong: boolean;
  interpret(text: string): InboundSignal<F>;
}

/** Close code of a refused token on the raw ws endpoints. */
const CLOSE_AUTH_FAILED = 4401;
/** Close code of a handshake refused by a connection or handshake-rate limit (after its error frame). */
const CLOSE_LIMITED = 4429;

/** What the transport reports (implemented by ConnectionLifecycle). */
export interface TransportReporter {
  transportOpened(): void;
  transportAuthenticated(): void;
  transportAuthFailed(message: string): void;
  transportLost(reason: string, retryAfterMs?: number): void;
}

export class WebSocketTransport<F> implements TransportDriver {
  private socket: WebSocketLike | undefined;
  private authenticated = false;
  private readonly heartbeat: Heartbeat | undefined;
  private reporter: TransportReporter | undefined;
  /** The `retry_after_ms` of the last error frame of the current socket (none: undefined). */
  private lastRetryAfterMs: number | undefined;

  constructor(
    private readonly WebSocketClass: WebSocketConstructor,
    private readonly protocol: WireProtocol<F>,
    heartbeat: HeartbeatOptions | false,
    private readonly onFrame: (frame: F) => void,
  ) {
    const ping = protocol.pingFrame?.bind(protocol);
    if (heartbeat && ping) {
      this.heartbeat = new Heartbeat(
        heartbeat,
        () => this.send(ping()),
        () => this.reporter?.transportLost(`no pong within ${heartbeat.timeoutMs} ms`),
        () => this.isOpen,
      );
    }
  }

  /** Connects the transport to the lifecycle that drives it. */
  attach(reporter: TransportReporter): void {
    this.reporter = reporter;
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WEBSOCKET_OPEN;
  }

  open(token: string | undefined): void {
    this.close();
    this.authenticated = false;
    this.lastRetryAfterMs = undefined;
    const socket = new this.WebSocketClass(this.protocol.url(token));
    this.socket = socket;
    // Events of a replaced socket are ignored: each listener checks it still owns the connection.
    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      this.reporter?.transportOpened();
      const opening = this.protocol.openingFrame?.();
      if (opening !== undefined) socket.send(opening);
    });
    socket.addEventListener('message', (event) => {
      if (this.socket !== socket) return;
      this.receive(typeof event.data === 'string' ? event.data : String(event.data));
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.heartbeat?.stop();
      const why = `closed ${event.code}${event.reason ? ` (${event.reason})` : ''}`;
      if (event.code === CLOSE_AUTH_FAILED) this.reporter?.transportAuthFailed(event.reason || why);
      else if (event.code === CLOSE_LIMITED) this.reporter?.transportLost(why, this.lastRetryAfterMs);
      else this.reporter?.transportLost(why);
    });
    // 'error' is always followed by 'close', which carries the outcome.
    socket.addEventListener('error', () => undefined);
  }

  /** Writes a frame; the caller makes sure the connection is up. */
  send(text: string): void {
    if (!this.socket || this.socket.readyState !== WEBSOCKET_OPEN) {
      throw new Error('WebSocket is not open');
    }
    this.socket.send(text);
  }

  close(): void {
    this.heartbeat?.stop();
    const socket = this.socket;
    this.socket = undefined;
    if (socket && socket.readyState <= WEBSOCKET_OPEN) socket.close(1000, 'client closed');
  }

  private receive(text: string): void {
    const signal = this.protocol.interpret(text);
    switch (signal.kind) {
      case 'pong':
        this.heartbeat?.pongReceived();
        if (!this.authenticated && this.protocol.authenticatedByPong) this.markAuthenticated();
        return;
      case 'authenticated':
        this.markAuthenticated();
        return;
      case 'auth_failed':
        this.reporter?.transportAuthFailed(signal.message);
        return;
      case 'frame':
        if (signal.error !== undefined) this.lastRetryAfterMs = signal.error.retryAfterMs;
        this.onFrame(signal.frame);
        return;
      case 'ignored':
        return;
    }
  }

  private markAuthenticated(): void {
    this.authenticated = true;
    this.heartbeat?.start();
    this.reporter?.transportAuthenticated();
  }
}
