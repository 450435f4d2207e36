// RealtimeModule options: the public interface (documented where declared), the defaults merged once,
// and the boot-time validation whose messages name the offending option.
import { dirname } from 'path';
import proxyaddr from 'proxy-addr';
import { assertKnownKeys, OPTION_KEYS } from './realtime-option-keys';
import { RealtimeOptionsError } from './realtime-options.error';
import { ROOM_NAME } from './protocol/rooms.protocol';
import type { RealtimeStorage } from './storage/realtime-storage.interface';

/** JWT signature algorithms the library verifies (`none` is never accepted). */
export type RealtimeJwtAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'PS256'
  | 'PS384'
  | 'PS512';

/** What a shared rate-limit storage returns for one hit (the shape of `@nestjs/throttler`'s record). */
export interface RealtimeRateLimitRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * A rate-limit storage shared by several nodes. Any `@nestjs/throttler` `ThrottlerStorage` fits (for
 * example a Redis-backed one): the library calls only `increment`.
 */
export interface RealtimeRateLimitStorage {
  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<RealtimeRateLimitRecord>;
}

/** The embedded SQLite file when `database` is not given, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = 'data/realtime.sqlite';

/** JWT verification. Exactly one of `secret` / `publicKey`. */
export interface RealtimeAuthOptions {
  /** HMAC secret (HS256/384/512). */
  secret?: string;
  /** PEM public key (RS*, ES*, PS*). */
  publicKey?: string | Buffer;
  /**
   * Accepted algorithms, pinned (`none` is never accepted).
   * @default ['HS256'] with `secret`, ['RS256'] with `publicKey`
   */
  algorithms?: RealtimeJwtAlgorithm[];
  /** Required `iss` claim. @default undefined (not checked) */
  issuer?: string;
  /** Required `aud` claim. @default undefined (not checked) */
  audience?: string | string[];
  /** Seconds of clock skew tolerated on `exp`/`nbf`. @default 0 */
  clockToleranceSec?: number;
  /**
   * Refuse tokens without an `exp` claim (they would never expire). Set false only for tokens whose
   * lifetime the host controls otherwise. @default true
   */
  requireExpiry?: boolean;
  /**
   * Tokens remembered once verified, by their exact text: a client that presents the same token
   * again (a log producer on every request, a reconnecting client) gets its expiry checked, not its
   * signature again. Only tokens that passed every check are kept; an expired one is refused and
   * forgotten when presented, and the least recently used go first when the cache is full (at most
   * 100,000 tokens and 4 MB of token text). 0 verifies every token in full. @default 1000
   */
  verifiedTokenCache?: number;
  /** Claim names mapped to the identity. */
  claims?: {
    /** @default 'sub' */
    userId?: string;
    /** @default 'username' */
    username?: string;
    /** An array of role names. @default 'roles' */
    roles?: string;
    /** Application id used by the log stream. @default 'appId' */
    appId?: string;
  };
  /** The role that makes a user an admin. @default 'admin' */
  adminRole?: string;
}

/** Endpoint paths, all on the host's HTTP port. */
export interface RealtimePathOptions {
  /** Socket.IO engine path (default namespace). @default '/socket.io' */
  socketIo?: string;
  /** Raw WebSocket rooms and direct messages. @default '/ws/chat' */
  rooms?: string;
  /** Raw WebSocket log and metrics stream. @default '/ws/logs' */
  logs?: string;
}

export interface RealtimeRateLimitOptions {
  /** Messages per user per minute, across all of the user's connections. @default 10 */
  perMinute?: number;
  /** Messages per user per hour, across all of the user's connections. @default 100 */
  perHour?: number;
}

export interface RealtimeLimitOptions {
  /** Largest inbound frame / Socket.IO packet in bytes; raw ws closes with 1009 above it. @default 1048576 */
  maxPayloadBytes?: number;
  /** Open connections on this node, all transports together. @default 10000 */
  maxConnections?: number;
  /** Open connections of one user on this node. @default 20 */
  maxConnectionsPerUser?: number;
  /**
   * Open connections from one client address (the socket's, or the forwarded one from a trusted
   * proxy: `trustedProxies`), all transports together, on this node. Past it a new connection is
   * refused with CONNECTION_LIMIT. @default 1000
   */
  maxConnectionsPerIp?: number;
  /**
   * Connection attempts (handshakes) accepted from one client address per second, on this node,
   * counted before the token is verified. Past it an attempt is refused with RATE_LIMITED and when
   * to retry. @default 100
   */
  maxHandshakesPerSecondPerIp?: number;
  /** Message rate limits. */
  rateLimit?: RealtimeRateLimitOptions;
  /** Server heartbeat (raw ws ping frames; Socket.IO `pingInterval`). @default 30000 */
  heartbeatIntervalMs?: number;
  /** A peer that does not answer a heartbeat within this delay is dropped (Socket.IO `pingTimeout`; raw ws: two missed pings). @default 20000 */
  heartbeatTimeoutMs?: number;
  /**
   * A connection that sends no application frame (a raw ws message, a Socket.IO event) for this long
   * is closed, on every transport alike; answered heartbeats do not count as activity. 0: a peer that
   * answers heartbeats is never closed for silence (listeners stay connected). Checked every
   * idleTimeoutMs / 2 (or every heartbeat interval if that is shorter): an idle connection is closed
   * between idleTimeoutMs and 1.5 × idleTimeoutMs after its last application frame, raw ws clients
   * getting an `error` IDLE_TIMEOUT frame before close 4408. @default 0
   */
  idleTimeoutMs?: number;
  /** Longest message content in characters. @default 4096 */
  maxMessageLength?: number;
  /** Largest history page. @default 100 */
  maxHistoryLimit?: number;
  /**
   * Bytes queued on the server for one client, on every transport, before it is closed as a slow
   * consumer: raw ws close 4508; Socket.IO: what waits in engine.io's write buffer and its WebSocket,
   * past which its transport is closed (WebSocket close 4508) and the client reconnects.
   * @default 8388608
   */
  maxBufferedBytes?: number;
  /**
   * On shutdown (the host's `app.close()`, SIGTERM with shutdown hooks): how long writes in flight
   * get to finish after new connections and frames are refused, before the remaining connections
   * are closed anyway. @default 10000
   */
  shutdownGraceMs?: number;
}

/** Embedded SQLite (default) or PostgreSQL. The library owns a TypeORM connection named `realtime`. */
export type RealtimeDatabaseOptions =
  | {
      type: 'sqlite';
      /**
       * File path (relative paths start at the working directory), or ':memory:'. Its folder is
       * created when missing; the path in use is logged at boot. @default 'data/realtime.sqlite'
       */
      path?: string;
      /**
       * WAL checkpoints run on a worker thread this often, instead of inside a COMMIT on the event
       * loop (on Linux, at the lowest thread priority). @default 1000
       */
      checkpointIntervalMs?: number;
    }
  | {
      type: 'postgres';
      /** Connection URL, e.g. postgres://user:pass@host:5432/db */
      url: string;
      /** Schema for the library's tables. @default 'public' */
      schema?: string;
      /** Pool size. @default 10 */
      poolSize?: number;
      /**
       * A new connection, or a free one of the pool, not ready within this fails (the server or the
       * network stopped answering, or every connection is busy): the request that needed it is
       * refused with `storage_unavailable`. @default 5000
       */
      connectTimeoutMs?: number;
      /**
       * A query not answered within this fails and its request is refused with `storage_unavailable`,
       * instead of waiting for as long as the server or the network does not answer. The server
       * cancels a statement at 80 % of it and ends a session left idle inside a transaction that long;
       * the client ends a connection whose query it stopped waiting for, so no transaction is left
       * for a later request to commit. A COMMIT that timed out may still have been carried out by the
       * server. The migrations run at start are not bounded by it. @default 10000
       */
      queryTimeoutMs?: number;
    };

export interface RealtimeEventsOptions {
  /** The page whose clients receive module events (as well as admins). @default 'modules' */
  modulesPage?: string;
  /** Modules whose last state is kept for change detection; least recently used evicted. @default 10000 */
  stateCacheSize?: number;
  /** Coalescing window of `rt_global_stats_updated`. @default 1000 */
  statsThrottleMs?: number;
}

export interface RealtimeSocketIoOptions {
  /** Socket.IO CORS settings, passed through. @default undefined (same origin only) */
  cors?: { origin: string | string[] | boolean; credentials?: boolean };
}

/** The chat over Socket.IO. */
export interface RealtimeChatOptions {
  /** Room of messages sent without `context.roomId`; every chat socket joins it. @default 'general' */
  lobbyRoom?: string;
  /** A `typing: true` not followed by `false` expires after this delay. @default 5000 */
  typingTimeoutMs?: number;
  /**
   * Socket.IO connection state recovery: a client that drops for less than this gets the missed
   * messages on reconnect; 0 disables it. @default 120000
   */
  recoveryWindowMs?: number;
  /** Offline users with a lastSeen listed by `onlineUsers`. @default 50 */
  recentlySeenLimit?: number;
}

/** The per-application log and metrics stream. */
export interface RealtimeStreamOptions {
  /**
   * Also serve the stream on its own port, at path '/' (the log stream's reference client connects to ws://host:3001).
   * null: only at `paths.logs` on the app's port; 0 picks a free port. @default null
   */
  port?: number | null;
  /** Interface of that own port. @default undefined (all interfaces) */
  host?: string;
  /** `metrics` frames are sent this often to every authenticated client. @default 5000 */
  metricsIntervalMs?: number;
  /**
   * Least time between two `logs` frames of an app with entries published on this node (batches
   * relayed from other nodes go out as they arrive). The first entries after a quiet
   * spell go out at the end of the tick they were published in; entries published while a frame
   * went out less than this long ago wait for the rest of it and go out together, so a busy app
   * sends fewer, larger frames (each frame is a write to every subscriber). 0 sends a frame every
   * tick that published entries. @default 2
   */
  flushIntervalMs?: number;
  /** Log entries kept per application (oldest dropped first). @default 1000 */
  bufferSize?: number;
  /**
   * Keep each app's buffer in the library's database as well, so the backlog survives a restart
   * (entries are written after they are sent; the newest `bufferSize` of each app are kept).
   * @default false
   */
  persist?: boolean;
  /** Entries sent to a client right after `auth_success`. @default 100 */
  backlogSize?: number;
  /** A client that has not authenticated after this delay gets `auth_error` and is closed. @default 10000 */
  authTimeoutMs?: number;
  /** Most entries accepted in one HTTP ingestion request. @default 1000 */
  maxEntriesPerRequest?: number;
  /** Folder whose file system `disk` metrics describe. @default the SQLite folder, else the working directory */
  diskPath?: string;
}

/** permessage-deflate on the raw ws endpoints, negotiated when the client offers it. */
export interface RealtimeCompressionOptions {
  /** Off by default: compression costs CPU on every frame. @default false */
  enabled?: boolean;
  /** Frames smaller than this many bytes are sent uncompressed. @default 1024 */
  threshold?: number;
}

export interface RealtimeRoomsOptions {
  /** Rooms created at start when missing. @default [{ name: 'general' }] */
  initial?: Array<{ name: string; isPrivate?: boolean }>;
  /**
   * A public room named by a join or a post that does not exist yet is created then (as Socket.IO
   * rooms come into being), on the chat and the rooms endpoint alike, within the room-name rule and
   * `maxRooms`. false: unknown rooms get ROOM_NOT_FOUND. @default true
   */
  autoCreate?: boolean;
  /** Most rooms in storage; past it, auto-creation refuses new rooms with ROOM_NOT_FOUND. @default 1000 */
  maxRooms?: number;
  /**
   * Write one `WS_MESSAGE` line per inbound frame of the rooms endpoint (type, user, room, handling
   * time; never the content), at debug level of the host's logger. Off, no per-frame line is built.
   * @default false
   */
  logMessages?: boolean;
  /**
   * Rate-limit storage shared by every transport and by the host's `RealtimeRateLimiter` buckets (an
   * `@nestjs/throttler` ThrottlerStorage). With `redis`, the throttler's in-memory storage is refused.
   * @default undefined (per-user sliding windows in memory; with `redis`, `@nest-lab/throttler-storage-redis` on the library's Redis connection, shared by every node)
   */
  rateLimitStorage?: RealtimeRateLimitStorage;
  /** How long messages are kept. @default keep every message */
  retention?: RealtimeRetentionOptions;
}

/** Message retention, applied by the store in small batches in the background. */
export interface RealtimeRetentionOptions {
  /** Messages older than this are deleted; 0 keeps them whatever their age. @default 0 */
  maxAgeMs?: number;
  /** Only the newest this many messages of each room and direct conversation are kept; 0: no cap. @default 0 */
  maxMessagesPerConversation?: number;
  /** How often retention runs. @default 60000 */
  intervalMs?: number;
}

/** Redis for scale-out across nodes (optional peers `ioredis` and `@socket.io/redis-adapter`). */
export interface RealtimeRedisOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Prefix of every key and channel the library uses. @default 'rt' */
  keyPrefix?: string;
  /** Time allowed to connect at start before boot fails. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * How long the other nodes keep counting the connections of a node that stopped without closing
   * them (killed, cut from Redis). Each node renews its presence a third of this often; past it, the
   * node's users go offline for the deployment within this time plus one sweep (a third of it).
   * @default 15000
   */
  nodeExpiryMs?: number;
  /**
   * How Socket.IO packets travel between nodes.
   * - `'streams'` (`@socket.io/redis-streams-adapter`): through the Redis stream `<keyPrefix>:socket.io`,
   *   which also keeps them for connection state recovery: a client that comes back within
   *   `chat.recoveryWindowMs` recovers its rooms and the packets it missed on whichever node it
   *   reaches, also after a node's graceful shutdown. The stream keeps max(10000, 500 × the window in
   *   seconds) packets, all nodes together (60000, about 30 MB of Redis memory with short chat
   *   messages, for the default 2 minutes); a client that comes back after more is not recovered and
   *   resyncs from history (the SDK's ChatClient does it by itself). Each node opens three more Redis
   *   connections.
   * - `'pubsub'` (`@socket.io/redis-adapter`): classic pub/sub; no connection state recovery (the
   *   server offers none), clients resync from history.
   * @default 'streams'
   */
  socketIoAdapter?: 'streams' | 'pubsub';
}

/** Options of RealtimeModule.forRoot / the factory of forRootAsync. */
export interface RealtimeModuleOptions {
  auth: RealtimeAuthOptions;
  paths?: RealtimePathOptions;
  limits?: RealtimeLimitOptions;
  database?: RealtimeDatabaseOptions;
  events?: RealtimeEventsOptions;
  socketIo?: RealtimeSocketIoOptions;
  /** permessage-deflate for the raw ws endpoints. */
  compression?: RealtimeCompressionOptions;
  /** The chat over Socket.IO. */
  chat?: RealtimeChatOptions;
  /** The log and metrics stream. */
  stream?: RealtimeStreamOptions;
  /** Rooms and direct messages shared by the chat and rooms gateways. */
  rooms?: RealtimeRoomsOptions;
  /** Scale-out: Socket.IO events reach the sockets of every node. @default undefined (one node, in-process) */
  redis?: RealtimeRedisOptions;
  /**
   * The stores of messages, rooms, direct conversations, users (and, with `stream.persist`, logs) in
   * place of the default TypeORM ones: `inMemoryStorage()` or the host's own. The library then opens
   * no database (not with `database`). @default undefined (TypeORM on `database`)
   */
  storage?: RealtimeStorage;
  /**
   * Browser origins allowed to connect, on every transport (Socket.IO, the rooms endpoint, the log
   * stream): a connection whose `Origin` header is not in the list is refused with PERMISSION_DENIED
   * "Origin not allowed" (close 4403 on raw ws, `connect_error` on Socket.IO). Clients that send no
   * `Origin` (servers, the SDK in Node) are not concerned. Each entry is an origin as browsers send
   * it: `https://app.example.com`, with a port when not the scheme's default.
   * @default undefined (every origin; Socket.IO's cross-origin requests still follow `socketIo.cors`)
   */
  allowedOrigins?: string[];
  /**
   * The proxies (load balancers) in front of the nodes, whose `X-Forwarded-For` header is believed:
   * addresses, CIDR ranges or the names `loopback`, `linklocal` and `uniquelocal` (as Express'
   * `trust proxy`). The client's address, for `limits.maxConnectionsPerIp` and
   * `limits.maxHandshakesPerSecondPerIp`, is then the nearest forwarded address not in the list.
   * @default undefined (the socket's address is the client's; forwarded headers are ignored)
   */
  trustedProxies?: string[];
}

/** Static choices, given next to the options in forRoot and forRootAsync (they shape the module). */
export interface RealtimeModuleExtras {
  /** Register the module globally. @default false */
  isGlobal?: boolean;
  /** Which gateways are mounted. @default every one */
  gateways?: {
    /** The events API's rt_* events over Socket.IO. @default true */
    events?: boolean;
    /** The chat over Socket.IO. @default true */
    chat?: boolean;
    /** Rooms and direct messages over raw ws (`paths.rooms`). @default true */
    rooms?: boolean;
    /** The log and metrics stream (`paths.logs`; its HTTP routes are opt-in, see `http`). @default true */
    logs?: boolean;
  };
  /**
   * HTTP routes on the host's server. None is mounted unless its path is given here; both need the
   * log stream (`gateways.logs`).
   */
  http?: RealtimeHttpRoutes;
}

/** Opt-in HTTP routes of the library, by path. */
export interface RealtimeHttpRoutes {
  /** `GET` with the Prometheus exposition of the library's counters, e.g. '/metrics'. @default undefined (not mounted) */
  metricsPath?: string;
  /**
   * `POST` log ingestion for the log stream; the path holds an `:appId` parameter, e.g.
   * '/apps/:appId/logs'. @default undefined (not mounted)
   */
  logIngestionPath?: string;
}

type DeepRequired<T> = T extends Buffer | string | number | boolean | unknown[]
  ? T
  : { [K in keyof T]-?: DeepRequired<NonNullable<T[K]>> };

/** Options after defaults were merged: what the providers read. */
export interface ResolvedRealtimeOptions {
  auth: {
    secret: string | undefined;
    publicKey: string | Buffer | undefined;
    algorithms: RealtimeJwtAlgorithm[];
    issuer: string | undefined;
    audience: string | string[] | undefined;
    clockToleranceSec: number;
    requireExpiry: boolean;
    verifiedTokenCache: number;
    claims: DeepRequired<NonNullable<RealtimeAuthOptions['claims']>>;
    adminRole: string;
  };
  paths: DeepRequired<RealtimePathOptions>;
  limits: DeepRequired<RealtimeLimitOptions>;
  database:
    | { type: 'sqlite'; path: string; checkpointIntervalMs: number }
    | {
        type: 'postgres';
        url: string;
        schema: string;
        poolSize: number;
        connectTimeoutMs: number;
        queryTimeoutMs: number;
      };
  events: DeepRequired<RealtimeEventsOptions>;
  socketIo: RealtimeSocketIoOptions;
  redis: {
    url: string;
    keyPrefix: string;
    connectTimeoutMs: number;
    nodeExpiryMs: number;
    socketIoAdapter: 'streams' | 'pubsub';
  } | null;
  rooms: {
    initial: Array<{ name: string; isPrivate: boolean }>;
    autoCreate: boolean;
    maxRooms: number;
    logMessages: boolean;
    rateLimitStorage: RealtimeRateLimitStorage | null;
    retention: Required<RealtimeRetentionOptions>;
  };
  /** The host's stores, or null for the default TypeORM ones on `database`. */
  storage: RealtimeStorage | null;
  /** null: every origin. */
  allowedOrigins: ReadonlySet<string> | null;
  /** The trusted proxies as given (validated); null: forwarded headers are ignored. */
  trustedProxies: string[] | null;
  compression: { enabled: boolean; threshold: number };
  chat: DeepRequired<RealtimeChatOptions>;
  stream: {
    port: number | null;
    host: string | undefined;
    metricsIntervalMs: number;
    flushIntervalMs: number;
    bufferSize: number;
    persist: boolean;
    backlogSize: number;
    authTimeoutMs: number;
    maxEntriesPerRequest: number;
    diskPath: string;
  };
}

/**
 * Every default of the options, in one place: the resolver merges the host's options over these once,
 * then validates the result. The JSDoc `@default` tags and docs/options.md are checked against it by
 * a spec. (`auth.algorithms` depends on the key kind, `stream.diskPath` on the database: both are
 * derived in the resolver.)
 */
export interface RealtimeDefaults {
  auth: Required<
    Pick<RealtimeAuthOptions, 'clockToleranceSec' | 'requireExpiry' | 'verifiedTokenCache' | 'adminRole'>
  > & {
    claims: Required<NonNullable<RealtimeAuthOptions['claims']>>;
  };
  paths: Required<RealtimePathOptions>;
  limits: DeepRequired<RealtimeLimitOptions>;
  sqlite: { type: 'sqlite'; path: string; checkpointIntervalMs: number };
  postgres: { schema: string; poolSize: number; connectTimeoutMs: number; queryTimeoutMs: number };
  events: Required<RealtimeEventsOptions>;
  chat: Required<RealtimeChatOptions>;
  compression: Required<RealtimeCompressionOptions>;
  rooms: {
    initial: ReadonlyArray<{ name: string; isPrivate?: boolean }>;
    autoCreate: boolean;
    maxRooms: number;
    logMessages: boolean;
    retention: Required<RealtimeRetentionOptions>;
  };
  redis: Required<Omit<RealtimeRedisOptions, 'url'>>;
  stream: Required<
    Pick<
      RealtimeStreamOptions,
      | 'port'
      | 'metricsIntervalMs'
      | 'flushIntervalMs'
      | 'bufferSize'
      | 'persist'
      | 'backlogSize'
      | 'authTimeoutMs'
      | 'maxEntriesPerRequest'
    >
  >;
}

export const REALTIME_DEFAULTS: RealtimeDefaults = {
  auth: {
    clockToleranceSec: 0,
    requireExpiry: true,
    verifiedTokenCache: 1000,
    claims: { userId: 'sub', username: 'username', roles: 'roles', appId: 'appId' },
    adminRole: 'admin',
  },
  paths: { socketIo: '/socket.io', rooms: '/ws/chat', logs: '/ws/logs' },
  limits: {
    maxPayloadBytes: 1024 * 1024,
    maxConnections: 10_000,
    maxConnectionsPerUser: 20,
    maxConnectionsPerIp: 1000,
    maxHandshakesPerSecondPerIp: 100,
    rateLimit: { perMinute: 10, perHour: 100 },
    heartbeatIntervalMs: 30_000,
    heartbeatTimeoutMs: 20_000,
    idleTimeoutMs: 0,
    maxMessageLength: 4096,
    maxHistoryLimit: 100,
    maxBufferedBytes: 8 * 1024 * 1024,
    shutdownGraceMs: 10_000,
  },
  /** `database` when not given, and the defaults of its SQLite form. */
  sqlite: { type: 'sqlite', path: DEFAULT_SQLITE_PATH, checkpointIntervalMs: 1000 },
  /** The defaults of the PostgreSQL form of `database`. */
  postgres: { schema: 'public', poolSize: 10, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 },
  events: { modulesPage: 'modules', stateCacheSize: 10_000, statsThrottleMs: 1000 },
  chat: { lobbyRoom: 'general', typingTimeoutMs: 5000, recoveryWindowMs: 120_000, recentlySeenLimit: 50 },
  compression: { enabled: false, threshold: 1024 },
  rooms: {
    initial: [{ name: 'general' }],
    autoCreate: true,
    maxRooms: 1000,
    logMessages: false,
    retention: { maxAgeMs: 0, maxMessagesPerConversation: 0, intervalMs: 60_000 },
  },
  redis: { keyPrefix: 'rt', connectTimeoutMs: 5000, nodeExpiryMs: 15_000, socketIoAdapter: 'streams' },
  stream: {
    port: null,
    metricsIntervalMs: 5000,
    flushIntervalMs: 2,
    bufferSize: 1000,
    persist: false,
    backlogSize: 100,
    authTimeoutMs: 10_000,
    maxEntriesPerRequest: 1000,
  },
};

/** The default limits (kept as an export for hosts that size their own limits from them). */
export const DEFAULT_LIMITS: ResolvedRealtimeOptions['limits'] = REALTIME_DEFAULTS.limits;

/** `defaults` with the given fields over them; a field given as undefined keeps its default. */
function withDefaults<D extends object, G extends object>(defaults: D, given: G | undefined): D & G {
  const merged = { ...defaults } as Record<string, unknown>;
  if (given !== null && typeof given === 'object') {
    for (const [key, value] of Object.entries(given)) if (value !== undefined) merged[key] = value;
  }
  return merged as D & G;
}

const ASYMMETRIC = /^(RS|ES|PS)(256|384|512)$/;
const SYMMETRIC = /^HS(256|384|512)$/;

function positiveInt(option: string, value: number, allowZero = false): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new RealtimeOptionsError(
      option,
      `must be ${allowZero ? 'a non-negative' : 'a positive'} integer (got ${String(value)})`,
    );
  }
  return value;
}

function path(option: string, value: string): string {
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(value)) {
    throw new RealtimeOptionsError(
      option,
      `must be an absolute URL path such as "/ws/chat" (got ${JSON.stringify(value)})`,
    );
  }
  const trimmed = value.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

function bool(option: string, value: boolean): boolean {
  if (typeof value !== 'boolean') {
    throw new RealtimeOptionsError(option, `must be true or false (got ${JSON.stringify(value)})`);
  }
  return value;
}

function nonEmpty(option: string, value: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new RealtimeOptionsError(option, 'must be a non-empty string');
  }
  return value;
}

/** The host's options merged over REALTIME_DEFAULTS, before validation. */
function mergeDefaults(options: RealtimeModuleOptions) {
  const D = REALTIME_DEFAULTS;
  const auth = withDefaults(D.auth, options.auth);
  const limits = withDefaults(D.limits, options.limits);
  return {
    auth: { ...auth, claims: withDefaults(D.auth.claims, options.auth.claims) },
    paths: withDefaults(D.paths, options.paths),
    limits: { ...limits, rateLimit: withDefaults(D.limits.rateLimit, options.limits?.rateLimit) },
    database:
      options.database === undefined
        ? { ...D.sqlite }
        : options.database.type === 'postgres'
          ? withDefaults(D.postgres, options.database)
          : withDefaults(D.sqlite, options.database),
    events: withDefaults(D.events, options.events),
    chat: withDefaults(D.chat, options.chat),
    compression: withDefaults(D.compression, options.compression),
    rooms: {
      ...withDefaults(D.rooms, options.rooms),
      retention: withDefaults(D.rooms.retention, options.rooms?.retention),
    },
    redis: options.redis === undefined ? null : withDefaults(D.redis, options.redis),
    stream: withDefaults(D.stream, options.stream),
  };
}

/** Merges the defaults once, then validates every field (errors name the option). */
export function resolveRealtimeOptions(options: RealtimeModuleOptions | undefined): ResolvedRealtimeOptions {
  if (!options || typeof options !== 'object') {
    throw new RealtimeOptionsError('auth', 'options are required (at least auth.secret or auth.publicKey)');
  }
  assertKnownKeys(options, OPTION_KEYS, '');
  if (!options.auth || typeof options.auth !== 'object')
    throw new RealtimeOptionsError('auth', 'is required');
  const merged = mergeDefaults(options);
  const { auth, paths, limits, events, chat, compression } = merged;
  const hasSecret = auth.secret !== undefined;
  const hasKey = auth.publicKey !== undefined;
  if (hasSecret === hasKey) {
    throw new RealtimeOptionsError('auth.secret', 'give exactly one of auth.secret and auth.publicKey');
  }
  if (hasSecret && (typeof auth.secret !== 'string' || auth.secret.length < 16)) {
    throw new RealtimeOptionsError('auth.secret', 'must be a string of at least 16 characters');
  }
  if (hasKey && (auth.publicKey === '' || auth.publicKey?.length === 0)) {
    throw new RealtimeOptionsError('auth.publicKey', 'must be a non-empty PEM public key');
  }
  const algorithms: RealtimeJwtAlgorithm[] = auth.algorithms ?? (hasSecret ? ['HS256'] : ['RS256']);
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new RealtimeOptionsError('auth.algorithms', 'must be a non-empty array');
  }
  for (const alg of algorithms) {
    const fits = hasSecret ? SYMMETRIC.test(alg) : ASYMMETRIC.test(alg);
    if (!fits) {
      throw new RealtimeOptionsError(
        'auth.algorithms',
        `"${String(alg)}" does not fit ${hasSecret ? 'auth.secret (HS*)' : 'auth.publicKey (RS*, ES*, PS*)'}`,
      );
    }
  }
  /** A numeric limit, checked; a duration also within what a Node timer can wait. */
  const limit = (key: Exclude<keyof RealtimeLimitOptions, 'rateLimit'>, allowZero = false): number => {
    const value = positiveInt(`limits.${key}`, limits[key], allowZero);
    return key.endsWith('Ms') ? timerMs(`limits.${key}`, value) : value;
  };

  const resolved: ResolvedRealtimeOptions = {
    auth: {
      secret: auth.secret,
      publicKey: auth.publicKey,
      algorithms,
      issuer: auth.issuer,
      audience: auth.audience,
      clockToleranceSec: positiveInt('auth.clockToleranceSec', auth.clockToleranceSec, true),
      requireExpiry: bool('auth.requireExpiry', auth.requireExpiry),
      verifiedTokenCache: verifiedTokenCache(auth.verifiedTokenCache),
      claims: {
        userId: nonEmpty('auth.claims.userId', auth.claims.userId),
        username: nonEmpty('auth.claims.username', auth.claims.username),
        roles: nonEmpty('auth.claims.roles', auth.claims.roles),
        appId: nonEmpty('auth.claims.appId', auth.claims.appId),
      },
      adminRole: nonEmpty('auth.adminRole', auth.adminRole),
    },
    paths: {
      socketIo: path('paths.socketIo', paths.socketIo),
      rooms: path('paths.rooms', paths.rooms),
      logs: path('paths.logs', paths.logs),
    },
    limits: {
      maxPayloadBytes: limit('maxPayloadBytes'),
      maxConnections: limit('maxConnections'),
      maxConnectionsPerUser: limit('maxConnectionsPerUser'),
      maxConnectionsPerIp: limit('maxConnectionsPerIp'),
      maxHandshakesPerSecondPerIp: limit('maxHandshakesPerSecondPerIp'),
      rateLimit: {
        perMinute: positiveInt('limits.rateLimit.perMinute', limits.rateLimit.perMinute),
        perHour: positiveInt('limits.rateLimit.perHour', limits.rateLimit.perHour),
      },
      heartbeatIntervalMs: limit('heartbeatIntervalMs'),
      heartbeatTimeoutMs: limit('heartbeatTimeoutMs'),
      idleTimeoutMs: limit('idleTimeoutMs', true),
      maxMessageLength: limit('maxMessageLength'),
      maxHistoryLimit: limit('maxHistoryLimit'),
      maxBufferedBytes: limit('maxBufferedBytes'),
      shutdownGraceMs: limit('shutdownGraceMs', true),
    },
    database: resolveDatabase(merged.database),
    storage: resolveStorage(options),
    allowedOrigins: resolveAllowedOrigins(options.allowedOrigins),
    trustedProxies: resolveTrustedProxies(options.trustedProxies),
    events: {
      modulesPage: nonEmpty('events.modulesPage', events.modulesPage),
      stateCacheSize: positiveInt('events.stateCacheSize', events.stateCacheSize),
      statsThrottleMs: positiveInt('events.statsThrottleMs', events.statsThrottleMs, true),
    },
    socketIo: { cors: options.socketIo?.cors },
    redis: resolveRedis(merged.redis),
    rooms: resolveRooms(merged.rooms, merged.redis !== null),
    stream: resolveStream(merged.stream, merged.database),
    chat: {
      lobbyRoom: roomName('chat.lobbyRoom', chat.lobbyRoom),
      typingTimeoutMs: positiveInt('chat.typingTimeoutMs', chat.typingTimeoutMs),
      recoveryWindowMs: positiveInt('chat.recoveryWindowMs', chat.recoveryWindowMs, true),
      recentlySeenLimit: positiveInt('chat.recentlySeenLimit', chat.recentlySeenLimit, true),
    },
    compression: {
      enabled: compression.enabled === true,
      threshold: positiveInt('compression.threshold', compression.threshold, true),
    },
  };
  const { maxAgeMs, maxMessagesPerConversation } = resolved.rooms.retention;
  if (
    resolved.storage !== null &&
    (maxAgeMs > 0 || maxMessagesPerConversation > 0) &&
    typeof resolved.storage.messages.prune !== 'function'
  ) {
    throw new RealtimeOptionsError(
      'rooms.retention',
      'with storage, needs storage.messages.prune() (the message store deletes what retention drops)',
    );
  }
  if (resolved.limits.rateLimit.perHour < resolved.limits.rateLimit.perMinute) {
    throw new RealtimeOptionsError('limits.rateLimit.perHour', 'must be at least limits.rateLimit.perMinute');
  }
  const owned = [resolved.paths.socketIo, resolved.paths.rooms, resolved.paths.logs];
  if (new Set(owned).size !== owned.length) {
    throw new RealtimeOptionsError('paths', `paths must differ (got ${owned.join(', ')})`);
  }
  return resolved;
}

type MergedOptions = ReturnType<typeof mergeDefaults>;

function resolveDatabase(database: MergedOptions['database']): ResolvedRealtimeOptions['database'] {
  if (database.type === 'sqlite') {
    return {
      type: 'sqlite',
      path: nonEmpty('database.path', database.path),
      checkpointIntervalMs: positiveInt('database.checkpointIntervalMs', database.checkpointIntervalMs),
    };
  }
  if (database.type === 'postgres') {
    const url = nonEmpty('database.url', database.url);
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new RealtimeOptionsError('database.url', 'must be a postgres:// or postgresql:// URL');
    }
    return {
      type: 'postgres',
      url,
      schema: nonEmpty('database.schema', database.schema),
      poolSize: positiveInt('database.poolSize', database.poolSize),
      connectTimeoutMs: positiveInt('database.connectTimeoutMs', database.connectTimeoutMs),
      queryTimeoutMs: positiveInt('database.queryTimeoutMs', database.queryTimeoutMs),
    };
  }
  throw new RealtimeOptionsError(
    'database.type',
    `must be "sqlite" or "postgres" (got ${JSON.stringify((database as { type: unknown }).type)})`,
  );
}

function resolveStorage(options: RealtimeModuleOptions): RealtimeStorage | null {
  const storage = options.storage;
  if (storage === undefined) return null;
  if (options.database !== undefined) {
    throw new RealtimeOptionsError(
      'storage',
      'give either storage or database, not both (database configures the default store)',
    );
  }
  const required: Array<[keyof RealtimeStorage, string[]]> = [
    ['messages', ['insert', 'exists', 'count', 'newest', 'after']],
    ['rooms', ['findByName', 'create', 'list', 'addMember', 'removeMember', 'isMember']],
    ['directConversations', ['list']],
    ['users', ['register', 'findById', 'findByUsername', 'markSeen', 'recentlySeen', 'count']],
  ];
  for (const [store, methods] of required) {
    const value = (storage as unknown as Record<string, Record<string, unknown> | undefined>)[store];
    const missing = methods.filter((method) => typeof value?.[method] !== 'function');
    if (missing.length > 0) {
      throw new RealtimeOptionsError(`storage.${store}`, `must implement ${missing.join(', ')}`);
    }
  }
  if (options.stream?.persist === true && storage.logs === undefined) {
    throw new RealtimeOptionsError(
      'stream.persist',
      'with storage, needs storage.logs (the log store to keep)',
    );
  }
  return storage;
}

function resolveAllowedOrigins(origins: unknown): ReadonlySet<string> | null {
  if (origins === undefined) return null;
  if (!Array.isArray(origins) || origins.length === 0) {
    throw new RealtimeOptionsError(
      'allowedOrigins',
      'must be a non-empty array of origins, e.g. https://app.example.com',
    );
  }
  return new Set(
    origins.map((origin: unknown, index) => {
      let parsed: URL | null = null;
      try {
        parsed = typeof origin === 'string' ? new URL(origin) : null;
      } catch {
        parsed = null;
      }
      if (parsed === null || parsed.origin === 'null' || parsed.origin !== origin) {
        throw new RealtimeOptionsError(
          `allowedOrigins[${index}]`,
          'must be an origin as browsers send it: scheme://host[:port], no path or trailing slash',
        );
      }
      return origin;
    }),
  );
}

/** Longest delay a Node timer waits (2^31 - 1 ms, about 24.8 days); past it Node fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** Beyond this many, the cache's 4 MB of token text is the bound, and lru-cache sizes arrays by the count. */
const MAX_VERIFIED_TOKEN_CACHE = 100_000;

function verifiedTokenCache(value: number): number {
  const count = positiveInt('auth.verifiedTokenCache', value, true);
  if (count > MAX_VERIFIED_TOKEN_CACHE) {
    throw new RealtimeOptionsError(
      'auth.verifiedTokenCache',
      `must be at most ${MAX_VERIFIED_TOKEN_CACHE} (got ${count})`,
    );
  }
  return count;
}

function timerMs(option: string, value: number): number {
  if (value > MAX_TIMER_MS) {
    throw new RealtimeOptionsError(option, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days)`);
  }
  return value;
}

function resolveTrustedProxies(proxies: unknown): string[] | null {
  if (proxies === undefined) return null;
  if (!Array.isArray(proxies) || proxies.length === 0) {
    throw new RealtimeOptionsError(
      'trustedProxies',
      'must be a non-empty array of addresses, CIDR ranges, or loopback / linklocal / uniquelocal',
    );
  }
  proxies.forEach((entry: unknown, index) => {
    try {
      if (typeof entry !== 'string') throw new TypeError('not a string');
      proxyaddr.compile(entry);
    } catch {
      throw new RealtimeOptionsError(
        `trustedProxies[${index}]`,
        `must be an IP address, a CIDR range, or loopback / linklocal / uniquelocal (got ${JSON.stringify(entry)})`,
      );
    }
  });
  return [...(proxies as string[])];
}

function resolveRedis(redis: MergedOptions['redis']): ResolvedRealtimeOptions['redis'] {
  if (redis === null) return null;
  const url = nonEmpty('redis.url', redis.url);
  if (!/^rediss?:\/\//.test(url))
    throw new RealtimeOptionsError('redis.url', 'must be a redis:// or rediss:// URL');
  const keyPrefix = nonEmpty('redis.keyPrefix', redis.keyPrefix);
  if (!/^[A-Za-z0-9_.:-]{1,32}$/.test(keyPrefix)) {
    throw new RealtimeOptionsError('redis.keyPrefix', 'must be 1-32 letters, digits, _ . : or -');
  }
  const nodeExpiryMs = positiveInt('redis.nodeExpiryMs', redis.nodeExpiryMs);
  if (nodeExpiryMs < 1000) throw new RealtimeOptionsError('redis.nodeExpiryMs', 'must be at least 1000');
  if (redis.socketIoAdapter !== 'streams' && redis.socketIoAdapter !== 'pubsub') {
    throw new RealtimeOptionsError('redis.socketIoAdapter', "must be 'streams' or 'pubsub'");
  }
  return {
    url,
    keyPrefix,
    connectTimeoutMs: positiveInt('redis.connectTimeoutMs', redis.connectTimeoutMs),
    nodeExpiryMs,
    socketIoAdapter: redis.socketIoAdapter,
  };
}

function resolveRooms(rooms: MergedOptions['rooms'], scaledOut: boolean): ResolvedRealtimeOptions['rooms'] {
  const initial: unknown = rooms.initial;
  if (!Array.isArray(initial)) throw new RealtimeOptionsError('rooms.initial', 'must be an array');
  const resolved = (initial as Array<{ name?: unknown; isPrivate?: unknown } | null>).map((room, index) => {
    if (typeof room?.name !== 'string' || !ROOM_NAME.test(room.name)) {
      throw new RealtimeOptionsError(
        `rooms.initial[${index}].name`,
        'must be 1-64 letters, digits, _ . or -',
      );
    }
    return { name: room.name, isPrivate: room.isPrivate === true };
  });
  const storage = rooms.rateLimitStorage ?? null;
  if (storage !== null && typeof storage.increment !== 'function') {
    throw new RealtimeOptionsError(
      'rooms.rateLimitStorage',
      'must implement increment() (any @nestjs/throttler ThrottlerStorage does)',
    );
  }
  // @nestjs/throttler's in-memory storage counts per process: with several nodes a user would get the
  // limit once per node. With `redis`, the limits are shared through Redis unless a shared storage is given.
  if (scaledOut && storage?.constructor?.name === 'ThrottlerStorageService') {
    throw new RealtimeOptionsError(
      'rooms.rateLimitStorage',
      "is @nestjs/throttler's in-memory storage, which counts per node; with `redis` leave it unset (the limits are then shared through Redis) or give a shared storage",
    );
  }
  for (const key of ['autoCreate', 'logMessages'] as const) {
    if (typeof rooms[key] !== 'boolean')
      throw new RealtimeOptionsError(`rooms.${key}`, 'must be true or false');
  }
  const retention = rooms.retention;
  return {
    initial: resolved,
    autoCreate: rooms.autoCreate,
    maxRooms: positiveInt('rooms.maxRooms', rooms.maxRooms),
    logMessages: rooms.logMessages,
    rateLimitStorage: storage,
    retention: {
      maxAgeMs: positiveInt('rooms.retention.maxAgeMs', retention.maxAgeMs, true),
      maxMessagesPerConversation: positiveInt(
        'rooms.retention.maxMessagesPerConversation',
        retention.maxMessagesPerConversation,
        true,
      ),
      intervalMs: timerMs(
        'rooms.retention.intervalMs',
        positiveInt('rooms.retention.intervalMs', retention.intervalMs),
      ),
    },
  };
}

function roomName(option: string, value: string): string {
  if (typeof value !== 'string' || !ROOM_NAME.test(value)) {
    throw new RealtimeOptionsError(option, 'must be 1-64 letters, digits, _ . or -');
  }
  return value;
}

function resolveStream(
  stream: MergedOptions['stream'],
  database: MergedOptions['database'],
): ResolvedRealtimeOptions['stream'] {
  const port = stream.port;
  if (port !== null && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RealtimeOptionsError(
      'stream.port',
      `must be null or a port from 0 to 65535 (got ${String(port)})`,
    );
  }
  // The disk whose figures the metrics report: the SQLite file's, else the working directory's.
  const dataDir = database.type === 'sqlite' && database.path !== ':memory:' ? dirname(database.path) : '.';
  const bufferSize = positiveInt('stream.bufferSize', stream.bufferSize);
  const backlogSize = positiveInt('stream.backlogSize', stream.backlogSize, true);
  if (backlogSize > bufferSize)
    throw new RealtimeOptionsError('stream.backlogSize', 'must not exceed stream.bufferSize');
  return {
    port,
    host: stream.host,
    metricsIntervalMs: positiveInt('stream.metricsIntervalMs', stream.metricsIntervalMs),
    flushIntervalMs: timerMs(
      'stream.flushIntervalMs',
      positiveInt('stream.flushIntervalMs', stream.flushIntervalMs, true),
    ),
    bufferSize,
    persist: bool('stream.persist', stream.persist),
    backlogSize,
    authTimeoutMs: positiveInt('stream.authTimeoutMs', stream.authTimeoutMs),
    maxEntriesPerRequest: positiveInt('stream.maxEntriesPerRequest', stream.maxEntriesPerRequest),
    diskPath: nonEmpty('stream.diskPath', stream.diskPath ?? dataDir),
  };
}

export { RealtimeOptionsError } from './realtime-options.error';
