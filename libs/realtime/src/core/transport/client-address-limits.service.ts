// The per-client-address limits of this node, shared by every transport: connection attempts per
// second (`limits.maxHandshakesPerSecondPerIp`, checked before anything else of the attempt: origin,
// token) and open connections (`limits.maxConnectionsPerIp`). Addresses come from client-address.ts.
import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'http';
import { RealtimeErrorCode } from '../../protocol';
import { REALTIME_OPTIONS } from '../../realtime.constants';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import { RealtimeError } from '../errors/realtime-error';
import { clientAddressResolver, type ClientAddressOf } from './client-address';
import { HandshakeRateLimiter } from './handshake-rate-limiter';

/**
 * A connection refused at its handshake is told why at once (raw ws: `error` frame and close frame;
 * Socket.IO: connect_error); one whose client stays connected anyway is dropped after this delay (ws
 * alone would wait 30 s for the closing handshake), so that a flood of refused attempts holds few sockets.
 */
export const REFUSED_CONNECTION_LINGER_MS = 2000;

@Injectable()
export class ClientAddressLimits {
  private readonly resolve: ClientAddressOf;
  private readonly handshakes: HandshakeRateLimiter;
  /** Open connections by address; an address without any has no entry. */
  private readonly open = new Map<string, number>();
  private readonly maxPerAddress: number;

  constructor(@Inject(REALTIME_OPTIONS) options: ResolvedRealtimeOptions) {
    this.resolve = clientAddressResolver(options.trustedProxies);
    this.handshakes = new HandshakeRateLimiter(options.limits.maxHandshakesPerSecondPerIp);
    this.maxPerAddress = options.limits.maxConnectionsPerIp;
  }

  /** The client address of a handshake request. */
  addressOf(request: IncomingMessage): string {
    return this.resolve(request);
  }

  /**
   * A new connection from `address`: counted as a handshake (RATE_LIMITED past the rate, with
   * `retry_after_ms`), then checked against the open connections of the address (CONNECTION_LIMIT).
   * Null when it may go on; the caller then `hold`s the address while the connection is open.
   */
  admit(address: string): RealtimeError | null {
    const rateLimited = this.chargeHandshake(address);
    if (rateLimited !== null) return rateLimited;
    if ((this.open.get(address) ?? 0) >= this.maxPerAddress) {
      return new RealtimeError(RealtimeErrorCode.CONNECTION_LIMIT, 'Too many connections from this address', {
        max_connections_per_ip: this.maxPerAddress,
      });
    }
    return null;
  }

  /** One more handshake from `address` (e.g. a second Socket.IO CONNECT on one connection). */
  chargeHandshake(address: string): RealtimeError | null {
    const retryAfterMs = this.handshakes.take(address);
    if (retryAfterMs === 0) return null;
    return new RealtimeError(
      RealtimeErrorCode.RATE_LIMITED,
      'Too many connection attempts from this address',
      {
        retry_after_ms: retryAfterMs,
        limit: this.handshakes.perSecond,
        window: 'second',
        bucket: 'handshake',
      },
    );
  }

  /** Counts an open connection of `address`; `release` it exactly once when it closes. */
  hold(address: string): void {
    this.open.set(address, (this.open.get(address) ?? 0) + 1);
  }

  release(address: string): void {
    const count = (this.open.get(address) ?? 0) - 1;
    if (count > 0) this.open.set(address, count);
    else this.open.delete(address);
  }

  /** Open connections counted for `address`. */
  openFrom(address: string): number {
    return this.open.get(address) ?? 0;
  }

  /** Addresses with open connections, and addresses whose handshake rate is still being tracked. */
  get trackedAddresses(): { open: number; handshakes: number } {
    return { open: this.open.size, handshakes: this.handshakes.size };
  }
}
