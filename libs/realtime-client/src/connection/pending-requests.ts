// Requests waiting for their answer. A request sent with a request id (ref) is settled by the frame
// that echoes it; otherwise (a protocol or a server without request ids) each request says which
// frame answers it and an error frame answers the oldest request (the server handles one
// connection's frames in order). Every request is bounded by a timeout.
import { ClientErrorCode, RealtimeClientError } from './realtime-client.error';

interface Pending<F> {
  ref: string | undefined;
  matches(frame: F): boolean;
  resolve(frame: F): void;
  reject(error: RealtimeClientError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests<F> {
  private pending: Array<Pending<F>> = [];

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.pending.length;
  }

  /**
   * Registers a request; the promise settles with its answer, an error, or TIMEOUT. `matches` tells
   * its answer when the server does not echo `ref`.
   */
  add(description: string, matches: (frame: F) => boolean, ref?: string): Promise<F> {
    return new Promise<F>((resolve, reject) => {
      const entry: Pending<F> = {
        ref,
        matches,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.remove(entry);
          reject(
            new RealtimeClientError(
              ClientErrorCode.TIMEOUT,
              `No answer to ${description} within ${this.timeoutMs} ms`,
            ),
          );
        }, this.timeoutMs),
      };
      this.pending.push(entry);
    });
  }

  /** Settles the oldest request this frame answers; false when none does. */
  resolveMatching(frame: F): boolean {
    return this.take(
      this.pending.find((candidate) => candidate.matches(frame)),
      (entry) => entry.resolve(frame),
    );
  }

  /** Settles the request sent with this ref; false when none waits (answered already, or timed out). */
  resolveRef(ref: string, frame: F): boolean {
    return this.take(this.withRef(ref), (entry) => entry.resolve(frame));
  }

  /** Fails the request sent with this ref; false when none waits. */
  rejectRef(ref: string, error: RealtimeClientError): boolean {
    return this.take(this.withRef(ref), (entry) => entry.reject(error));
  }

  /** Fails the oldest request; false when none waits. */
  rejectOldest(error: RealtimeClientError): boolean {
    return this.take(this.pending[0], (entry) => entry.reject(error));
  }

  rejectAll(error: RealtimeClientError): void {
    const entries = this.pending;
    this.pending = [];
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }

  /** Removes the entry (and its timer) and settles it; false when there is none. */
  private take(entry: Pending<F> | undefined, settle: (entry: Pending<F>) => void): boolean {
    if (!entry) return false;
    this.remove(entry);
    settle(entry);
    return true;
  }

  private withRef(ref: string): Pending<F> | undefined {
    return this.pending.find((candidate) => candidate.ref === ref);
  }

  private remove(entry: Pending<F>): void {
    clearTimeout(entry.timer);
    this.pending = this.pending.filter((candidate) => candidate !== entry);
  }
}
