// The option keys, to refuse a misspelt one at boot, naming it with the closest valid key.
import { closest } from 'fastest-levenshtein';
import { RealtimeOptionsError } from './realtime-options.error';
import type {
  RealtimeAuthOptions,
  RealtimeChatOptions,
  RealtimeCompressionOptions,
  RealtimeDatabaseOptions,
  RealtimeEventsOptions,
  RealtimeHttpRoutes,
  RealtimeLimitOptions,
  RealtimeModuleExtras,
  RealtimeModuleOptions,
  RealtimePathOptions,
  RealtimeRateLimitOptions,
  RealtimeRedisOptions,
  RealtimeRetentionOptions,
  RealtimeRoomsOptions,
  RealtimeSocketIoOptions,
  RealtimeStreamOptions,
} from './realtime.options';

/**
 * The option keys, to refuse a misspelt one at boot. `true`: a value taken as it is (a host object
 * such as a storage instance, CORS settings or a key is not walked); an object: its keys are walked;
 * a one-element array: each element of the array is walked. `satisfies` keeps each level complete.
 */
type KeyNode = true | KeyTree | readonly [KeyTree];
interface KeyTree {
  readonly [key: string]: KeyNode;
}
/** Every key of every member of a union (the database options are one). */
type AllKeys<T> = T extends unknown ? keyof T : never;
type Keys<T> = Record<AllKeys<NonNullable<T>>, KeyNode>;

export const OPTION_KEYS = {
  auth: {
    secret: true,
    publicKey: true,
    algorithms: true,
    issuer: true,
    audience: true,
    clockToleranceSec: true,
    requireExpiry: true,
    verifiedTokenCache: true,
    claims: { userId: true, username: true, roles: true, appId: true } satisfies Keys<
      RealtimeAuthOptions['claims']
    >,
    adminRole: true,
  } satisfies Keys<RealtimeAuthOptions>,
  paths: { socketIo: true, rooms: true, logs: true } satisfies Keys<RealtimePathOptions>,
  limits: {
    maxPayloadBytes: true,
    maxConnections: true,
    maxConnectionsPerUser: true,
    maxConnectionsPerIp: true,
    maxHandshakesPerSecondPerIp: true,
    rateLimit: { perMinute: true, perHour: true } satisfies Keys<RealtimeRateLimitOptions>,
    heartbeatIntervalMs: true,
    heartbeatTimeoutMs: true,
    idleTimeoutMs: true,
    maxMessageLength: true,
    maxHistoryLimit: true,
    maxBufferedBytes: true,
    shutdownGraceMs: true,
  } satisfies Keys<RealtimeLimitOptions>,
  database: {
    type: true,
    path: true,
    checkpointIntervalMs: true,
    url: true,
    schema: true,
    poolSize: true,
    connectTimeoutMs: true,
    queryTimeoutMs: true,
  } satisfies Keys<RealtimeDatabaseOptions>,
  events: {
    modulesPage: true,
    stateCacheSize: true,
    statsThrottleMs: true,
  } satisfies Keys<RealtimeEventsOptions>,
  socketIo: { cors: true } satisfies Keys<RealtimeSocketIoOptions>,
  compression: { enabled: true, threshold: true } satisfies Keys<RealtimeCompressionOptions>,
  chat: {
    lobbyRoom: true,
    typingTimeoutMs: true,
    recoveryWindowMs: true,
    recentlySeenLimit: true,
  } satisfies Keys<RealtimeChatOptions>,
  stream: {
    port: true,
    host: true,
    metricsIntervalMs: true,
    flushIntervalMs: true,
    bufferSize: true,
    persist: true,
    backlogSize: true,
    authTimeoutMs: true,
    maxEntriesPerRequest: true,
    diskPath: true,
  } satisfies Keys<RealtimeStreamOptions>,
  rooms: {
    initial: [{ name: true, isPrivate: true }],
    autoCreate: true,
    maxRooms: true,
    logMessages: true,
    rateLimitStorage: true,
    retention: {
      maxAgeMs: true,
      maxMessagesPerConversation: true,
      intervalMs: true,
    } satisfies Keys<RealtimeRetentionOptions>,
  } satisfies Keys<RealtimeRoomsOptions>,
  redis: {
    url: true,
    keyPrefix: true,
    connectTimeoutMs: true,
    nodeExpiryMs: true,
    socketIoAdapter: true,
  } satisfies Keys<RealtimeRedisOptions>,
  storage: true,
  allowedOrigins: true,
  trustedProxies: true,
} as const satisfies Keys<RealtimeModuleOptions>;

/** The static extras of forRoot / forRootAsync, and the keys of forRootAsync's own object. */
export const EXTRAS_KEYS = {
  isGlobal: true,
  gateways: { events: true, chat: true, rooms: true, logs: true } satisfies Keys<
    RealtimeModuleExtras['gateways']
  >,
  http: { metricsPath: true, logIngestionPath: true } satisfies Keys<RealtimeHttpRoutes>,
} as const satisfies Keys<RealtimeModuleExtras>;

export const ASYNC_KEYS = {
  ...EXTRAS_KEYS,
  imports: true,
  inject: true,
  useFactory: true,
  useClass: true,
  useExisting: true,
  provideInjectionTokensFrom: true,
} as const satisfies KeyTree;

/** forRoot takes the options and the extras in one object. */
export const FOR_ROOT_KEYS = { ...OPTION_KEYS, ...EXTRAS_KEYS } as const satisfies KeyTree;

function isItemTree(node: KeyTree | readonly [KeyTree]): node is readonly [KeyTree] {
  return Array.isArray(node);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Throws on the first key that is not an option, naming it with its path and the closest valid key
 * of its level. Values of a wrong type are left to the field checks, which name them better.
 */
export function assertKnownKeys(value: unknown, tree: KeyTree, prefix: string): void {
  if (!isPlainObject(value)) return;
  const valid = Object.keys(tree);
  for (const key of Object.keys(value)) {
    const option = prefix === '' ? key : `${prefix}.${key}`;
    const node = tree[key];
    if (node === undefined || !Object.prototype.hasOwnProperty.call(tree, key)) {
      const suggestion = closest(key, valid);
      throw new RealtimeOptionsError(
        option,
        `is not an option of RealtimeModule; did you mean "${prefix === '' ? suggestion : `${prefix}.${suggestion}`}"?` +
          ` (valid here: ${valid.join(', ')})`,
      );
    }
    const child = value[key];
    if (node === true) continue;
    if (isItemTree(node)) {
      if (Array.isArray(child))
        child.forEach((item, index) => assertKnownKeys(item, node[0], `${option}[${index}]`));
      continue;
    }
    assertKnownKeys(child, node, option);
  }
}
