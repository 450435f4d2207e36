// The one error type of the SDK: server error codes (the rooms protocol's table) plus the client's own.
import type { RealtimeErrorCode, RealtimeErrorPayload } from 'nest-realtime/protocol';

export const ClientErrorCode = {
  /** The send queue is full while the connection is being re-established. */
  QUEUE_FULL: 'QUEUE_FULL',
  /** The client is closed or gave up (ERROR): nothing can be sent. */
  NOT_CONNECTED: 'NOT_CONNECTED',
  /** The connection dropped before the server answered; the request may or may not have been done. */
  CONNECTION_LOST: 'CONNECTION_LOST',
  /** The server did not answer in time. */
  TIMEOUT: 'TIMEOUT',
  /**
   * The server could not be reached at the first connection (refused, or no answer before
   * `connectTimeoutMs`) and `retryFirstConnection` is false. Message: "Serveur inaccessible".
   */
  SERVER_UNREACHABLE: 'SERVER_UNREACHABLE',
  /** The connection pool is at its maximum. */
  POOL_EXHAUSTED: 'POOL_EXHAUSTED',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** The connection lifecycle specification's wording ("Gestion des erreurs") for a server that cannot be reached. */
export const SERVER_UNREACHABLE_MESSAGE = 'Serveur inaccessible';

export class RealtimeClientError extends Error {
  constructor(
    readonly code: RealtimeErrorCode | ClientErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'RealtimeClientError';
  }

  static fromPayload(payload: RealtimeErrorPayload): RealtimeClientError {
    return new RealtimeClientError(payload.code, payload.message, payload.details ?? {});
  }
}

/**
 * A refusal of a server that is shutting down (SHUTTING_DOWN): nothing was done, so the request can
 * go again once the client has reconnected; the clients do that by themselves.
 */
export function isShutdownRefusal(error: unknown): boolean {
  const code: RealtimeErrorCode = 'SHUTTING_DOWN';
  // A RealtimeClientError, or the server's error payload as an acknowledgement carries it.
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
