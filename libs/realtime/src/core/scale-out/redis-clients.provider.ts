// Redis connections for scale-out, opened at start when `redis` is configured (boot fails with a
// clear message if Redis cannot be reached) and closed at shutdown, and the Socket.IO adapter built
// on them: Redis Streams by default (connection state recovery across nodes), classic pub/sub by
// option. ioredis and the adapters are optional peers, loaded only when the options ask for them.
import { Inject, Injectable, Logger, OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Server } from 'socket.io';
import { REALTIME_OPTIONS } from '../../realtime.constants';
import type { RealtimeRateLimitStorage, ResolvedRealtimeOptions } from '../../realtime.options';

export const REALTIME_REDIS = Symbol('REALTIME_REDIS');

/**
 * The part of an ioredis connection the library uses. ioredis is an optional peer: its own types stay
 * out of the public typings, so that a host without it compiles.
 */
export interface RedisConnection {
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  off(event: 'message', listener: (channel: string, message: string) => void): unknown;
  quit(): Promise<unknown>;
  /** Runs a Lua script atomically (the deployment-wide counters and the shared module states). */
  eval(script: string, numKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
  hmget(key: string, ...fields: string[]): Promise<Array<string | null>>;
  hset(key: string, field: string, value: string): Promise<unknown>;
}

/** A publishing and a subscribing connection (a subscribed Redis connection can do nothing else). */
export interface RealtimeRedisClients {
  pub: RedisConnection;
  sub: RedisConnection;
  keyPrefix: string;
}

/** What `server.adapter()` takes (named without the optional peer's types). */
type SocketIoAdapterConstructor = NonNullable<Parameters<Server['adapter']>[0]>;

/**
 * What the Redis Streams adapter runs on. It writes (XADD, session SET and GETDEL, XRANGE) through
 * `client`, a connection of its own, and opens from it with `duplicate()` one reading connection
 * (held by XREAD BLOCK) and one subscribed connection: those are recorded in `opened` for shutdown.
 */
interface StreamsConnections {
  client: Redis;
  opened: Redis[];
  /** The namespace adapters created: closing them stops the adapter's read loop. */
  adapters: Array<{ close(): unknown }>;
  maxLen: number;
}

/** The ioredis connections behind the interface (the Socket.IO adapters take them as they are). */
const ioredisConnections = new WeakMap<
  RealtimeRedisClients,
  { pub: Redis; sub: Redis; streams: StreamsConnections | null }
>();

/**
 * Socket.IO packets per second, all nodes together, that the stream holds for a whole recovery
 * window. With recovery on, every packet goes through the stream: each broadcast once (chat message,
 * typing, status, events API), and each emit to a single socket.
 */
export const STREAM_PACKETS_PER_SECOND = 500;
/** The adapter's own default, kept as a floor: the nodes' readers need a margin even without recovery. */
const STREAM_MIN_LENGTH = 10_000;

/**
 * Entries kept in the Socket.IO stream (trimmed approximately, `MAXLEN ~`). A client whose offset
 * has been trimmed is not recovered (it reconnects with `recovered: false` and catches up from history).
 */
export function socketIoStreamLength(recoveryWindowMs: number): number {
  return Math.max(STREAM_MIN_LENGTH, Math.ceil((recoveryWindowMs / 1000) * STREAM_PACKETS_PER_SECOND));
}

/** Loads an optional peer; `what` names the option that needs it, and may say how to do without. */
function loadOptional<T>(name: string, what = 'option "redis"', orElse = ''): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch {
    throw new Error(`RealtimeModule: ${what} needs the package "${name}" (npm install ${name})${orElse}`);
  }
}

async function connect(client: Redis, url: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    client.disconnect();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `RealtimeModule: cannot reach Redis at ${url.replace(/\/\/[^@]*@/, '//***@')}: ${reason}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

export async function createRedisClients(
  options: ResolvedRealtimeOptions,
): Promise<RealtimeRedisClients | null> {
  if (!options.redis) return null;
  const { url, keyPrefix, connectTimeoutMs, socketIoAdapter } = options.redis;
  const { Redis: RedisClient } = loadOptional<typeof import('ioredis')>('ioredis');
  const settings = { lazyConnect: true, maxRetriesPerRequest: 3, connectTimeout: connectTimeoutMs };
  const pub = new RedisClient(url, settings);
  const sub = new RedisClient(url, settings);
  // The Streams adapter gets a connection of its own: its writes do not queue behind the relays'.
  const streamsClient = socketIoAdapter === 'streams' ? new RedisClient(url, settings) : null;
  const all = streamsClient ? [pub, sub, streamsClient] : [pub, sub];
  // Errors after start are reported by ioredis' reconnect loop; without a listener they would crash.
  const logger = new Logger('RealtimeRedis');
  for (const client of all) client.on('error', (error: Error) => logger.warn(`Redis: ${error.message}`));
  try {
    await Promise.all(all.map((client) => connect(client, url, connectTimeoutMs)));
  } catch (error) {
    for (const client of all) client.disconnect();
    throw error;
  }
  const clients: RealtimeRedisClients = { pub, sub, keyPrefix };
  const streams =
    streamsClient && streamsConnections(streamsClient, socketIoStreamLength(options.chat.recoveryWindowMs));
  ioredisConnections.set(clients, { pub, sub, streams });
  return clients;
}

/**
 * Records the connections the Streams adapter opens from `client`. They connect by themselves
 * (not lazily): the adapter calls `connect()` on the copy of a lazy connection without catching a
 * failure, whereas a connection that is not lazy connects, and retries, on its own.
 */
function streamsConnections(client: Redis, maxLen: number): StreamsConnections {
  const streams: StreamsConnections = { client, opened: [], adapters: [], maxLen };
  const duplicate = client.duplicate.bind(client);
  client.options.lazyConnect = false;
  client.duplicate = (override) => {
    const copy = duplicate(override);
    streams.opened.push(copy);
    return copy;
  };
  return streams;
}

export const redisClientsProvider: Provider = {
  provide: REALTIME_REDIS,
  inject: [REALTIME_OPTIONS],
  useFactory: createRedisClients,
};

/** Closes the Redis connections after the transports have closed. */
@Injectable()
export class RedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(REALTIME_REDIS) private readonly redis: RealtimeRedisClients | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.redis) return;
    const streams = ioredisConnections.get(this.redis)?.streams ?? null;
    if (streams) {
      // Closing its adapters (Socket.IO did already when the server closed) stops the read loop,
      // which would otherwise retry on the connection closed below.
      for (const adapter of streams.adapters) adapter.close();
      // A blocked XREAD would hold QUIT back for up to the block time: those are cut at once.
      for (const opened of streams.opened) opened.disconnect();
    }
    // QUIT lets queued commands finish first (sessions persisted as the server closed its sockets).
    await Promise.allSettled([
      this.redis.pub.quit(),
      this.redis.sub.quit(),
      ...(streams ? [streams.client.quit()] : []),
    ]);
  }
}

/**
 * The Socket.IO adapter that relays broadcasts through Redis: the Redis Streams adapter (a stream
 * `<keyPrefix>:socket.io`, sessions for connection state recovery under
 * `<keyPrefix>:socket.io-session:`), or the classic pub/sub one (`redis.socketIoAdapter: 'pubsub'`).
 */
export function socketIoRedisAdapter(redis: RealtimeRedisClients): SocketIoAdapterConstructor {
  const connections = ioredisConnections.get(redis);
  if (connections?.streams) return streamsAdapter(redis.keyPrefix, connections.streams);
  const { createAdapter } =
    loadOptional<typeof import('@socket.io/redis-adapter')>('@socket.io/redis-adapter');
  const { pub, sub } = connections ?? redis;
  return createAdapter(pub, sub, { key: `${redis.keyPrefix}:socket.io` });
}

function streamsAdapter(keyPrefix: string, streams: StreamsConnections): SocketIoAdapterConstructor {
  const { createAdapter } = loadOptional<typeof import('@socket.io/redis-streams-adapter')>(
    '@socket.io/redis-streams-adapter',
    `option "redis.socketIoAdapter" ('streams', the default)`,
    `, or set it to 'pubsub' for the classic adapter (no connection state recovery across nodes)`,
  );
  const create = createAdapter(streams.client, {
    streamName: `${keyPrefix}:socket.io`,
    maxLen: streams.maxLen,
    // Channels of its own, apart from the classic adapter's `<keyPrefix>:socket.io#…`: nodes of
    // both kinds on one Redis (during a switch of the option) do not read each other's messages.
    channelPrefix: `${keyPrefix}:socket.io-streams`,
    sessionKeyPrefix: `${keyPrefix}:socket.io-session:`,
  });
  // Socket.IO calls the adapter with `new`: a function (not an arrow) returning the adapter.
  return function realtimeStreamsAdapter(namespace: Parameters<typeof create>[0]) {
    const adapter = create(namespace);
    streams.adapters.push(adapter);
    return adapter;
  };
}

/**
 * The rate-limit storage of a deployment: `@nest-lab/throttler-storage-redis` (a ThrottlerStorage
 * for `@nestjs/throttler`) on the publishing connection, its keys under the key prefix.
 */
export function redisRateLimitStorage(redis: RealtimeRedisClients): RealtimeRateLimitStorage {
  const { ThrottlerStorageRedisService } = loadOptional<typeof import('@nest-lab/throttler-storage-redis')>(
    '@nest-lab/throttler-storage-redis',
  );
  const { pub } = ioredisConnections.get(redis) ?? {};
  if (!pub) throw new Error('RealtimeModule: the Redis rate-limit storage needs the ioredis connection');
  const storage = new ThrottlerStorageRedisService(pub);
  return {
    // Its script cannot set a block of 0 ms (Redis refuses the expiry), and a very short block can
    // expire between two hits and reset the window. A limit without blocking is then read from the
    // count alone: refused past the limit, until the window ends.
    async increment(key, ttl, limit, blockDuration, throttlerName) {
      const prefixed = `${redis.keyPrefix}:${key}`;
      if (blockDuration > 0) return storage.increment(prefixed, ttl, limit, blockDuration, throttlerName);
      const record = await storage.increment(prefixed, ttl, limit, ttl, throttlerName);
      const isBlocked = record.totalHits > limit;
      return { ...record, isBlocked, timeToBlockExpire: isBlocked ? record.timeToExpire : 0 };
    },
  };
}
