// Connection attempts per client address per second: a token bucket per address (a burst of up to the
// limit, then the limit per second), in bounded memory. An address that made no attempt for a second
// has a full bucket again, so its entry is forgotten; the map never holds more than `maxAddresses`.
// Timed by the monotonic clock: a wall-clock step changes nothing.

/** Addresses tracked at most; past it the least recently seen one is forgotten (it gets a full bucket). */
export const MAX_TRACKED_HANDSHAKE_ADDRESSES = 10_000;

/** A bucket left alone this long is full again. */
const REFILL_MS = 1000;

interface Bucket {
  /** Attempts still allowed at `at` (fractional while refilling). */
  tokens: number;
  /** Monotonic ms of the last attempt. */
  at: number;
}

export class HandshakeRateLimiter {
  /** Least recently seen first: every attempt moves its address to the end. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    /** Attempts per second per address (the bucket's size and its refill rate). */
    readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
    readonly maxAddresses = MAX_TRACKED_HANDSHAKE_ADDRESSES,
  ) {}

  /** Addresses currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes one attempt of `address`: 0 when it is allowed, else the milliseconds until an attempt
   * would be (at least 1). A refused attempt takes nothing.
   */
  take(address: string): number {
    const now = this.now();
    this.forgetIdle(now);
    const bucket = this.buckets.get(address);
    let tokens = this.perSecond;
    if (bucket !== undefined) {
      tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) * this.perSecond) / REFILL_MS);
      this.buckets.delete(address);
    } else if (this.buckets.size >= this.maxAddresses) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
    const allowed = tokens >= 1;
    const entry = bucket ?? { tokens, at: now };
    entry.tokens = allowed ? tokens - 1 : tokens;
    entry.at = now;
    this.buckets.set(address, entry);
    return allowed ? 0 : Math.max(1, Math.ceil(((1 - tokens) * REFILL_MS) / this.perSecond));
  }

  /** Drops the entries whose bucket is full again, oldest first; stops at the first one still refilling. */
  private forgetIdle(now: number): void {
    for (const [address, bucket] of this.buckets) {
      if (now - bucket.at < REFILL_MS) return;
      this.buckets.delete(address);
    }
  }
}
