// Redis connections for scale-out, opened at start when `redis` is configured (boot fails with a
// clear message if Redis cannot be reached) and closed at shutdown. ioredis is an optional peer,
// loaded only when the option asks for it.
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

/** The ioredis connections behind the interface (the Socket.IO Redis adapter takes them as they are). */
const ioredisConnections = new WeakMap<RealtimeRedisClients, { pub: Redis; sub: Redis }>();

function loadOptional<T>(name: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch {
    throw new Error(`RealtimeModule: option "redis" needs the package "${name}" (npm install ${name})`);
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
  const { url, keyPrefix, connectTimeoutMs } = options.redis;
  const { Redis: RedisClient } = loadOptional<typeof import('ioredis')>('ioredis');
  const settings = { lazyConnect: true, maxRetriesPerRequest: 3, connectTimeout: connectTimeoutMs };
  const pub = new RedisClient(url, settings);
  const sub = new RedisClient(url, settings);
  // Errors after start are reported by ioredis' reconnect loop; without a listener they would crash.
  const logger = new Logger('RealtimeRedis');
  for (const client of [pub, sub])
    client.on('error', (error: Error) => logger.warn(`Redis: ${error.message}`));
  try {
    await Promise.all([connect(pub, url, connectTimeoutMs), connect(sub, url, connectTimeoutMs)]);
  } catch (error) {
    pub.disconnect();
    sub.disconnect();
    throw error;
  }
  const clients: RealtimeRedisClients = { pub, sub, keyPrefix };
  ioredisConnections.set(clients, { pub, sub });
  return clients;
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
    await Promise.allSettled([this.redis.pub.quit(), this.redis.sub.quit()]);
  }
}

/** The Socket.IO adapter that relays broadcasts through Redis. */
export function socketIoRedisAdapter(redis: RealtimeRedisClients): SocketIoAdapterConstructor {
  const { createAdapter } =
    loadOptional<typeof import('@socket.io/redis-adapter')>('@socket.io/redis-adapter');
  const { pub, sub } = ioredisConnections.get(redis) ?? redis;
  return createAdapter(pub, sub, { key: `${redis.keyPrefix}:socket.io` });
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
