// Per-user message rate limits across all of a user's connections and transports (sliding windows
// of one minute and one hour), on an @nestjs/throttler storage.
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import { RealtimeErrorCode } from '../protocol';
import { RealtimeError } from '../core/errors/realtime-error';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';

const MINUTE = 60_000;
const HOUR = 3_600_000;

@Injectable()
export class MessageRateLimiter implements OnApplicationShutdown {
  private readonly storage: ThrottlerStorage;
  private readonly owned: ThrottlerStorageService | null;

  constructor(@Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions) {
    this.owned = options.rooms.rateLimitStorage ? null : new ThrottlerStorageService();
    this.storage = options.rooms.rateLimitStorage ?? (this.owned as ThrottlerStorageService);
  }

  /** Counts one message of the user; throws RATE_LIMITED (with details.retry_after_ms) past a limit. */
  async consume(userId: string): Promise<void> {
    const { perMinute, perHour } = this.options.limits.rateLimit;
    const windows: Array<[string, number, number]> = [
      ['minute', MINUTE, perMinute],
      ['hour', HOUR, perHour],
    ];
    for (const [name, ttl, limit] of windows) {
      // blockDuration 0: a refused message is not counted, the window slides with each message.
      const record = await this.storage.increment(`rt:msg:${userId}:${name}`, ttl, limit, 0, name);
      if (record.isBlocked) {
        throw new RealtimeError(RealtimeErrorCode.RATE_LIMITED, `Too many messages: ${limit} per ${name}`, {
          retry_after_ms: Math.max(record.timeToBlockExpire, 1) * 1000,
          limit,
          window: name,
        });
      }
    }
  }

  onApplicationShutdown(): void {
    this.owned?.onApplicationShutdown();
  }
}
