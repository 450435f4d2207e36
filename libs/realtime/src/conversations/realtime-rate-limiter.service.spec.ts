// RealtimeRateLimiter's named buckets, on both paths (in memory and a shared @nestjs/throttler
// storage): a host event has windows of its own, apart from the messages, other buckets and other
// users; its limits are the caller's or the module's message limits; refusals say when to retry.
import { ThrottlerStorageService } from '@nestjs/throttler';
import { RealtimeError } from '../core/errors/realtime-error';
import { resolveRealtimeOptions } from '../realtime.options';
import { attempt, LIMITER_PATHS, type LimiterPath } from './rate-limiter.helper-spec';
import { RealtimeRateLimiter, type RealtimeRateLimitBucket } from './realtime-rate-limiter.service';

const T0 = new Date('2024-03-01T12:00:00.000Z').getTime();
const MINUTE = 60_000;
const HOUR = 3_600_000;
const ANNOUNCE: RealtimeRateLimitBucket = { name: 'announce', perMinute: 2 };

/** A hit reduced to what a client sees: 'ok' or the refusing window and its wait. */
async function hit(
  limiter: RealtimeRateLimiter,
  userId: string,
  bucket: RealtimeRateLimitBucket,
): Promise<'ok' | { window: string; limit: number; retryAfterMs: number }> {
  const verdict = await limiter.hit(userId, bucket);
  return verdict.allowed
    ? 'ok'
    : { window: verdict.window, limit: verdict.limit, retryAfterMs: verdict.retryAfterMs };
}

describe.each(LIMITER_PATHS)('RealtimeRateLimiter buckets, $name', (path: LimiterPath) => {
  let close: () => void = () => undefined;

  beforeEach(() => jest.useFakeTimers({ now: T0 }));
  afterEach(() => {
    close();
    jest.useRealTimers();
  });

  function at(ms: number): void {
    jest.advanceTimersByTime(T0 + ms - Date.now());
  }

  function limiterWith(rateLimit = { perMinute: 3, perHour: 5 }): RealtimeRateLimiter {
    const created = path.create({ limits: { rateLimit } });
    close = created.close;
    return created.limiter;
  }

  it('counts a bucket apart from the messages, from other buckets and from other users', async () => {
    const limiter = limiterWith();
    expect(await hit(limiter, 'u1', ANNOUNCE)).toBe('ok');
    expect(await hit(limiter, 'u1', ANNOUNCE)).toBe('ok');
    at(1000);
    expect(await hit(limiter, 'u1', ANNOUNCE)).toEqual({
      window: 'minute',
      limit: 2,
      retryAfterMs: MINUTE - 1000,
    });
    // The user's messages, another bucket and another user still have room.
    expect(await attempt(limiter, 'u1')).toBe('ok');
    expect(await hit(limiter, 'u1', { name: 'poll', perMinute: 1 })).toBe('ok');
    expect(await hit(limiter, 'u2', ANNOUNCE)).toBe('ok');
    at(MINUTE);
    expect(await hit(limiter, 'u1', ANNOUNCE)).toBe('ok');
  });

  it('checks only the windows a bucket gives: a minute limit alone has no hour', async () => {
    const limiter = limiterWith();
    // Two a minute for ten minutes: 20 hits, past the module's 5 an hour, all let through.
    for (let minute = 0; minute < 10; minute += 1) {
      at(minute * MINUTE);
      expect(await hit(limiter, 'u1', ANNOUNCE)).toBe('ok');
      expect(await hit(limiter, 'u1', ANNOUNCE)).toBe('ok');
    }
  });

  it('checks the hour of a bucket that gives one', async () => {
    const limiter = limiterWith();
    const digest: RealtimeRateLimitBucket = { name: 'digest', perHour: 2 };
    expect(await hit(limiter, 'u1', digest)).toBe('ok');
    at(10 * MINUTE);
    expect(await hit(limiter, 'u1', digest)).toBe('ok');
    at(20 * MINUTE);
    expect(await hit(limiter, 'u1', digest)).toEqual({
      window: 'hour',
      limit: 2,
      retryAfterMs: HOUR - 20 * MINUTE,
    });
  });

  it('uses the module’s message limits, in windows of its own, for a bucket without limits', async () => {
    const limiter = limiterWith({ perMinute: 2, perHour: 3 });
    const plain: RealtimeRateLimitBucket = { name: 'report' };
    expect(await hit(limiter, 'u1', plain)).toBe('ok');
    expect(await hit(limiter, 'u1', plain)).toBe('ok');
    expect(await hit(limiter, 'u1', plain)).toMatchObject({ window: 'minute', limit: 2 });
    at(MINUTE);
    expect(await hit(limiter, 'u1', plain)).toBe('ok');
    expect(await hit(limiter, 'u1', plain)).toMatchObject({ window: 'hour', limit: 3 });
    // The messages were never counted.
    expect(await attempt(limiter, 'u1')).toBe('ok');
  });

  it('consume() throws RATE_LIMITED naming the bucket, with retry_after_ms, limit and window', async () => {
    const limiter = limiterWith();
    await limiter.consume('u1', ANNOUNCE);
    await limiter.consume('u1', ANNOUNCE);
    at(15_000);
    const error = await limiter.consume('u1', ANNOUNCE).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(RealtimeError);
    expect((error as RealtimeError).toPayload()).toEqual({
      code: 'RATE_LIMITED',
      message: 'Rate limit of "announce" reached: 2 per minute',
      details: { retry_after_ms: 45_000, limit: 2, window: 'minute', bucket: 'announce' },
    });
  });

  it.each([
    [{ name: '' }, 'a bucket name is 1-64 letters, digits, _ . or - (got "")'],
    [{ name: 'a:b' }, '(got "a:b")'],
    [{ name: 'announce', perMinute: 0 }, 'bucket "announce": perMinute must be a positive integer (got 0)'],
    [{ name: 'announce', perHour: 1.5 }, 'bucket "announce": perHour must be a positive integer (got 1.5)'],
  ])('refuses a bucket written wrong (%j) with a clear error', async (bucket, message) => {
    const limiter = limiterWith();
    await expect(limiter.hit('u1', bucket as RealtimeRateLimitBucket)).rejects.toThrow(message);
  });
});

describe('RealtimeRateLimiter on a shared storage', () => {
  it('keeps the messages’ keys and gives each bucket, user and window a key of its own', async () => {
    const storage = new ThrottlerStorageService();
    const increment = jest.spyOn(storage, 'increment');
    const limiter = new RealtimeRateLimiter(
      resolveRealtimeOptions({
        auth: { secret: 'unit-secret-for-rate-limit-specs' },
        rooms: { rateLimitStorage: storage },
      }),
    );
    await limiter.consume('u1');
    await limiter.consume('u1', { name: 'announce', perMinute: 2, perHour: 10 });
    expect(increment.mock.calls.map(([key, ttl, limit]) => [key, ttl, limit])).toEqual([
      ['rt:msg:u1:minute', MINUTE, 10],
      ['rt:msg:u1:hour', HOUR, 100],
      ['rt:rl:announce:u1:minute', MINUTE, 2],
      ['rt:rl:announce:u1:hour', HOUR, 10],
    ]);
    storage.onApplicationShutdown();
    limiter.onApplicationShutdown();
  });
});
