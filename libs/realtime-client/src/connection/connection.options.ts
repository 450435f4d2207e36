// Options shared by every client: where to connect, how to authenticate, how to reconnect (
// option names), the send-queue bound. Defaults are merged once, in resolveConnectionOptions.

/**
 * Returns a fresh token; asked before the first connection when no token is given, after AUTH_FAILED,
 * and before the token in use expires (see `tokenRefresh`).
 */
export type TokenProvider = () => string | Promise<string>;

export interface ReconnectionOptions {
  /** Reconnect after a drop or a refused connection. @default true */
  autoReconnect: boolean;
  /** Failed attempts in a row before giving up (ERROR); `Infinity` never gives up. @default 15 */
  maxReconnectAttempts: number;
  /** Delay before the first retry, doubled at each further attempt, in ms. @default 1000 */
  reconnectDelay: number;
  /** Upper bound of the delay between attempts, in ms. @default 15000 */
  maxReconnectDelay: number;
  /** Share of each delay that is randomised (0 to 1), so that many clients do not retry in step. @default 0.5 */
  jitter: number;
  /** Rejoin rooms and fetch what was missed before going ACTIVE again. @default true */
  syncOnReconnect: boolean;
}

export interface ConnectionOptions {
  /** Server base URL, `http(s)://host:port` or `ws(s)://host:port`. */
  url: string;
  /** The JWT. Optional when `tokenProvider` is given. */
  token?: string;
  /** Source of fresh tokens: a refused token (AUTH_FAILED) is replaced once, else the client goes to ERROR. */
  tokenProvider?: TokenProvider;
  /**
   * With `tokenProvider`, the token is refreshed on the open connection before it expires, so that the
   * server does not end the session at its expiry: at this share (above 0, below 1) of its lifetime,
   * counted from when the client got it to its `exp` claim. A refresh the server refuses (or does not
   * answer within `requestTimeoutMs`) is replaced by a reconnection with the fresh token. `false`: no
   * refresh (the server ends the connection at the expiry, and the client reconnects with a fresh
   * token). Tokens without a readable `exp` are never refreshed. @default 0.8
   */
  tokenRefresh?: number | false;
  reconnection?: Partial<ReconnectionOptions>;
  /**
   * Retry the first connection (the one `connect()` starts) like a reconnection when it fails. With
   * false it is tried once: a server that cannot be reached (refused, or no answer before
   * `connectTimeoutMs`) ends in a final ERROR with `SERVER_UNREACHABLE` ("Serveur inaccessible"), any
   * other failure before ACTIVE in a final ERROR with `NOT_CONNECTED`; `connect()` rejects with it.
   * Drops after the client was ACTIVE are retried either way. @default true
   */
  retryFirstConnection?: boolean;
  /** Sends kept while reconnecting; one more is refused with QUEUE_FULL. @default 100 */
  maxQueueSize?: number;
  /** Longest time from the start of an attempt to the server's acceptance of the token, in ms. @default 10000 */
  connectTimeoutMs?: number;
  /** How long a request (join, history, send) may wait for its answer, in ms. @default 10000 */
  requestTimeoutMs?: number;
  /** Randomness for the backoff jitter; injectable for tests. @default Math.random */
  random?: () => number;
}

export interface ResolvedConnectionOptions {
  url: string;
  token: string | undefined;
  tokenProvider: TokenProvider | undefined;
  tokenRefresh: number | false;
  reconnection: ReconnectionOptions;
  retryFirstConnection: boolean;
  maxQueueSize: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  random: () => number;
}

export const DEFAULT_RECONNECTION: Readonly<ReconnectionOptions> = {
  autoReconnect: true,
  maxReconnectAttempts: 15,
  reconnectDelay: 1000,
  maxReconnectDelay: 15000,
  jitter: 0.5,
  syncOnReconnect: true,
};

function requirePositive(name: string, value: number, allowZero = false): void {
  const ok = allowZero ? value >= 0 : value > 0;
  if (!(ok && (Number.isFinite(value) || value === Infinity))) {
    throw new RangeError(`invalid option "${name}": must be ${allowZero ? '>= 0' : '> 0'} (got ${value})`);
  }
}

export function resolveConnectionOptions(options: ConnectionOptions): ResolvedConnectionOptions {
  if (!options.token && !options.tokenProvider) {
    throw new TypeError('invalid options: give a "token" or a "tokenProvider"');
  }
  const reconnection: ReconnectionOptions = { ...DEFAULT_RECONNECTION, ...options.reconnection };
  requirePositive('reconnection.maxReconnectAttempts', reconnection.maxReconnectAttempts, true);
  requirePositive('reconnection.reconnectDelay', reconnection.reconnectDelay, true);
  requirePositive('reconnection.maxReconnectDelay', reconnection.maxReconnectDelay, true);
  const resolved: ResolvedConnectionOptions = {
    url: options.url.replace(/\/+$/, ''),
    token: options.token,
    tokenProvider: options.tokenProvider,
    tokenRefresh: options.tokenRefresh ?? 0.8,
    reconnection,
    retryFirstConnection: options.retryFirstConnection ?? true,
    maxQueueSize: options.maxQueueSize ?? 100,
    connectTimeoutMs: options.connectTimeoutMs ?? 10000,
    requestTimeoutMs: options.requestTimeoutMs ?? 10000,
    random: options.random ?? Math.random,
  };
  requirePositive('maxQueueSize', resolved.maxQueueSize, true);
  requirePositive('connectTimeoutMs', resolved.connectTimeoutMs);
  requirePositive('requestTimeoutMs', resolved.requestTimeoutMs);
  const share = resolved.tokenRefresh;
  if (share !== false && !(share > 0 && share < 1)) {
    throw new RangeError(
      `invalid option "tokenRefresh": must be above 0 and below 1, or false (got ${share})`,
    );
  }
  return resolved;
}

/** `http://h:p` → `ws://h:p`, `https://` → `wss://`; ws(s) URLs are kept. */
export function toWebSocketUrl(baseUrl: string): string {
  return baseUrl.replace(/^http(s?):\/\//i, (_match, secure: string) => `ws${secure}://`);
}
