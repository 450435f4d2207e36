// Reconnection manager: counts failed attempts in a row, waits the backoff delay before the
// next one, and says when to give up (maxReconnectAttempts, or autoReconnect off).
import { ExponentialBackoff } from './backoff';
import type { ReconnectionOptions } from './connection.options';

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2_147_483_647;

export class ReconnectionManager {
  private readonly backoff: ExponentialBackoff;
  private failed = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly options: ReconnectionOptions,
    random: () => number = Math.random,
  ) {
    this.backoff = new ExponentialBackoff({
      initialDelayMs: options.reconnectDelay,
      maxDelayMs: options.maxReconnectDelay,
      jitter: options.jitter,
      random,
    });
  }

  /** Failed attempts since the last successful connection. */
  get failedAttempts(): number {
    return this.failed;
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** The connection succeeded: the next failure starts from the first delay again. */
  reset(): void {
    this.failed = 0;
  }

  /**
   * Schedules `attempt` after the backoff delay and returns that delay, or returns undefined when
   * reconnection is off or the attempts are exhausted (the caller gives up). `notBeforeMs`: the wait
   * the server asked for when it refused the handshake (`retry_after_ms`), which a shorter backoff
   * delay does not cut (retrying earlier is refused again).
   */
  schedule(attempt: () => void, notBeforeMs = 0): number | undefined {
    if (!this.options.autoReconnect || this.failed >= this.options.maxReconnectAttempts) return undefined;
    this.cancel();
    // setTimeout fires at once past its longest delay: a larger wait is cut to it (about 24 days).
    const delay = Math.min(Math.max(this.backoff.delay(this.failed), Math.ceil(notBeforeMs)), MAX_TIMER_MS);
    this.failed += 1;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      attempt();
    }, delay);
    return delay;
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
