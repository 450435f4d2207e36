// The send times of the messages counted in a sliding window, oldest first. Times only grow, so
// expired ones are dropped from the front: counting costs O(1) amortised, whatever the window holds.

/** Dropped entries are compacted away once this many have piled up at the front. */
const COMPACT_AFTER = 1024;

export class SlidingWindowLog {
  private times: number[] = [];
  private head = 0;

  constructor(readonly windowMs: number) {}

  /** Messages counted within the window ending now. */
  count(now: number): number {
    this.prune(now);
    return this.times.length - this.head;
  }

  /** Milliseconds until the oldest counted message leaves the window (0 when none is counted). */
  msUntilOldestExpires(now: number): number {
    this.prune(now);
    const oldest = this.times[this.head];
    return oldest === undefined ? 0 : oldest + this.windowMs - now;
  }

  add(now: number): void {
    // A clock step backwards must not break the order the pruning relies on.
    const last = this.times[this.times.length - 1];
    this.times.push(last !== undefined && last > now ? last : now);
  }

  private prune(now: number): void {
    const from = now - this.windowMs;
    while (this.head < this.times.length && (this.times[this.head] as number) <= from) this.head += 1;
    if (this.head === this.times.length) {
      this.times = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
