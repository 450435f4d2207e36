// Sends made while the connection is being (re-)established wait here, in order, and go out once
// the client is synchronised. Past the bound the caller gets QUEUE_FULL, never a silent drop.
import { ClientErrorCode, RealtimeClientError } from './realtime-client.error';

export interface QueuedSend {
  /** Puts the frame on the wire (called once the connection is ACTIVE). */
  run(): void;
  /** Tells the caller the send will never happen. */
  fail(error: RealtimeClientError): void;
}

export class BoundedSendQueue {
  private items: QueuedSend[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError('capacity must be an integer >= 0');
  }

  get size(): number {
    return this.items.length;
  }

  /** Queues a send; throws QUEUE_FULL when the queue holds `capacity` items already. */
  push(item: QueuedSend): void {
    if (this.items.length >= this.capacity) {
      throw new RealtimeClientError(
        ClientErrorCode.QUEUE_FULL,
        `Send queue full (${this.capacity} waiting while the connection is re-established)`,
        { capacity: this.capacity },
      );
    }
    this.items.push(item);
  }

  /** Runs every queued send in order and empties the queue. */
  flush(): void {
    const items = this.items;
    this.items = [];
    for (const item of items) item.run();
  }

  /** Fails every queued send with `error` and empties the queue. */
  failAll(error: RealtimeClientError): void {
    const items = this.items;
    this.items = [];
    for (const item of items) item.fail(error);
  }
}
