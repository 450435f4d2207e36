// Exponential backoff: doubling from reconnectDelay, capped by maxReconnectDelay, jitter within bounds.
import { ExponentialBackoff } from './backoff';

describe('ExponentialBackoff', () => {
  it('doubles the base delay at each attempt and caps it', () => {
    const backoff = new ExponentialBackoff({ initialDelayMs: 1000, maxDelayMs: 15000, jitter: 0 });
    expect([0, 1, 2, 3, 4, 5, 10].map((attempt) => backoff.delay(attempt))).toEqual([
      1000, 2000, 4000, 8000, 15000, 15000, 15000,
    ]);
  });

  it('takes off at most `jitter` of the base delay, at random', () => {
    const draws = [0, 0.5, 0.999];
    const backoff = new ExponentialBackoff({
      initialDelayMs: 1000,
      maxDelayMs: 15000,
      jitter: 0.5,
      random: () => draws.shift() ?? 0,
    });
    expect(backoff.delay(2)).toBe(4000);
    expect(backoff.delay(2)).toBe(3000);
    expect(backoff.delay(2)).toBe(2002);
  });

  it('keeps jittered delays within [base × (1 − jitter), base] with the real random source', () => {
    const backoff = new ExponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.3 });
    for (let i = 0; i < 200; i++) {
      const delay = backoff.delay(3);
      expect(delay).toBeGreaterThanOrEqual(560);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });

  it('refuses a jitter outside 0..1', () => {
    expect(() => new ExponentialBackoff({ initialDelayMs: 1, maxDelayMs: 1, jitter: 1.5 })).toThrow(
      RangeError,
    );
  });
});
