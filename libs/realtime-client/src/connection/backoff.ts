// Exponential backoff with jitter for reconnection attempts (reconnectDelay * 2^attempt,
// capped by maxReconnectDelay).

export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initialDelayMs: number;
  /** Upper bound of any delay, in ms. */
  maxDelayMs: number;
  /** Share of the delay that is randomised, 0 (none) to 1 (full jitter). */
  jitter: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

export class ExponentialBackoff {
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    if (options.jitter < 0 || options.jitter > 1) throw new RangeError('jitter must be between 0 and 1');
    this.random = options.random ?? Math.random;
  }

  /** The capped exponential delay of attempt `attempt` (0-based), before jitter. */
  baseDelay(attempt: number): number {
    const exponential = this.options.initialDelayMs * 2 ** Math.max(0, attempt);
    return Math.min(this.options.maxDelayMs, exponential);
  }

  /** The delay to wait before attempt `attempt` (0-based): the base delay minus a random share. */
  delay(attempt: number): number {
    const base = this.baseDelay(attempt);
    return Math.round(base * (1 - this.options.jitter * this.random()));
  }
}
