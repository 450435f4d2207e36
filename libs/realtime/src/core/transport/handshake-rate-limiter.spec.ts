// HandshakeRateLimiter: a burst of up to the limit, then the limit per second, per address; a refusal
// says when to retry; idle addresses are forgotten and the map never outgrows its cap.
import { HandshakeRateLimiter } from './handshake-rate-limiter';

function limiterAt(perSecond: number, maxAddresses?: number) {
  const clock = { now: 0 };
  const limiter = new HandshakeRateLimiter(perSecond, () => clock.now, maxAddresses);
  return { limiter, clock };
}

describe('HandshakeRateLimiter', () => {
  it('allows a burst of the limit, then refuses with the time until the next attempt', () => {
    const { limiter } = limiterAt(4);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([0, 0, 0, 0]);
    // One token comes back every 250 ms.
    expect(limiter.take('a')).toBe(250);
  });

  it('refills at the limit per second, and a refused attempt takes nothing', () => {
    const { limiter, clock } = limiterAt(4);
    for (let i = 0; i < 4; i += 1) limiter.take('a');
    clock.now = 100;
    expect(limiter.take('a')).toBe(150);
    expect(limiter.take('a')).toBe(150);
    clock.now = 250;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(250);
  });

  it('allows at most the limit plus what a second refills, over a flood of one second', () => {
    const { limiter, clock } = limiterAt(100);
    let allowed = 0;
    for (let t = 0; t < 1000; t += 1) {
      clock.now = t;
      for (let i = 0; i < 5; i += 1) if (limiter.take('flood') === 0) allowed += 1;
    }
    expect(allowed).toBeGreaterThanOrEqual(199);
    expect(allowed).toBeLessThanOrEqual(200);
  });

  it('counts each address apart', () => {
    const { limiter } = limiterAt(1);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0);
    expect(limiter.take('b')).toBe(0);
  });

  it('forgets an address idle for a second (its bucket is full again)', () => {
    const { limiter, clock } = limiterAt(2);
    limiter.take('a');
    clock.now = 500;
    limiter.take('b');
    expect(limiter.size).toBe(2);
    clock.now = 1000;
    limiter.take('c');
    expect(limiter.size).toBe(2);
    clock.now = 5000;
    limiter.take('c');
    expect(limiter.size).toBe(1);
    // Forgetting changes nothing for the address: a full bucket.
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 500]);
  });

  it('never tracks more addresses than its cap, dropping the least recently seen', () => {
    const { limiter, clock } = limiterAt(1, 3);
    for (const address of ['a', 'b', 'c', 'd', 'e']) {
      clock.now += 1;
      limiter.take(address);
    }
    expect(limiter.size).toBe(3);
    // 'e' is still tracked (refused), 'a' was dropped (a full bucket again).
    expect(limiter.take('e')).toBeGreaterThan(0);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.size).toBe(3);
  });

  it('stays within its cap under a flood of distinct addresses', () => {
    const { limiter, clock } = limiterAt(10, 1000);
    for (let i = 0; i < 50_000; i += 1) {
      clock.now = i / 100;
      expect(limiter.take(`10.0.${i >> 8}.${i & 255}`)).toBe(0);
    }
    expect(limiter.size).toBe(1000);
  });
});
