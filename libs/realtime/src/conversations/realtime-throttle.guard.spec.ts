// @RealtimeThrottle + RealtimeThrottleGuard: each call counts in the bucket of the calling user; past
// the limit, RATE_LIMITED with details.retry_after_ms (a 429 with them in the body on HTTP, the
// library's error on a socket, connection kept); handlers without the decorator are not counted.
import { HttpException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { REQUEST_IDENTITY } from '../core/auth/connected-user.decorator';
import {
  httpContext,
  identity,
  rawWsContext,
  socketIoContext,
  type Target,
} from '../core/auth/guard-context.helper-spec';
import { endsSession, RealtimeError } from '../core/errors/realtime-error';
import { resolveRealtimeOptions } from '../realtime.options';
import { RealtimeRateLimiter } from './realtime-rate-limiter.service';
import { RealtimeThrottle } from './realtime-throttle.decorator';
import { RealtimeThrottleGuard } from './realtime-throttle.guard';

const T0 = new Date('2024-03-01T12:00:00.000Z').getTime();

class HostHandlers {
  @RealtimeThrottle({ name: 'announce', perMinute: 1 })
  announce(): void {}

  ping(): void {}
}

const target = (name: keyof HostHandlers): Target => ({
  cls: HostHandlers,
  handler: HostHandlers.prototype[name],
});

describe('RealtimeThrottleGuard', () => {
  let limiter: RealtimeRateLimiter;
  let guard: RealtimeThrottleGuard;

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    limiter = new RealtimeRateLimiter(
      resolveRealtimeOptions({ auth: { secret: 'unit-secret-for-throttle-specs' } }),
    );
    guard = new RealtimeThrottleGuard(new Reflector(), limiter);
  });
  afterEach(() => {
    limiter.onApplicationShutdown();
    jest.useRealTimers();
  });

  it.each([
    ['Socket.IO', socketIoContext],
    ['raw ws', rawWsContext],
  ] as const)(
    '%s: refuses past the limit with the library’s RATE_LIMITED, connection kept',
    async (_t, contextOf) => {
      await expect(guard.canActivate(contextOf(identity('u1'), target('announce')))).resolves.toBe(true);
      jest.advanceTimersByTime(10_000);
      const error: unknown = await guard
        .canActivate(contextOf(identity('u1'), target('announce')))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RealtimeError);
      expect((error as RealtimeError).toPayload()).toEqual({
        code: 'RATE_LIMITED',
        message: 'Rate limit of "announce" reached: 1 per minute',
        details: { retry_after_ms: 50_000, limit: 1, window: 'minute', bucket: 'announce' },
      });
      expect(endsSession(error)).toBe(false);
      // Another user, and an undecorated handler, are not counted.
      await expect(guard.canActivate(contextOf(identity('u2'), target('announce')))).resolves.toBe(true);
      await expect(guard.canActivate(contextOf(identity('u1'), target('ping')))).resolves.toBe(true);
    },
  );

  it('HTTP: answers 429 with the code and retry_after_ms in the body', async () => {
    const request = () => httpContext({ [REQUEST_IDENTITY]: identity('u1') }, target('announce'));
    await expect(guard.canActivate(request())).resolves.toBe(true);
    const error: unknown = await guard.canActivate(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpException);
    expect((error as HttpException).getStatus()).toBe(429);
    expect((error as HttpException).getResponse()).toEqual({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: 'Rate limit of "announce" reached: 1 per minute',
      details: { retry_after_ms: 60_000, limit: 1, window: 'minute', bucket: 'announce' },
    });
  });

  it('refuses a caller without an identity with AUTH_FAILED (401)', async () => {
    const error: unknown = await guard
      .canActivate(httpContext({}, target('announce')))
      .catch((e: unknown) => e);
    expect((error as HttpException).getStatus()).toBe(401);
  });

  it('@RealtimeThrottle stops the boot on a bucket written wrong', () => {
    expect(() => RealtimeThrottle({ name: 'announce', perMinute: -1 })).toThrow(
      'RealtimeRateLimiter: bucket "announce": perMinute must be a positive integer (got -1)',
    );
  });
});
