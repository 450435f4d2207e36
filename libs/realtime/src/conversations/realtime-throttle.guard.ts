// RealtimeThrottleGuard: applies @RealtimeThrottle on HTTP controllers and on host gateway handlers
// of both transports, with the module's RealtimeRateLimiter (in memory or `rooms.rateLimitStorage`).
import { HttpStatus, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { identityInContext } from '../core/auth/connected-user.decorator';
import { inContext, notAuthenticated } from '../core/auth/guard-refusals';
import { RealtimeRateLimiter } from './realtime-rate-limiter.service';
import { RealtimeThrottleMetadata } from './realtime-throttle.decorator';

/**
 * Counts per user, so it needs the caller's identity: on HTTP it comes after RealtimeAuthGuard. A
 * refusal is RATE_LIMITED with `details.retry_after_ms`: a 429 whose body holds them on HTTP (and a
 * `Retry-After` header is the host's to add), an `error` on a socket with the connection kept.
 */
@Injectable()
export class RealtimeThrottleGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RealtimeRateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const bucket = this.reflector.getAllAndOverride(RealtimeThrottleMetadata, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!bucket) return true;
    const identity = identityInContext(context);
    if (!identity) throw notAuthenticated('Not authenticated');
    const verdict = await this.limiter.hit(identity.userId, bucket);
    if (verdict.allowed) return true;
    throw inContext(context, verdict.error, HttpStatus.TOO_MANY_REQUESTS);
  }
}
