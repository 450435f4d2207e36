// Connection states and the transitions between them; every client exposes its state
// through a ConnectionStateMachine.
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
  /** Waiting for the next attempt after a drop or a refused connection. */
  RECONNECTING: 'RECONNECTING',
  /** Gave up: authentication refused, or reconnection attempts exhausted. */
  ERROR: 'ERROR',
  /** Addition: closed by the application. */
  CLOSED: 'CLOSED',
} as const;

export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

const S = ConnectionState;

/** Allowed transitions (the lifecycle diagram; any live state may fail to ERROR or be closed). */
export const CONNECTION_TRANSITIONS: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  [S.CREATED]: [S.CONNECTING, S.CLOSED],
  [S.CONNECTING]: [S.AUTHENTICATING, S.RECONNECTING, S.ERROR, S.CLOSED],
  [S.AUTHENTICATING]: [S.CONNECTED, S.RECONNECTING, S.ERROR, S.CLOSED],
  [S.CONNECTED]: [S.ACTIVE, S.RECONNECTING, S.ERROR, S.CLOSED],
  [S.ACTIVE]: [S.RECONNECTING, S.ERROR, S.CLOSED],
  [S.RECONNECTING]: [S.CONNECTING, S.ERROR, S.CLOSED],
  [S.ERROR]: [S.CONNECTING, S.RECONNECTING, S.CLOSED],
  [S.CLOSED]: [],
};

export interface StateChange {
  from: ConnectionState;
  to: ConnectionState;
  /** Why, for failures and drops (e.g. the server's message or the close code). */
  reason?: string;
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

  transition(to: ConnectionState, reason?: string): void {
    if (!this.canTransition(to)) throw new InvalidTransitionError(this.current, to);
    const change: StateChange = { from: this.current, to };
    if (reason !== undefined) change.reason = reason;
    this.current = to;
    this.changes.emit('change', change);
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onChange(listener: (change: StateChange) => void): () => void {
    return this.changes.on('change', listener);
  }
}
