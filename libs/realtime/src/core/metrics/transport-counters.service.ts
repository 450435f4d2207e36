// Counters fed by the transports (bytes in and out, messages handled, errors sent), read by the
// metrics sampler and the Prometheus exposition. Plain numbers: counting must not cost on the hot path.
// A raw ws endpoint may also have a monitor of its own (by path), which its connections report to.
import { Injectable } from '@nestjs/common';
import type { RawWsMonitor } from './raw-ws-monitor';

export interface TransportCounterSnapshot {
  bytesReceived: number;
  bytesSent: number;
  messagesReceived: number;
  errorsSent: number;
}

@Injectable()
export class TransportCounters {
  bytesReceived = 0;
  bytesSent = 0;
  messagesReceived = 0;
  errorsSent = 0;
  private readonly monitors = new Map<string, RawWsMonitor>();

  /**
   * Has every raw ws connection opened at `path` from now on report to `monitor`. Registered by path
   * rather than by gateway so that a connection refused at the handshake (before any gateway hook)
   * is reported too.
   * @internal The library's own endpoints only (RawWsMonitor is not public); not in the typings.
   */
  monitorEndpoint(path: string, monitor: RawWsMonitor): void {
    this.monitors.set(withoutTrailingSlash(path), monitor);
  }

  /**
   * The monitor of a raw ws connection's path, if its endpoint has one.
   * @internal Read by the raw ws transport; not in the typings.
   */
  monitorOf(path: string): RawWsMonitor | null {
    if (this.monitors.size === 0) return null;
    return this.monitors.get(withoutTrailingSlash(path)) ?? null;
  }

  received(bytes: number): void {
    this.bytesReceived += bytes;
    this.messagesReceived += 1;
  }

  sent(bytes: number): void {
    this.bytesSent += bytes;
  }

  error(): void {
    this.errorsSent += 1;
  }

  snapshot(): TransportCounterSnapshot {
    return {
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      messagesReceived: this.messagesReceived,
      errorsSent: this.errorsSent,
    };
  }
}

/** The upgrade router serves `/ws/chat/` as `/ws/chat`: a monitor is found either way. */
function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.replace(/\/+$/, '') : path;
}
