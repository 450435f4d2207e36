// @RealtimeThrottle(bucket): rate-limits a handler (or every handler of a class) per user with the
// injectable RealtimeRateLimiter; RealtimeThrottleGuard applies it.
import { Reflector } from '@nestjs/core';
import { assertRateLimitBucket, type RealtimeRateLimitBucket } from './realtime-rate-limiter.service';

export const RealtimeThrottleMetadata = Reflector.createDecorator<RealtimeRateLimitBucket>();

/**
 * Counts each call of the handler in the bucket's windows of the calling user (the module's message
 * limits when the bucket gives none); past a limit, RATE_LIMITED with `details.retry_after_ms`. A
 * misspelt bucket stops the boot. On a handler it replaces the class's.
 */
export function RealtimeThrottle(bucket: RealtimeRateLimitBucket): ClassDecorator & MethodDecorator {
  assertRateLimitBucket(bucket);
  return RealtimeThrottleMetadata({ ...bucket });
}
