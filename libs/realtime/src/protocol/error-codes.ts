// Error codes shared by every transport (the rooms protocol's table, plus the additions documented in the README).

export const RealtimeErrorCode = {
  /** Authentication failed: missing, forged, expired or otherwise invalid token. */
  AUTH_FAILED: 'AUTH_FAILED',
  /** The named room does not exist. */
  ROOM_NOT_FOUND: 'ROOM_NOT_FOUND',
  /** The named user does not exist. */
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  /** The connection's identity may not do this. */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** Too many messages; `details.retry_after_ms` says when to retry. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Content over the configured maximum length. */
  MESSAGE_TOO_LONG: 'MESSAGE_TOO_LONG',
  /** Not JSON, not an object, unknown type, missing or wrongly typed field. */
  INVALID_FORMAT: 'INVALID_FORMAT',
  /** Addition: the server refuses new connections (node, per-user or per-address connection limit). */
  CONNECTION_LIMIT: 'CONNECTION_LIMIT',
  /** Addition: the connection sent no application frame for `limits.idleTimeoutMs` and is closed. */
  IDLE_TIMEOUT: 'IDLE_TIMEOUT',
  /** Addition: an unexpected server-side failure; the request was not carried out. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  /**
   * Addition: the server is shutting down (`limits.shutdownGraceMs`); the request was not carried
   * out. Send it again once reconnected (to the restarted server, or to another node).
   */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
} as const;

export type RealtimeErrorCode = (typeof RealtimeErrorCode)[keyof typeof RealtimeErrorCode];

/**
 * Addition: `details.reason` of the AUTH_FAILED that refuses a token refresh (`auth_refresh`,
 * `authRefresh`, the log stream's second `auth`): the connection stays open on its current token,
 * which still ends it at its own expiry.
 */
export const AUTH_REFRESH_REFUSED = 'refresh_refused';

/**
 * Addition: `details.reason` of the INTERNAL_ERROR that answers a request while the database cannot
 * be reached (down, restarting, refusing connections). Nothing was stored: the same request may be
 * sent again later.
 */
export const STORAGE_UNAVAILABLE = 'storage_unavailable';

/** Addition: `details.reason` of the INTERNAL_ERROR that answers a write the full database refused. Nothing was stored. */
export const STORAGE_FULL = 'storage_full';

/** The error payload every transport sends (`error` event / `error` frame data). */
export interface RealtimeErrorPayload {
  message: string;
  code: RealtimeErrorCode;
  details: Record<string, unknown>;
}

/** WebSocket close codes used by the raw ws endpoints. */
export const RealtimeCloseCode = {
  /** Authentication failed or the token expired. */
  AUTH_FAILED: 4401,
  /** The connection's browser origin is not in `allowedOrigins`. */
  FORBIDDEN_ORIGIN: 4403,
  /** Connection limit reached, or too many connection attempts from the address (RATE_LIMITED). */
  CONNECTION_LIMIT: 4429,
  /** The peer missed heartbeats or stayed idle past the idle timeout. */
  TIMEOUT: 4408,
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /**
   * The client did not read fast enough; its send buffer passed limits.maxBufferedBytes (raw ws, and
   * the WebSocket of a Socket.IO client).
   */
  SLOW_CONSUMER: 4508,
  /** A frame exceeded the maximum payload (set by `ws` itself). */
  MESSAGE_TOO_BIG: 1009,
} as const;
