// MessageRateLimiter: the same behaviour in memory and on a shared @nestjs/throttler storage, told by
// one table run on both paths. The windows are checked as throttler's guard checks several named
// throttlers: minute first, then hour; each counts the message when it lets it through, and the first
// that refuses stops the check. So a message refused by the hour is counted in the minute, one
// refused by the minute is counted nowhere (an increment-only storage cannot take back a hit).
import { attempt, LIMITER_PATHS, type Attempt, type LimiterPath } from './rate-limiter.helper-spec';

const T0 = new Date('2024-03-01T12:00:00.000Z').getTime();
const MINUTE = 60_000;
const HOUR = 3_600_000;

interface Step {
  /** ms after T0 */
  at: number;
  user?: string;
  /** 'ok', or the window that refuses. */
  expect: 'ok' | 'minute' | 'hour';
}

const SCENARIOS: Array<{ name: string; limits: { perMinute: number; perHour: number }; steps: Step[] }> = [
  {
    name: 'a message refused by the hour is counted in the minute',
    limits: { perMinute: 3, perHour: 3 },
    steps: [
      { at: 0, expect: 'ok' },
      { at: 1000, expect: 'ok' },
      { at: 2000, expect: 'ok' },
      // The hour is full: three refusals, each counted in the minute.
      { at: HOUR - 1000, expect: 'hour' },
      { at: HOUR - 500, expect: 'hour' },
      { at: HOUR - 200, expect: 'hour' },
      // The hour has room again (the message of T0 left it), the minute has not.
      { at: HOUR + 500, expect: 'minute' },
      // The first refused attempt left the minute.
      { at: HOUR - 1000 + MINUTE, expect: 'ok' },
    ],
  },
  {
    name: 'a message refused by the minute is counted in neither window',
    limits: { perMinute: 2, perHour: 3 },
    steps: [
      { at: 0, expect: 'ok' },
      { at: 1000, expect: 'ok' },
      { at: 2000, expect: 'minute' },
      { at: 3000, expect: 'minute' },
      // Counted in the hour, the refusals would have filled it.
      { at: MINUTE + 1000, expect: 'ok' },
      // Now the three accepted messages fill it.
      { at: MINUTE + 2000, expect: 'hour' },
    ],
  },
  {
    name: 'a user is forgotten only when both windows are empty',
    limits: { perMinute: 3, perHour: 3 },
    steps: [
      // Another user starts the in-memory sweep (every minute from T0).
      { at: 0, user: 'other', expect: 'ok' },
      { at: 30_000, expect: 'ok' },
      { at: 31_000, expect: 'ok' },
      { at: 32_000, expect: 'ok' },
      // Refused by the hour, counted in the minute; the hour empties at T0 + 1 h 32 s, before the
      // sweep of T0 + 61 min, while these three stay in the minute until T0 + 1 h 1 min 29 s.
      { at: HOUR + 29_000, expect: 'hour' },
      { at: HOUR + 29_500, expect: 'hour' },
      { at: HOUR + 29_800, expect: 'hour' },
      { at: HOUR + MINUTE + 1000, expect: 'minute' },
      { at: HOUR + MINUTE + 29_000, expect: 'ok' },
    ],
  },
];

describe.each(LIMITER_PATHS)('MessageRateLimiter, $name', (path: LimiterPath) => {
  let close: (() => void) | undefined;

  beforeEach(() => jest.useFakeTimers({ now: T0 }));
  afterEach(() => {
    close?.();
    close = undefined;
    jest.useRealTimers();
  });

  it.each(SCENARIOS)('$name', async ({ limits, steps }) => {
    const created = path.create({ limits: { rateLimit: limits } });
    close = created.close;
    const seen: Array<Step['expect']> = [];
    for (const step of steps) {
      jest.advanceTimersByTime(T0 + step.at - Date.now());
      const result: Attempt = await attempt(created.limiter, step.user ?? 'u1');
      seen.push(result === 'ok' ? 'ok' : (result.window as Step['expect']));
      if (result !== 'ok') {
        // retry_after_ms: a wait within the refusing window, never zero.
        const windowMs = result.window === 'minute' ? MINUTE : HOUR;
        expect(result.retryAfterMs).toBeGreaterThan(0);
        expect(result.retryAfterMs).toBeLessThanOrEqual(windowMs);
        expect(result.limit).toBe(result.window === 'minute' ? limits.perMinute : limits.perHour);
      }
    }
    expect(seen).toEqual(steps.map((step) => step.expect));
  });
});
