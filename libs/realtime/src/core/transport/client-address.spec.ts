// The client address the per-address limits count: the socket's own unless the request came through
// a trusted proxy, whose X-Forwarded-For is then read as proxy-addr reads it.
import type { IncomingMessage } from 'http';
import { clientAddressResolver, normalizeAddress, UNKNOWN_CLIENT_ADDRESS } from './client-address';

function request(remoteAddress: string | undefined, forwardedFor?: string): IncomingMessage {
  const headers: Record<string, string> =
    forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

describe('normalizeAddress', () => {
  it('counts an IPv4 client once, whether the server listens on IPv4 or dual-stack IPv6', () => {
    expect(normalizeAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('10.1.2.3')).toBe('10.1.2.3');
  });

  it('counts an IPv6 client by its /64 network, and names a missing address', () => {
    expect(normalizeAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(normalizeAddress('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(normalizeAddress('2001:0db8:0001:0002::ffff')).toBe('2001:db8:1:2::/64');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(normalizeAddress('::1')).toBe('0:0:0:0::/64');
    expect(normalizeAddress('::ffff:not-an-ip')).toBe('::ffff:not-an-ip');
    expect(normalizeAddress(undefined)).toBe(UNKNOWN_CLIENT_ADDRESS);
    expect(normalizeAddress('')).toBe(UNKNOWN_CLIENT_ADDRESS);
  });
});

describe('clientAddressResolver', () => {
  it('without trusted proxies, ignores X-Forwarded-For: a client cannot choose its address', () => {
    const addressOf = clientAddressResolver(null);
    expect(addressOf(request('127.0.0.1', '10.0.0.1'))).toBe('127.0.0.1');
    expect(addressOf(request('::ffff:192.0.2.7', '10.0.0.1, 10.0.0.2'))).toBe('192.0.2.7');
    expect(addressOf(request(undefined))).toBe(UNKNOWN_CLIENT_ADDRESS);
  });

  it('behind a trusted proxy, takes the nearest forwarded address that is not a trusted proxy', () => {
    const addressOf = clientAddressResolver(['loopback', '10.0.0.0/8']);
    expect(addressOf(request('127.0.0.1', '203.0.113.9'))).toBe('203.0.113.9');
    // Two trusted hops (the balancer at 10.1.1.1 added its client): the client is the first untrusted one.
    expect(addressOf(request('127.0.0.1', '203.0.113.9, 10.1.1.1'))).toBe('203.0.113.9');
    // What the client wrote itself, left of the address the proxy appended, is not believed.
    expect(addressOf(request('127.0.0.1', '198.51.100.1, 203.0.113.9'))).toBe('203.0.113.9');
    // Every hop trusted: the farthest one.
    expect(addressOf(request('::ffff:127.0.0.1', '10.2.2.2'))).toBe('10.2.2.2');
  });

  it('does not read the header of a request that did not come through a trusted proxy', () => {
    const addressOf = clientAddressResolver(['10.0.0.1']);
    expect(addressOf(request('198.51.100.4', '203.0.113.9'))).toBe('198.51.100.4');
    expect(addressOf(request('10.0.0.1'))).toBe('10.0.0.1');
  });

  it('counts a forwarded entry that is not an address as the proxy itself', () => {
    const addressOf = clientAddressResolver(['loopback']);
    expect(addressOf(request('127.0.0.1', 'unknown'))).toBe('127.0.0.1');
    expect(addressOf(request(undefined, '203.0.113.9'))).toBe(UNKNOWN_CLIENT_ADDRESS);
  });
});
