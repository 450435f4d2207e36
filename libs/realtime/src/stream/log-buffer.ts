// A bounded ring of log entries: appending past the capacity drops the oldest entry, in O(1).
import type { LogEntry } from '../protocol';

export class LogBuffer {
  private readonly slots: Array<LogEntry | undefined>;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`LogBuffer capacity must be a positive integer (got ${String(capacity)})`);
    }
    this.slots = new Array<LogEntry | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The oldest entry kept once the ring is full (the next push drops it); undefined before. */
  get oldestOfFull(): LogEntry | undefined {
    return this.count === this.capacity ? this.slots[this.start] : undefined;
  }

  push(entry: LogEntry): void {
    const end = (this.start + this.count) % this.capacity;
    this.slots[end] = entry;
    if (this.count < this.capacity) this.count += 1;
    else this.start = (this.start + 1) % this.capacity;
  }

  /** Removes the entries that pass `test`, keeping the others in order; returns how many went. */
  remove(test: (entry: LogEntry) => boolean): number {
    const kept = this.recent(this.count).filter((entry) => !test(entry));
    const removed = this.count - kept.length;
    if (removed === 0) return 0;
    this.slots.fill(undefined);
    this.start = 0;
    this.count = 0;
    for (const entry of kept) this.push(entry);
    return removed;
  }

  /** The newest `limit` entries, oldest first. */
  recent(limit: number): LogEntry[] {
    const take = Math.max(0, Math.min(limit, this.count));
    const out: LogEntry[] = [];
    for (let i = this.count - take; i < this.count; i += 1) {
      const entry = this.slots[(this.start + i) % this.capacity];
      if (entry) out.push(entry);
    }
    return out;
  }
}
