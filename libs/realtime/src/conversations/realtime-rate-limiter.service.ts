// RealtimeRateLimiter: per-user sliding windows of a minute and an hour, for the chat's and rooms'
// messages and for a host's own events (named buckets), in memory or on the shared @nestjs/throttler
// storage of `rooms.rateLimitStorage` (with `redis` and no storage given: Redis, shared by the nodes).
import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { RealtimeErrorCode } from '../protocol';
import { RealtimeError } from '../core/errors/realtime-error';
import {
  REALTIME_REDIS,
  redisRateLimitStorage,
  type RealtimeRedisClients,
} from '../core/scale-out/redis-clients.provider';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { RealtimeRateLimitStorage, ResolvedRealtimeOptions } from '../realtime.options';
import { SlidingWindowLog } from './sliding-window-log';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Users with nothing counted in any window are forgotten this often. */
const SWEEP_INTERVAL_MS = 60_000;
const BUCKET_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export type RealtimeRateLimitWindow = 'minute' | 'hour';

/**
 * A host's own rate-limited event: its windows are counted apart from the messages and from every
 * other bucket, per user, across the user's connections and transports.
 */
export interface RealtimeRateLimitBucket {
  /** Names the bucket's windows: 1-64 letters, digits, `_`, `.` or `-`. */
  name: string;
  /**
   * Hits per user per minute.
   * @default the module's `limits.rateLimit.perMinute` when neither limit is given; else no minute window
   */
  perMinute?: number;
  /**
   * Hits per user per hour.
   * @default the module's `limits.rateLimit.perHour` when neither limit is given; else no hour window
   */
  perHour?: number;
}

/** What one hit got: let through, or refused by a window with the wait until it has room again. */
export type RealtimeRateLimitVerdict =
  | { allowed: true }
  | {
      allowed: false;
      window: RealtimeRateLimitWindow;
      limit: number;
      /** Milliseconds until the refusing window has room again (never 0). */
      retryAfterMs: number;
      /** The RATE_LIMITED error a client gets for it, `details.retry_after_ms` included. */
      error: RealtimeError;
    };

interface BucketWindow {
  name: RealtimeRateLimitWindow;
  ttl: number;
  limit: number;
}

/** A bucket with its limits settled: what a hit needs. */
interface ResolvedBucket {
  /** Key of the in-memory map; '' for the messages (a host bucket's name is never empty). */
  localKey: string;
  windows: readonly BucketWindow[];
  storageKey(userId: string, window: RealtimeRateLimitWindow): string;
  refusal(window: BucketWindow, retryAfterMs: number): RealtimeError;
}

type UserWindows = Partial<Record<RealtimeRateLimitWindow, SlidingWindowLog>>;

/**
 * The windows are checked minute first, then hour, as @nestjs/throttler's guard checks several named
 * throttlers: each window counts a hit it lets through, and the first one that refuses stops the
 * check. So a hit refused by the hour is counted in the minute, and one refused by the minute in
 * neither. That is all an increment-only storage allows (it cannot take back a hit once a later
 * window refuses, nor look at a window without counting in it), and the in-memory windows count the
 * same way, so that a host moving to a shared storage sees the same limits.
 */
@Injectable()
export class RealtimeRateLimiter implements OnApplicationShutdown {
  /**
   * The default storage: per bucket and user, one log of hit times per window, pruned from its
   * oldest end, so that a hit costs the same whatever the number of hits in the window (the
   * throttler's in-memory storage filters and spreads every hit of the window on each call).
   */
  private readonly local = new Map<string, Map<string, UserWindows>>();
  private sweep: NodeJS.Timeout | null = null;
  private readonly messages: ResolvedBucket;
  /** The host's storage, else with `redis` the deployment's; null: the in-memory windows. */
  private readonly shared: RealtimeRateLimitStorage | null;

  constructor(
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    @Optional() @Inject(REALTIME_REDIS) redis?: RealtimeRedisClients | null,
  ) {
    this.shared = options.rooms.rateLimitStorage ?? (redis ? redisRateLimitStorage(redis) : null);
    const { perMinute, perHour } = options.limits.rateLimit;
    this.messages = {
      localKey: '',
      windows: windowsOf(perMinute, perHour),
      // The keys and messages the message limits have always had (shared storages keep their counts).
      storageKey: (userId, window) => `rt:msg:${userId}:${window}`,
      refusal: (window, retryAfterMs) =>
        rateLimited(`Too many messages: ${window.limit} per ${window.name}`, window, retryAfterMs, {}),
    };
  }

  /**
   * Counts one hit of the user in the bucket (the messages when none is given); throws
   * RealtimeError(RATE_LIMITED) with `details.retry_after_ms`, `limit` and `window` past a limit.
   */
  async consume(userId: string, bucket?: RealtimeRateLimitBucket): Promise<void> {
    const verdict = await this.hit(userId, bucket);
    if (!verdict.allowed) throw verdict.error;
  }

  /** As `consume`, but answers the verdict instead of throwing (e.g. for an HTTP `Retry-After`). */
  async hit(userId: string, bucket?: RealtimeRateLimitBucket): Promise<RealtimeRateLimitVerdict> {
    if (typeof userId !== 'string' || userId === '') {
      throw new TypeError('RealtimeRateLimiter: userId must be a non-empty string');
    }
    const resolved = bucket === undefined ? this.messages : this.resolve(bucket);
    const shared = this.shared;
    return shared ? this.hitShared(shared, resolved, userId) : this.hitLocal(resolved, userId, Date.now());
  }

  onApplicationShutdown(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    this.local.clear();
  }

  private resolve(bucket: RealtimeRateLimitBucket): ResolvedBucket {
    assertRateLimitBucket(bucket);
    const { name } = bucket;
    const given = bucket.perMinute !== undefined || bucket.perHour !== undefined;
    const windows = given
      ? windowsOf(bucket.perMinute, bucket.perHour)
      : windowsOf(this.options.limits.rateLimit.perMinute, this.options.limits.rateLimit.perHour);
    return {
      localKey: name,
      windows,
      // The name holds no ':' and the window is the last segment: no two buckets or users share a key.
      storageKey: (userId, window) => `rt:rl:${name}:${userId}:${window}`,
      refusal: (window, retryAfterMs) =>
        rateLimited(
          `Rate limit of "${name}" reached: ${window.limit} per ${window.name}`,
          window,
          retryAfterMs,
          {
            bucket: name,
          },
        ),
    };
  }

  /** Counts like the shared path (see the class comment): a window counts the hit it lets through. */
  private hitLocal(bucket: ResolvedBucket, userId: string, now: number): RealtimeRateLimitVerdict {
    let users = this.local.get(bucket.localKey);
    if (!users) {
      users = new Map();
      this.local.set(bucket.localKey, users);
    }
    let windows = users.get(userId);
    if (!windows) {
      windows = {};
      users.set(userId, windows);
      this.startSweep();
    }
    for (const window of bucket.windows) {
      let log = windows[window.name];
      if (!log) {
        log = new SlidingWindowLog(window.ttl);
        windows[window.name] = log;
      }
      if (log.count(now) >= window.limit) {
        return refused(bucket, window, Math.max(log.msUntilOldestExpires(now), 1));
      }
      log.add(now);
    }
    return ALLOWED;
  }

  private async hitShared(
    storage: RealtimeRateLimitStorage,
    bucket: ResolvedBucket,
    userId: string,
  ): Promise<RealtimeRateLimitVerdict> {
    for (const window of bucket.windows) {
      // blockDuration 0: a refused hit is not counted, the window slides with each hit.
      const record = await storage.increment(
        bucket.storageKey(userId, window.name),
        window.ttl,
        window.limit,
        0,
        window.name,
      );
      if (record.isBlocked) return refused(bucket, window, Math.max(record.timeToBlockExpire, 1) * 1000);
    }
    return ALLOWED;
  }

  private startSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const [key, users] of this.local) {
        for (const [userId, windows] of users) {
          // The minute can hold hits the hour refused (and so did not count) after the hour emptied.
          if (Object.values(windows).every((log) => log.count(now) === 0)) users.delete(userId);
        }
        if (users.size === 0) this.local.delete(key);
      }
    }, SWEEP_INTERVAL_MS);
    this.sweep.unref();
  }
}

/**
 * Throws a clear Error for a bucket a host wrote wrong (a programming error, not a client's): its
 * name, and limits that are positive integers when given.
 */
export function assertRateLimitBucket(bucket: RealtimeRateLimitBucket): void {
  const name: unknown = (bucket as Partial<RealtimeRateLimitBucket> | null)?.name;
  if (typeof name !== 'string' || !BUCKET_NAME.test(name)) {
    throw new TypeError(
      `RealtimeRateLimiter: a bucket name is 1-64 letters, digits, _ . or - (got ${JSON.stringify(name)})`,
    );
  }
  for (const key of ['perMinute', 'perHour'] as const) {
    const value = bucket[key];
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
      throw new TypeError(
        `RealtimeRateLimiter: bucket "${name}": ${key} must be a positive integer (got ${String(value)})`,
      );
    }
  }
}

const ALLOWED: RealtimeRateLimitVerdict = { allowed: true };

function windowsOf(perMinute: number | undefined, perHour: number | undefined): BucketWindow[] {
  const windows: BucketWindow[] = [];
  if (perMinute !== undefined) windows.push({ name: 'minute', ttl: MINUTE, limit: perMinute });
  if (perHour !== undefined) windows.push({ name: 'hour', ttl: HOUR, limit: perHour });
  return windows;
}

function refused(
  bucket: ResolvedBucket,
  window: BucketWindow,
  retryAfterMs: number,
): RealtimeRateLimitVerdict {
  return {
    allowed: false,
    window: window.name,
    limit: window.limit,
    retryAfterMs,
    error: bucket.refusal(window, retryAfterMs),
  };
}

function rateLimited(
  message: string,
  window: BucketWindow,
  retryAfterMs: number,
  extra: Record<string, unknown>,
): RealtimeError {
  return new RealtimeError(RealtimeErrorCode.RATE_LIMITED, message, {
    retry_after_ms: retryAfterMs,
    limit: window.limit,
    window: window.name,
    ...extra,
  });
}
