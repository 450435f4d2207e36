// Application-level keep-alive: a ping every interval; a pong missing for `timeoutMs` means the
// connection is dead (a half-open TCP connection may never report a close on its own).

export interface HeartbeatOptions {
  /** Time between pings, in ms. @default 30000 */
  intervalMs: number;
  /** How long a ping may stay unanswered before the connection counts as dead, in ms. @default 10000 */
  timeoutMs: number;
}

export class Heartbeat {
  private interval: ReturnType<typeof setInterval> | undefined;
  private deadline: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param isOpen whether a ping can be written now: while the connection is not open (closing, or
   *   not yet reopened) a beat is skipped rather than written to a closed socket, which throws
   */
  constructor(
    private readonly options: HeartbeatOptions,
    private readonly sendPing: () => void,
    private readonly onDead: () => void,
    private readonly isOpen: () => boolean = () => true,
  ) {}

  get running(): boolean {
    return this.interval !== undefined;
  }

  start(): void {
    this.stop();
    this.interval = setInterval(() => this.beat(), this.options.intervalMs);
  }

  /** Any pong proves the connection alive. */
  pongReceived(): void {
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  stop(): void {
    if (this.interval !== undefined) clearInterval(this.interval);
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.interval = undefined;
    this.deadline = undefined;
  }

  private beat(): void {
    // One unanswered ping at a time: its deadline is what decides.
    if (this.deadline !== undefined) return;
    // The transport reports a closed connection itself: nothing to ping until it is open again.
    if (!this.isOpen()) return;
    this.deadline = setTimeout(() => {
      this.stop();
      this.onDead();
    }, this.options.timeoutMs);
    this.sendPing();
  }
}
