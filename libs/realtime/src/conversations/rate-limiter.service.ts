// Per-user message rate limits across all of a user's connections and transports (sliding windows
// of one minute and one hour): in memory by default, or on an @nestjs/throttler storage shared by
// several nodes (`rooms.rateLimitStorage`).
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { RealtimeErrorCode } from '../protocol';
import { RealtimeError } from '../core/errors/realtime-error';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { RealtimeRateLimitStorage, ResolvedRealtimeOptions } from '../realtime.options';
import { SlidingWindowLog } from './sliding-window-log';

const MINUTE = 60_000;
const HOUR = 3_600_000;

type WindowName = 'minute' | 'hour';

/**
 * The windows in the order they are checked, as @nestjs/throttler's guard checks several named
 * throttlers: each window counts a message it lets through, and the first one that refuses stops
 * the check. So a message refused by the hour is counted in the minute, and one refused by the
 * minute in neither. That is all an increment-only storage allows (it cannot take back a hit once a
 * later window refuses, nor look at a window without counting in it), and the in-memory windows
 * count the same way, so that a host moving to a shared storage sees the same limits.
 */
const WINDOWS: ReadonlyArray<readonly [WindowName, number]> = [
  ['minute', MINUTE],
  ['hour', HOUR],
];
const LIMIT_OF = { minute: 'perMinute', hour: 'perHour' } as const;
/** Users with nothing counted in either window are forgotten this often. */
const SWEEP_INTERVAL_MS = 60_000;

interface UserWindows {
  minute: SlidingWindowLog;
  hour: SlidingWindowLog;
}

@Injectable()
export class MessageRateLimiter implements OnApplicationShutdown {
  /**
   * The default storage: one log of send times per user and window, pruned from its oldest end, so
   * that counting a message costs the same whatever the number of messages in the window (the
   * throttler's in-memory storage filters and spreads every hit of the window on each call).
   */
  private readonly local = new Map<string, UserWindows>();
  private sweep: NodeJS.Timeout | null = null;

  constructor(@Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions) {}

  /** Counts one message of the user; throws RATE_LIMITED (with details.retry_after_ms) past a limit. */
  async consume(userId: string): Promise<void> {
    const shared = this.options.rooms.rateLimitStorage;
    if (shared) await this.consumeShared(shared, userId);
    else this.consumeLocal(userId, Date.now());
  }

  onApplicationShutdown(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    this.local.clear();
  }

  /** Counts like the shared path (see WINDOWS): a window counts the message when it lets it through. */
  private consumeLocal(userId: string, now: number): void {
    let windows = this.local.get(userId);
    if (!windows) {
      windows = { minute: new SlidingWindowLog(MINUTE), hour: new SlidingWindowLog(HOUR) };
      this.local.set(userId, windows);
      this.startSweep();
    }
    for (const [name] of WINDOWS) {
      const log = windows[name];
      const limit = this.options.limits.rateLimit[LIMIT_OF[name]];
      if (log.count(now) >= limit) {
        throw rateLimited(name, limit, Math.max(log.msUntilOldestExpires(now), 1));
      }
      log.add(now);
    }
  }

  private async consumeShared(storage: RealtimeRateLimitStorage, userId: string): Promise<void> {
    for (const [name, ttl] of WINDOWS) {
      const limit = this.options.limits.rateLimit[LIMIT_OF[name]];
      // blockDuration 0: a refused hit is not counted, the window slides with each message.
      const record = await storage.increment(`rt:msg:${userId}:${name}`, ttl, limit, 0, name);
      if (record.isBlocked) throw rateLimited(name, limit, Math.max(record.timeToBlockExpire, 1) * 1000);
    }
  }

  private startSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const [userId, windows] of this.local) {
        // The minute can hold messages the hour refused (and so did not count) after the hour emptied.
        if (windows.hour.count(now) === 0 && windows.minute.count(now) === 0) this.local.delete(userId);
      }
    }, SWEEP_INTERVAL_MS);
    this.sweep.unref();
  }
}

function rateLimited(window: string, limit: number, retryAfterMs: number): RealtimeError {
  return new RealtimeError(RealtimeErrorCode.RATE_LIMITED, `Too many messages: ${limit} per ${window}`, {
    retry_after_ms: retryAfterMs,
    limit,
    window,
  });
}
