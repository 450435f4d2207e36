// The default rate limits as behaviour (seed 003: 10 messages a minute, 100 an hour per user), on
// both paths of MessageRateLimiter, with the options resolved from nothing but auth: the 11th
// message within a minute and the 101st within an hour are refused, and retry_after_ms says when
// the next one goes through.
import { attempt, LIMITER_PATHS, type LimiterPath } from './rate-limiter.helper-spec';

const T0 = new Date('2024-03-01T12:00:00.000Z').getTime();
const MINUTE = 60_000;
const HOUR = 3_600_000;

describe.each(LIMITER_PATHS)('MessageRateLimiter at the default limits, $name', (path: LimiterPath) => {
  let close: () => void;

  beforeEach(() => jest.useFakeTimers({ now: T0 }));
  afterEach(() => {
    close();
    jest.useRealTimers();
  });

  /** Moves the clock to T0 + `at` ms, running the timers (sweeps) due on the way. */
  function at(ms: number): void {
    jest.advanceTimersByTime(T0 + ms - Date.now());
  }

  it('refuses the 11th message of a minute with RATE_LIMITED until the oldest leaves the minute', async () => {
    const created = path.create();
    close = created.close;
    const { limiter } = created;
    for (let i = 0; i < 10; i += 1) {
      at(i * 2000);
      expect(await attempt(limiter, 'u1')).toBe('ok');
    }
    at(20_000);
    expect(await attempt(limiter, 'u1')).toEqual({ window: 'minute', limit: 10, retryAfterMs: 40_000 });
    // Another user has a minute of their own.
    expect(await attempt(limiter, 'u2')).toBe('ok');
    at(MINUTE - 1000);
    expect(await attempt(limiter, 'u1')).toEqual({ window: 'minute', limit: 10, retryAfterMs: 1000 });
    // retry_after_ms was right: at T0 + 60 s the first message has left the minute.
    at(MINUTE);
    expect(await attempt(limiter, 'u1')).toBe('ok');
  });

  it('refuses the 101st message of an hour, minute limit respected, until the oldest leaves the hour', async () => {
    const created = path.create();
    close = created.close;
    const { limiter } = created;
    // Ten a minute (one a second) for ten minutes: 100 messages, none refused.
    for (let minute = 0; minute < 10; minute += 1) {
      for (let i = 0; i < 10; i += 1) {
        at(minute * MINUTE + i * 1000);
        expect(await attempt(limiter, 'u1')).toBe('ok');
      }
    }
    at(10 * MINUTE + 30_000);
    expect(await attempt(limiter, 'u1')).toEqual({
      window: 'hour',
      limit: 100,
      retryAfterMs: HOUR - 10 * MINUTE - 30_000,
    });
    at(HOUR - 1000);
    expect(await attempt(limiter, 'u1')).toEqual({ window: 'hour', limit: 100, retryAfterMs: 1000 });
    at(HOUR);
    expect(await attempt(limiter, 'u1')).toBe('ok');
  });
});
