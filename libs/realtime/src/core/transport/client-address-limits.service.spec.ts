// ClientAddressLimits: the handshake rate is charged first (RATE_LIMITED with when to retry), then the
// open connections of the address are checked (CONNECTION_LIMIT); held addresses are given back, and
// nothing stays tracked for an address with no connection.
import type { IncomingMessage } from 'http';
import { RealtimeErrorCode } from '../../protocol';
import { resolveRealtimeOptions, type RealtimeModuleOptions } from '../../realtime.options';
import { ClientAddressLimits } from './client-address-limits.service';

function limitsWith(options: Partial<RealtimeModuleOptions> = {}): ClientAddressLimits {
  return new ClientAddressLimits(
    resolveRealtimeOptions({ auth: { secret: 'a-test-secret-of-32-characters!!' }, ...options }),
  );
}

function request(remoteAddress: string, forwardedFor?: string): IncomingMessage {
  const headers: Record<string, string> =
    forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

describe('ClientAddressLimits', () => {
  afterEach(() => jest.useRealTimers());

  it('refuses the attempts past the rate with RATE_LIMITED and when to retry, per address', () => {
    jest.useFakeTimers();
    const limits = limitsWith({ limits: { maxHandshakesPerSecondPerIp: 2 } });
    expect(limits.admit('10.0.0.1')).toBeNull();
    expect(limits.admit('10.0.0.1')).toBeNull();
    const refusal = limits.admit('10.0.0.1');
    expect(refusal?.toPayload()).toEqual({
      code: RealtimeErrorCode.RATE_LIMITED,
      message: 'Too many connection attempts from this address',
      details: { retry_after_ms: 500, limit: 2, window: 'second', bucket: 'handshake' },
    });
    expect(limits.admit('10.0.0.2')).toBeNull();
    jest.advanceTimersByTime(500);
    expect(limits.admit('10.0.0.1')).toBeNull();
  });

  it('refuses a connection past the open connections of its address with CONNECTION_LIMIT', () => {
    const limits = limitsWith({ limits: { maxConnectionsPerIp: 2 } });
    for (let i = 0; i < 2; i += 1) {
      expect(limits.admit('10.0.0.1')).toBeNull();
      limits.hold('10.0.0.1');
    }
    expect(limits.admit('10.0.0.1')?.toPayload()).toEqual({
      code: RealtimeErrorCode.CONNECTION_LIMIT,
      message: 'Too many connections from this address',
      details: { max_connections_per_ip: 2 },
    });
    expect(limits.admit('10.0.0.2')).toBeNull();
    limits.release('10.0.0.1');
    expect(limits.admit('10.0.0.1')).toBeNull();
  });

  it('charges the rate before it looks at the open connections', () => {
    jest.useFakeTimers();
    const limits = limitsWith({ limits: { maxConnectionsPerIp: 1, maxHandshakesPerSecondPerIp: 2 } });
    limits.hold('10.0.0.1');
    expect(limits.admit('10.0.0.1')?.code).toBe(RealtimeErrorCode.CONNECTION_LIMIT);
    expect(limits.admit('10.0.0.1')?.code).toBe(RealtimeErrorCode.CONNECTION_LIMIT);
    expect(limits.admit('10.0.0.1')?.code).toBe(RealtimeErrorCode.RATE_LIMITED);
  });

  it('gives every held address back: nothing is tracked for an address without connections', () => {
    jest.useFakeTimers();
    const limits = limitsWith();
    for (let i = 0; i < 3; i += 1) limits.hold('10.0.0.1');
    limits.hold('10.0.0.2');
    expect(limits.openFrom('10.0.0.1')).toBe(3);
    for (let i = 0; i < 3; i += 1) limits.release('10.0.0.1');
    limits.release('10.0.0.2');
    expect(limits.openFrom('10.0.0.1')).toBe(0);
    expect(limits.trackedAddresses.open).toBe(0);
    limits.admit('10.0.0.3');
    jest.advanceTimersByTime(1000);
    limits.admit('10.0.0.4');
    expect(limits.trackedAddresses.handshakes).toBe(1);
  });

  it('reads X-Forwarded-For only from trusted proxies', () => {
    expect(limitsWith().addressOf(request('127.0.0.1', '203.0.113.9'))).toBe('127.0.0.1');
    const trusting = limitsWith({ trustedProxies: ['loopback'] });
    expect(trusting.addressOf(request('127.0.0.1', '203.0.113.9'))).toBe('203.0.113.9');
    expect(trusting.addressOf(request('198.51.100.2', '203.0.113.9'))).toBe('198.51.100.2');
  });
});
