// Where log entries are kept per application. An interface at the seam (like throttler's storage),
// with a bounded in-memory default: the newest `stream.bufferSize` entries of each app.
import { Inject } from '@nestjs/common';
import type { LogEntry } from '../protocol';
import { LogBuffer } from './log-buffer';

export interface LogStore {
  /**
   * Keeps entries of one app, in order; the oldest are dropped past the store's bound. `remote`
   * entries were published on another node (which stores them durably itself).
   */
  append(appId: string, entries: readonly LogEntry[], origin?: LogOrigin): void;
  /** The newest `limit` entries of an app, oldest first. */
  recent(appId: string, limit: number): LogEntry[];
  /**
   * Deletes the entries attributed to a user (`LogEntry.userId`) in every app, kept or still to be
   * written; returns how many. Optional so that stores written before it keep working (see
   * `RealtimeUserData`, which refuses without it).
   */
  deleteUserData?(userId: string): Promise<number>;
  /**
   * Optional, for a store that writes later than `append` returns: resolves once what was appended
   * so far is written (or its write failed). Awaited at shutdown, within `limits.shutdownGraceMs`.
   */
  flush?(): Promise<void>;
}

/** Where entries were published: on this node, or on another one (relayed through Redis). */
export type LogOrigin = 'local' | 'remote';

/** Injection token of the LogStore. */
export const LOG_STORE = Symbol('LOG_STORE');

export const InjectLogStore = (): ParameterDecorator => Inject(LOG_STORE);

export class InMemoryLogStore implements LogStore {
  private readonly buffers = new Map<string, LogBuffer>();

  constructor(private readonly capacityPerApp: number) {}

  append(appId: string, entries: readonly LogEntry[]): void {
    let buffer = this.buffers.get(appId);
    if (!buffer) {
      buffer = new LogBuffer(this.capacityPerApp);
      this.buffers.set(appId, buffer);
    }
    for (const entry of entries) buffer.push(entry);
  }

  recent(appId: string, limit: number): LogEntry[] {
    return this.buffers.get(appId)?.recent(limit) ?? [];
  }

  /**
   * The oldest of an app's entries once it holds `capacityPerApp` of them (older ones are no longer
   * kept); undefined while it holds fewer. Lets a persistent store trim its table without counting.
   */
  oldestKept(appId: string): LogEntry | undefined {
    return this.buffers.get(appId)?.oldestOfFull;
  }

  deleteUserData(userId: string): Promise<number> {
    let deleted = 0;
    for (const buffer of this.buffers.values()) deleted += buffer.remove((entry) => entry.userId === userId);
    return Promise.resolve(deleted);
  }
}
