// The transport-independent connection connection lifecycle: drives a TransportDriver through the
// states, retries with backoff, replaces a refused token through the token provider, synchronises
// before going ACTIVE and holds sends in a bounded queue meanwhile.
import type { ResolvedConnectionOptions } from './connection.options';
import { ConnectionState, ConnectionStateMachine, type StateChange } from './connection-state';
import { ClientErrorCode, RealtimeClientError } from './realtime-client.error';
import { ReconnectionManager } from './reconnection-manager';
import { BoundedSendQueue, type QueuedSend } from './send-queue';
import { TypedEmitter } from './typed-emitter';

/** One transport (raw ws, Socket.IO). It reports back through the lifecycle's `transport*` methods. */
export interface TransportDriver {
  /** Starts one connection attempt with this token. */
  open(token: string | undefined): void;
  /** Tears the current attempt or connection down; it reports nothing more. */
  close(): void;
}

export interface LifecycleHooks<TSync> {
  /** Runs after authentication, before ACTIVE: rejoin rooms, fetch what was missed (`resync`: after a reconnection). */
  synchronize(resync: boolean): Promise<TSync>;
  /** The connection is gone: fail what waits for an answer. */
  connectionLost(error: RealtimeClientError): void;
}

interface LifecycleEvents<TSync> {
  reconnect: undefined;
  disconnect: { reason: string };
  syncComplete: TSync;
}

export class ConnectionLifecycle<TSync = void> {
  private readonly machine = new ConnectionStateMachine();
  private readonly events = new TypedEmitter<LifecycleEvents<TSync>>();
  private readonly reconnection: ReconnectionManager;
  private readonly queue: BoundedSendQueue;
  private token: string | undefined;
  private hasBeenActive = false;
  private tokenRefreshed = false;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private failure: RealtimeClientError | undefined;

  constructor(
    private readonly driver: TransportDriver,
    private readonly options: ResolvedConnectionOptions,
    private readonly hooks: LifecycleHooks<TSync>,
  ) {
    this.token = options.token;
    this.reconnection = new ReconnectionManager(options.reconnection, options.random);
    this.queue = new BoundedSendQueue(options.maxQueueSize);
  }

  get state(): ConnectionState {
    return this.machine.state;
  }

  /** Sends waiting for the connection. */
  get queuedSends(): number {
    return this.queue.size;
  }

  /** The token in use (after a refresh, the fresh one). */
  get currentToken(): string | undefined {
    return this.token;
  }

  onStateChange(listener: (change: StateChange) => void): () => void {
    return this.machine.onChange(listener);
  }
  /** After a reconnection is synchronised (ACTIVE again). */
  onReconnect(listener: () => void): () => void {
    return this.events.on('reconnect', listener);
  }
  /** When an established connection is lost. */
  onDisconnect(listener: (reason: string) => void): () => void {
    return this.events.on('disconnect', ({ reason }) => listener(reason));
  }
  /** After the synchronisation that follows a reconnection (with `syncOnReconnect`). */
  onSyncComplete(listener: (report: TSync) => void): () => void {
    return this.events.on('syncComplete', listener);
  }

  /** Connects; resolves once ACTIVE, rejects if the client ends in ERROR or is closed first. */
  start(): Promise<void> {
    const state = this.machine.state;
    if (state === ConnectionState.CREATED || state === ConnectionState.ERROR) {
      this.reconnection.reset();
      this.tokenRefreshed = false;
      void this.attempt();
    }
    return this.whenActive();
  }

  /** Resolves when ACTIVE; rejects on ERROR or CLOSED. */
  whenActive(): Promise<void> {
    if (this.machine.state === ConnectionState.ACTIVE) return Promise.resolve();
    if (this.machine.state === ConnectionState.CLOSED || this.machine.state === ConnectionState.ERROR) {
      return Promise.reject(this.notConnected());
    }
    return new Promise((resolve, reject) => {
      const off = this.machine.onChange(({ to }) => {
        if (to === ConnectionState.ACTIVE) {
          off();
          resolve();
        } else if (to === ConnectionState.ERROR || to === ConnectionState.CLOSED) {
          off();
          reject(this.notConnected());
        }
      });
    });
  }

  /** Closes for good: the queue is failed, no reconnection follows. */
  stop(): void {
    if (this.machine.state === ConnectionState.CLOSED) return;
    this.clearTimers();
    this.driver.close();
    this.machine.transition(ConnectionState.CLOSED, 'closed by the application');
    const error = new RealtimeClientError(ClientErrorCode.NOT_CONNECTED, 'Client closed');
    this.hooks.connectionLost(error);
    this.queue.failAll(error);
  }

  /** Runs `item` now when ACTIVE, queues it while (re)connecting, refuses it in ERROR / CLOSED. */
  submit(item: QueuedSend): void {
    switch (this.machine.state) {
      case ConnectionState.ACTIVE:
        item.run();
        return;
      case ConnectionState.ERROR:
      case ConnectionState.CLOSED:
        throw this.notConnected();
      default:
        this.queue.push(item);
    }
  }

  // ---- reports of the driver ----

  /** The transport is open; the server now checks the token. */
  transportOpened(): void {
    if (this.machine.state === ConnectionState.CONNECTING) {
      this.machine.transition(ConnectionState.AUTHENTICATING);
    }
  }

  /** The server accepted the token. */
  transportAuthenticated(): void {
    if (this.machine.state === ConnectionState.CONNECTING) this.transportOpened();
    if (this.machine.state !== ConnectionState.AUTHENTICATING) return;
    this.clearTimers();
    this.machine.transition(ConnectionState.CONNECTED);
    this.reconnection.reset();
    this.tokenRefreshed = false;
    const resync = this.hasBeenActive;
    void this.synchronize(resync);
  }

  /** The server refused the token. */
  transportAuthFailed(message: string): void {
    if (!this.isLive()) return;
    this.clearTimers();
    this.driver.close();
    this.connectionLost(`AUTH_FAILED: ${message}`);
    if (!this.options.tokenProvider || this.tokenRefreshed) {
      this.fail(`AUTH_FAILED: ${message}`, 'AUTH_FAILED');
      return;
    }
    // One fresh token per failure; if it is refused as well, give up instead of looping.
    this.tokenRefreshed = true;
    this.machine.transition(
      ConnectionState.RECONNECTING,
      `AUTH_FAILED: ${message}; asking for a fresh token`,
    );
    const refused = this.token;
    void this.refreshToken(refused);
  }

  /** The transport closed or could not be opened. */
  transportLost(reason: string): void {
    if (!this.isLive()) return;
    this.clearTimers();
    this.driver.close();
    this.connectionLost(reason);
    this.scheduleRetry(reason);
  }

  // ---- internals ----

  private isLive(): boolean {
    const state = this.machine.state;
    return (
      state === ConnectionState.CONNECTING ||
      state === ConnectionState.AUTHENTICATING ||
      state === ConnectionState.CONNECTED ||
      state === ConnectionState.ACTIVE
    );
  }

  private connectionLost(reason: string): void {
    const wasUp =
      this.machine.state === ConnectionState.CONNECTED || this.machine.state === ConnectionState.ACTIVE;
    this.hooks.connectionLost(
      new RealtimeClientError(ClientErrorCode.CONNECTION_LOST, `Connection lost: ${reason}`),
    );
    if (wasUp) this.events.emit('disconnect', { reason });
  }

  private scheduleRetry(reason: string): void {
    const attempts = this.reconnection.failedAttempts;
    const delay = this.reconnection.schedule(() => void this.attempt());
    if (delay === undefined) {
      const { autoReconnect } = this.options.reconnection;
      this.fail(autoReconnect ? `${reason}; gave up after ${attempts} reconnection attempts` : reason);
      return;
    }
    this.machine.transition(ConnectionState.RECONNECTING, reason);
  }

  private async attempt(): Promise<void> {
    this.machine.transition(ConnectionState.CONNECTING);
    if (this.token === undefined) {
      const ok = await this.refreshToken(undefined, false);
      if (!ok || this.machine.state !== ConnectionState.CONNECTING) return;
    }
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      this.transportLost(`no answer within ${this.options.connectTimeoutMs} ms`);
    }, this.options.connectTimeoutMs);
    this.driver.open(this.token);
  }

  /** Asks the provider for a token; `reconnect` then starts an attempt with it. Returns false on failure. */
  private async refreshToken(refused: string | undefined, reconnect = true): Promise<boolean> {
    const provider = this.options.tokenProvider;
    if (!provider) return false;
    let fresh: string;
    try {
      fresh = await provider();
    } catch (error) {
      this.fail(`token provider failed: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    if (refused !== undefined && fresh === refused) {
      this.fail('AUTH_FAILED: the token provider returned the refused token again', 'AUTH_FAILED');
      return false;
    }
    this.token = fresh;
    if (reconnect && this.machine.state === ConnectionState.RECONNECTING) void this.attempt();
    return true;
  }

  private async synchronize(resync: boolean): Promise<void> {
    let report: TSync;
    try {
      report = await this.hooks.synchronize(resync && this.options.reconnection.syncOnReconnect);
    } catch (error) {
      this.transportLost(`synchronisation failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (this.machine.state !== ConnectionState.CONNECTED) return;
    // Queued sends go out before ACTIVE is announced, so that no send made by an ACTIVE listener
    // overtakes them.
    this.queue.flush();
    this.hasBeenActive = true;
    this.machine.transition(ConnectionState.ACTIVE);
    if (resync) {
      this.events.emit('reconnect', undefined);
      if (this.options.reconnection.syncOnReconnect) this.events.emit('syncComplete', report);
    }
  }

  private fail(reason: string, code: 'AUTH_FAILED' | ClientErrorCode = ClientErrorCode.NOT_CONNECTED): void {
    if (!this.machine.canTransition(ConnectionState.ERROR)) return;
    this.clearTimers();
    this.driver.close();
    this.failure = new RealtimeClientError(code, reason);
    this.machine.transition(ConnectionState.ERROR, reason);
    this.queue.failAll(this.notConnected());
  }

  /** In ERROR, the failure that caused it (AUTH_FAILED keeps its code); otherwise NOT_CONNECTED. */
  private notConnected(): RealtimeClientError {
    if (this.machine.state === ConnectionState.ERROR && this.failure) return this.failure;
    return new RealtimeClientError(ClientErrorCode.NOT_CONNECTED, `Not connected (${this.machine.state})`, {
      state: this.machine.state,
    });
  }

  private clearTimers(): void {
    this.reconnection.cancel();
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }
}
