// Log stream wire contract of the per-application log and metrics stream (`paths.logs`, and `/` on
// `stream.port`): `{ type, payload }` frames, LogEntry and PerformanceMetrics exactly as the seed
// writes them. Additions are marked.
import type { RealtimeErrorPayload } from './error-codes';

/** A frame of the stream protocol, both directions. */
export interface PayloadEnvelope<T = unknown> {
  type: string;
  payload: T;
}

/** One log entry as stored and sent. The seed's `metadata?: any` is `unknown` here (no `any`). */
export interface LogEntry {
  /** Unique and sortable in ingestion order: 13-digit epoch ms, a sequence, a node tag. */
  id: string;
  /** Epoch milliseconds. */
  timestamp: number;
  level: string;
  message: string;
  metadata?: unknown;
  appId: string;
  userId: string;
}

/** Server figures sent in `metrics`; every figure is node-wide (none is scoped to an app). */
export interface PerformanceMetrics {
  /** Epoch milliseconds of the sample. */
  timestamp: number;
  cpu: {
    /** Percent of all cores busy over the last interval (0-100). */
    usage: number;
    cores: number;
  };
  /** System memory in bytes. */
  memory: {
    used: number;
    free: number;
    total: number;
  };
  /** Bytes of the file system holding `stream.diskPath`. */
  disk: {
    used: number;
    free: number;
    total: number;
  };
  network: {
    /** Bytes received through the real-time transports since start. */
    bytesReceived: number;
    /** Bytes sent through the real-time transports since start. */
    bytesSent: number;
    /** Open real-time connections, authenticated or not yet. */
    connections: number;
  };
  /** Authenticated connections, every transport. */
  activeConnections: number;
  /** Inbound messages per second over the last interval. */
  messageRate: number;
  /** Error frames / events sent per second over the last interval. */
  errorRate: number;
}

/** `connect`: sent on open, echoing the query's `appId` and `userId` (absent when not given). */
export interface StreamConnectPayload {
  appId: string | undefined;
  userId: string | undefined;
}

/** `auth_success`: the app and user of the verified token. */
export interface StreamAuthSuccessPayload {
  appId: string;
  userId: string;
  /**
   * Addition, on the answer of a refresh (an `auth` frame on an authenticated connection) only: the
   * new token's expiry, epoch milliseconds (null without `exp`). The first `auth_success` is the
   * seed's `{ appId, userId }`.
   */
  expiresAt?: number | null;
}

/** `auth_error`: why authentication failed; the server closes the connection (4401) after it. */
export interface StreamAuthErrorPayload {
  message: string;
}

/** Addition: a client-side filter of the `logs` it receives. Empty / absent fields match everything. */
export interface LogFilter {
  /** Levels to receive (exact, case-insensitive). */
  levels?: string[];
  /** Substring of the message to look for (case-insensitive). */
  text?: string;
}

/** Server → client frame types. */
export const StreamOutbound = {
  CONNECT: 'connect',
  AUTH_SUCCESS: 'auth_success',
  AUTH_ERROR: 'auth_error',
  LOGS: 'logs',
  METRICS: 'metrics',
  /** Addition: answer of `subscribe`, with the filter now in force. */
  SUBSCRIBED: 'subscribed',
  /** Addition: answer of `ping`, so that browsers (which cannot see ws ping frames) can check the link. */
  PONG: 'pong',
  /** Addition: a refused frame (bad JSON, unknown type, invalid payload) other than authentication. */
  ERROR: 'error',
} as const;

/** Client → server frame types. */
export const StreamInbound = {
  /**
   * `{ type: 'auth', payload: { token } }`: authenticate when the URL carried no token. Addition: on
   * an authenticated connection it is a refresh: a fresh token of the same user and `appId`, answered
   * `auth_success { appId, userId, expiresAt }` (no backlog; the filter is kept), or refused with an
   * `error` frame AUTH_FAILED (`details.reason: 'refresh_refused'`), the connection going on with its
   * current token. Send it before that token expires (at its expiry: `auth_error`, close 4401).
   */
  AUTH: 'auth',
  /** Addition: `{ type: 'subscribe', payload: LogFilter }`. */
  SUBSCRIBE: 'subscribe',
  /** Addition: `{ type: 'ping', payload: {} }`, answered by `pong { timestamp }`, before or after auth. */
  PING: 'ping',
} as const;

/** Every frame the server sends on the stream. */
export type StreamServerFrame =
  | { type: 'connect'; payload: StreamConnectPayload }
  | { type: 'auth_success'; payload: StreamAuthSuccessPayload }
  | { type: 'auth_error'; payload: StreamAuthErrorPayload }
  | { type: 'logs'; payload: LogEntry[] }
  | { type: 'metrics'; payload: PerformanceMetrics }
  | { type: 'subscribed'; payload: LogFilter }
  | { type: 'pong'; payload: StreamPongPayload }
  | { type: 'error'; payload: RealtimeErrorPayload };

/** Every frame a client may send on the stream. */
export type StreamClientFrame =
  | { type: 'auth'; payload: { token: string } }
  | { type: 'subscribe'; payload: LogFilter }
  | { type: 'ping'; payload: Record<string, never> };

/** Addition: answer of `ping`. */
export interface StreamPongPayload {
  /** Server time, epoch milliseconds. */
  timestamp: number;
}

/** What a producer gives: the server adds `id` and `appId`, and `timestamp` / `userId` when absent. */
export interface LogEntryInput {
  level: string;
  message: string;
  metadata?: unknown;
  /** Epoch milliseconds. @default the time of ingestion */
  timestamp?: number;
  /** @default 'system' for publish() and the logger; always the token's user over HTTP */
  userId?: string;
}

/** Answer of `POST /apps/:appId/logs` (202). */
export interface LogIngestResult {
  accepted: number;
  ids: string[];
}

/** Serialises a stream frame (once; the result may be written to many connections). */
export function encodePayloadEnvelope(type: string, payload: unknown): string {
  const frame: PayloadEnvelope = { type, payload };
  return JSON.stringify(frame);
}
