// Connection states and the transitions between them; every client exposes its state
// through a ConnectionStateMachine.
import type { RealtimeClientError } from './realtime-client.error';
import { TypedEmitter } from './typed-emitter';

export const ConnectionState = {
  CREATED: 'CREATED',
  CONNECTING: 'CONNECTING',
  /** The transport is open; the server has not yet confirmed the token. */
  AUTHENTICATING: 'AUTHENTICATING',
  /** Authenticated; rooms are being rejoined and missed messages fetched. */
  CONNECTED: 'CONNECTED',
  /** Synchronised: queued sends have gone out and new ones go straight to the server. */
  ACTIVE: 'ACTIVE',
  /** Waiting for the next attempt after a failure (always reached through ERROR, but for a token renewal). */
  RECONNECTING: 'RECONNECTING',
  /**
   * A failure. Final (`StateChange.final`): the client gave up (server unreachable with
   * `retryFirstConnection: false`, authentication refused, reconnection attempts exhausted) and stays
   * here until `connect()`. Passing (`final: false`): RECONNECTING follows at once.
   */
  ERROR: 'ERROR',
  /** Addition: closed by the application. */
  CLOSED: 'CLOSED',
} as const;

export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

const S = ConnectionState;

/**
 * Allowed transitions (the lifecycle diagram: any live state may fail to ERROR or be closed, and
 * RECONNECTING follows ERROR). CONNECTING and AUTHENTICATING may also go straight to RECONNECTING:
 * a token refused before the connection was up, renewed through the token provider.
 */
export const CONNECTION_TRANSITIONS: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  [S.CREATED]: [S.CONNECTING, S.CLOSED],
  [S.CONNECTING]: [S.AUTHENTICATING, S.RECONNECTING, S.ERROR, S.CLOSED],
  [S.AUTHENTICATING]: [S.CONNECTED, S.RECONNECTING, S.ERROR, S.CLOSED],
  [S.CONNECTED]: [S.ACTIVE, S.ERROR, S.CLOSED],
  [S.ACTIVE]: [S.ERROR, S.CLOSED],
  [S.RECONNECTING]: [S.CONNECTING, S.ERROR, S.CLOSED],
  [S.ERROR]: [S.CONNECTING, S.RECONNECTING, S.CLOSED],
  [S.CLOSED]: [],
};

export interface StateChange {
  from: ConnectionState;
  to: ConnectionState;
  /** Why, for failures and drops (e.g. the server's message or the close code). */
  reason?: string;
  /**
   * The client stays in `to` until the application acts: true for an ERROR after which nothing is
   * retried (connect() rejects) and for CLOSED; false for a passing ERROR (RECONNECTING follows at
   * once) and for every other state. A UI shows "reconnecting…" for the one, "failed" for the other.
   */
  final: boolean;
  /** On ERROR: the failure; when final, the error connect() rejects with; when passing, CONNECTION_LOST. */
  error?: RealtimeClientError;
}

export interface TransitionDetails {
  /** Defaults to true for ERROR and CLOSED, false otherwise. */
  final?: boolean;
  error?: RealtimeClientError;
}

export class InvalidTransitionError extends Error {
  constructor(
    readonly from: ConnectionState,
    readonly to: ConnectionState,
  ) {
    super(`Invalid connection state transition ${from} → ${to}`);
    this.name = 'InvalidTransitionError';
  }
}

/** Holds the current state, refuses transitions the diagram does not allow, reports every change. */
export class ConnectionStateMachine {
  private current: ConnectionState = S.CREATED;
  private readonly changes = new TypedEmitter<{ change: StateChange }>();

  get state(): ConnectionState {
    return this.current;
  }

  canTransition(to: ConnectionState): boolean {
    return CONNECTION_TRANSITIONS[this.current].includes(to);
  }

  transition(to: ConnectionState, reason?: string, details: TransitionDetails = {}): void {
    if (!this.canTransition(to)) throw new InvalidTransitionError(this.current, to);
    const final = details.final ?? (to === S.ERROR || to === S.CLOSED);
    const change: StateChange = { from: this.current, to, final };
    if (reason !== undefined) change.reason = reason;
    if (details.error !== undefined) change.error = details.error;
    this.current = to;
    this.changes.emit('change', change);
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onChange(listener: (change: StateChange) => void): () => void {
    return this.changes.on('change', listener);
  }
}
