// The transport-independent connection lifecycle: drives a TransportDriver through the states,
// retries with backoff (every failure passes through ERROR before RECONNECTING; an ERROR with no
// retry after it is final), fails a first connection at once when `retryFirstConnection` is false,
// replaces a refused token through the token provider, refreshes the token on the open connection
// before it expires, synchronises before going ACTIVE and holds sends in a bounded queue meanwhile.
import type { ResolvedConnectionOptions } from './connection.options';
import { ConnectionState, ConnectionStateMachine, type StateChange } from './connection-state';
import { ClientErrorCode, RealtimeClientError, SERVER_UNREACHABLE_MESSAGE } from './realtime-client.error';
import { ReconnectionManager } from './reconnection-manager';
import { BoundedSendQueue, type QueuedSend } from './send-queue';
import { readTokenExpiry } from './token-claims';
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
  /**
   * Sends a fresh token on the open (ACTIVE) connection; resolves once the server accepted it, rejects
   * when it refused it, did not answer, or the connection dropped. Without it, tokens are not
   * refreshed on the connection.
   */
  refreshSession?(token: string): Promise<void>;
}

/** setTimeout's longest delay; a later refresh is scheduled in steps. */
const MAX_TIMER_MS = 2_147_483_647;

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
  /** When the client got the token in use (epoch ms): the refresh is at a share of its lifetime from there. */
  private tokenSince = Date.now();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Changes whenever a connection ends or a new one is accepted: a refresh begun on an older one is dropped. */
  private connectionEpoch = 0;
  private hasBeenActive = false;
  /** From connect() until ACTIVE: the first connection, which `retryFirstConnection` may forbid to retry. */
  private firstConnection = false;
  private tokenRefreshed = false;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set by a final ERROR (the client gave up), cleared by connect(). */
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

  /** Connects; resolves once ACTIVE, rejects if the client ends in a final ERROR or is closed first. */
  start(): Promise<void> {
    const state = this.machine.state;
    if (state === ConnectionState.CREATED || this.gaveUp) {
      this.reconnection.reset();
      this.tokenRefreshed = false;
      this.firstConnection = true;
      this.failure = undefined;
      void this.attempt();
    }
    return this.whenActive();
  }

  /** Resolves when ACTIVE; rejects on a final ERROR or CLOSED (a passing ERROR is waited through). */
  whenActive(): Promise<void> {
    if (this.machine.state === ConnectionState.ACTIVE) return Promise.resolve();
    if (this.machine.state === ConnectionState.CLOSED || this.gaveUp) {
      return Promise.reject(this.notConnected());
    }
    return new Promise((resolve, reject) => {
      const off = this.machine.onChange(({ to, final }) => {
        if (to === ConnectionState.ACTIVE) {
          off();
          resolve();
        } else if (final) {
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

  /** Runs `item` now when ACTIVE, queues it while (re)connecting, refuses it in a final ERROR / CLOSED. */
  submit(item: QueuedSend): void {
    if (this.machine.state === ConnectionState.ACTIVE) item.run();
    else if (this.machine.state === ConnectionState.CLOSED || this.gaveUp) throw this.notConnected();
    else this.queue.push(item);
  }

  /**
   * Queues `item` for the next time the client is ACTIVE, even when it is ACTIVE now: the server
   * refused it as it shuts down (SHUTTING_DOWN: nothing was done) and is about to close the
   * connection, so it goes out again once reconnected (to this server restarted, or another node).
   */
  requeue(item: QueuedSend): void {
    if (this.machine.state === ConnectionState.CLOSED || this.gaveUp) {
      item.fail(this.notConnected());
      return;
    }
    try {
      this.queue.push(item);
    } catch (error) {
      item.fail(error as RealtimeClientError);
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
    const lost = this.connectionLost(`AUTH_FAILED: ${message}`);
    if (!this.options.tokenProvider || this.tokenRefreshed) {
      this.fail(`AUTH_FAILED: ${message}`, 'AUTH_FAILED');
      return;
    }
    // One fresh token per failure; if it is refused as well, give up instead of looping.
    this.tokenRefreshed = true;
    const reason = `AUTH_FAILED: ${message}; asking for a fresh token`;
    // A connection that was up is a drop: ERROR first. Before that, the renewal goes straight on.
    if (!this.machine.canTransition(ConnectionState.RECONNECTING) && !this.passThroughError(reason, lost))
      return;
    this.machine.transition(ConnectionState.RECONNECTING, reason);
    const refused = this.token;
    void this.refreshToken(refused);
  }

  /**
   * The transport closed or could not be opened. `retryAfterMs`: the server refused the handshake and
   * said how long to wait (a handshake rate limit); the next attempt waits at least that long.
   */
  transportLost(reason: string, retryAfterMs?: number): void {
    if (!this.isLive()) return;
    const unreachable = this.machine.state === ConnectionState.CONNECTING;
    this.clearTimers();
    this.driver.close();
    const lost = this.connectionLost(reason);
    if (this.firstConnection && !this.options.retryFirstConnection) {
      if (unreachable) {
        this.fail(`${SERVER_UNREACHABLE_MESSAGE} (${reason})`, ClientErrorCode.SERVER_UNREACHABLE, {
          message: SERVER_UNREACHABLE_MESSAGE,
          details: { reason },
        });
      } else {
        this.fail(`${reason}; the first connection is not retried (retryFirstConnection: false)`);
      }
      return;
    }
    this.scheduleRetry(reason, lost, retryAfterMs);
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

  /** In ERROR after giving up (a final ERROR), as opposed to a passing one. */
  private get gaveUp(): boolean {
    return this.machine.state === ConnectionState.ERROR && this.failure !== undefined;
  }

  /** Fails what waits for an answer; returns the CONNECTION_LOST error it used. */
  private connectionLost(reason: string): RealtimeClientError {
    const wasUp =
      this.machine.state === ConnectionState.CONNECTED || this.machine.state === ConnectionState.ACTIVE;
    const error = new RealtimeClientError(ClientErrorCode.CONNECTION_LOST, `Connection lost: ${reason}`);
    this.hooks.connectionLost(error);
    if (wasUp) this.events.emit('disconnect', { reason });
    return error;
  }

  private scheduleRetry(reason: string, lost: RealtimeClientError, retryAfterMs?: number): void {
    const attempts = this.reconnection.failedAttempts;
    const delay = this.reconnection.schedule(() => void this.attempt(), retryAfterMs);
    if (delay === undefined) {
      const { autoReconnect } = this.options.reconnection;
      this.fail(autoReconnect ? `${reason}; gave up after ${attempts} reconnection attempts` : reason);
      return;
    }
    if (this.passThroughError(reason, lost)) this.machine.transition(ConnectionState.RECONNECTING, reason);
  }

  /**
   * The seed's order for a failure that will be retried: a passing ERROR (final: false), then
   * RECONNECTING. Returns false when a listener of that ERROR closed the client meanwhile.
   */
  private passThroughError(reason: string, error: RealtimeClientError): boolean {
    this.machine.transition(ConnectionState.ERROR, reason, { final: false, error });
    return this.machine.state === ConnectionState.ERROR;
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
    this.useToken(fresh);
    if (reconnect && this.machine.state === ConnectionState.RECONNECTING) void this.attempt();
    return true;
  }

  private useToken(token: string): void {
    this.token = token;
    this.tokenSince = Date.now();
  }

  /**
   * On ACTIVE, and after each accepted refresh: the next refresh, at `tokenRefresh` of the token's
   * lifetime, when there is a provider, a refresh hook, and an `exp` to read.
   */
  private scheduleTokenRefresh(): void {
    const share = this.options.tokenRefresh;
    if (share === false || !this.options.tokenProvider || !this.hooks.refreshSession) return;
    const expiresAt = this.token === undefined ? undefined : readTokenExpiry(this.token);
    if (expiresAt === undefined) return;
    const at = this.tokenSince + share * (expiresAt - this.tokenSince);
    const epoch = this.connectionEpoch;
    const delay = at - Date.now();
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(
      () => {
        this.refreshTimer = undefined;
        if (delay > MAX_TIMER_MS) this.scheduleTokenRefresh();
        else void this.refreshSession(epoch);
      },
      Math.min(Math.max(0, delay), MAX_TIMER_MS),
    );
  }

  /**
   * The scheduled refresh: a fresh token from the provider, sent on the open connection. Accepted:
   * the next refresh is scheduled. Refused or unanswered: the client reconnects with the fresh token.
   * If the connection dropped meanwhile, the reconnection uses the fresh token.
   */
  private async refreshSession(epoch: number): Promise<void> {
    const provider = this.options.tokenProvider;
    const refresh = this.hooks.refreshSession;
    if (!provider || !refresh) return;
    const current = (): boolean =>
      epoch === this.connectionEpoch && this.machine.state === ConnectionState.ACTIVE;
    let fresh: string;
    try {
      fresh = await provider();
    } catch {
      // The connection goes on with its token. At its expiry the server ends it, and the reconnection
      // asks the provider again: a provider that still fails then ends in ERROR, with its message.
      return;
    }
    // The same token again: nothing to send (the provider may hand out a new one at the expiry).
    if (fresh === this.token) return;
    this.useToken(fresh);
    if (!current()) return;
    try {
      await refresh(fresh);
    } catch (error) {
      if (!current()) return;
      const why = error instanceof Error ? error.message : String(error);
      this.renewByReconnecting(`token refresh refused (${why}); reconnecting with the fresh token`);
      return;
    }
    if (current()) this.scheduleTokenRefresh();
  }

  /** A refresh that did not go through: the connection is replaced by one opened with the fresh token. */
  private renewByReconnecting(reason: string): void {
    this.clearTimers();
    this.driver.close();
    const lost = this.connectionLost(reason);
    if (!this.passThroughError(reason, lost)) return;
    this.machine.transition(ConnectionState.RECONNECTING, reason);
    void this.attempt();
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
    this.firstConnection = false;
    this.machine.transition(ConnectionState.ACTIVE);
    // A listener of ACTIVE may have closed the client.
    if (this.state === ConnectionState.ACTIVE) this.scheduleTokenRefresh();
    if (resync) {
      this.events.emit('reconnect', undefined);
      if (this.options.reconnection.syncOnReconnect) this.events.emit('syncComplete', report);
    }
  }

  /**
   * Gives up: a final ERROR whose error (message `reason` unless given) is what connect() rejects with.
   */
  private fail(
    reason: string,
    code: 'AUTH_FAILED' | ClientErrorCode = ClientErrorCode.NOT_CONNECTED,
    error: { message?: string; details?: Record<string, unknown> } = {},
  ): void {
    if (!this.machine.canTransition(ConnectionState.ERROR)) return;
    this.clearTimers();
    this.driver.close();
    const failure = new RealtimeClientError(code, error.message ?? reason, error.details);
    this.failure = failure;
    this.machine.transition(ConnectionState.ERROR, reason, { final: true, error: failure });
    this.queue.failAll(failure);
  }

  /** In a final ERROR, the failure that caused it (AUTH_FAILED keeps its code); otherwise NOT_CONNECTED. */
  private notConnected(): RealtimeClientError {
    if (this.gaveUp && this.failure) return this.failure;
    return new RealtimeClientError(ClientErrorCode.NOT_CONNECTED, `Not connected (${this.machine.state})`, {
      state: this.machine.state,
    });
  }

  /** Clears every timer; called whenever a connection is accepted or ends, so it starts a new epoch. */
  private clearTimers(): void {
    this.reconnection.cancel();
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.connectionEpoch += 1;
  }
}
