// What the raw ws transport tells an endpoint's monitor (the rooms feature registers one for its
// path): called on the message path, so every call takes plain values and allocates nothing.
import type { RawWsConnection } from '../transport/raw-ws-connection';

export interface RawWsMonitor {
  /**
   * One inbound message was handled (each message of an inbound batch counts alone), whether its
   * handler succeeded or not; `startedAt` is the `performance.now()` of the start of its handling.
   */
  handled(connection: RawWsConnection, type: string, data: unknown, startedAt: number): void;
  /** An inbound frame that is not a message: binary, not JSON, or without a type. */
  unreadable(): void;
  /** One frame of `type` was written to `count` connections (a fan-out reports once, with N). */
  sent(type: string, count: number): void;
  /** An error frame with `code` was sent; `written` is false when the connection could not take it. */
  error(code: string, written: boolean): void;
}
