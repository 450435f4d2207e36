// Counters fed by the transports (bytes in and out, messages handled, errors sent), read by the
// metrics sampler and the Prometheus exposition. Plain numbers: counting must not cost on the hot path.
import { Injectable } from '@nestjs/common';

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
