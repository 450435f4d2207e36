// Outbound coalescing for connections opened with `?batch=1`: frames queued for one connection
// within one event-loop turn leave as one `message_batch` frame, built by concatenating the frames
// already serialised for everyone (never re-serialised per recipient). A lone frame leaves as is.
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import { concatBatch } from './rooms.frames';

/** Most frames in one outbound batch; a fuller queue is flushed at once. */
export const MAX_OUTBOUND_BATCH = 100;

export class OutboundBatcher {
  private readonly pending = new Map<RawWsConnection, string[]>();
  private flushHandle: NodeJS.Immediate | null = null;
  private stopped = false;

  constructor(private readonly maxFrames = MAX_OUTBOUND_BATCH) {}

  /** Frames waiting for the next flush, all connections together. */
  get queued(): number {
    let count = 0;
    for (const frames of this.pending.values()) count += frames.length;
    return count;
  }

  /** Queues a serialised frame for the connection; false when the connection is closed. */
  enqueue(connection: RawWsConnection, serialized: string): boolean {
    if (!connection.isOpen) return false;
    if (this.stopped) return connection.sendSerialized(serialized);
    let frames = this.pending.get(connection);
    if (!frames) {
      frames = [];
      this.pending.set(connection, frames);
    }
    frames.push(serialized);
    if (frames.length >= this.maxFrames) {
      this.pending.delete(connection);
      this.write(connection, frames);
    } else if (this.flushHandle === null) {
      this.flushHandle = setImmediate(() => this.flush());
    }
    return true;
  }

  /** Writes every queued frame now. */
  flush(): void {
    if (this.flushHandle !== null) clearImmediate(this.flushHandle);
    this.flushHandle = null;
    const pending = [...this.pending];
    this.pending.clear();
    for (const [connection, frames] of pending) this.write(connection, frames);
  }

  /** Drops what was queued for a connection that closed. */
  forget(connection: RawWsConnection): void {
    this.pending.delete(connection);
  }

  /** Flushes and stops scheduling: later frames are written at once. */
  stop(): void {
    this.flush();
    this.stopped = true;
  }

  private write(connection: RawWsConnection, frames: string[]): void {
    const [only] = frames;
    if (frames.length === 1 && only !== undefined) connection.sendSerialized(only);
    else connection.sendSerialized(concatBatch(frames));
  }
}
