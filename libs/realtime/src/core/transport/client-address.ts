// The client's address of a connection attempt, which the per-address limits count: the socket's own,
// or, behind the proxies of `trustedProxies`, the nearest X-Forwarded-For address that is not one of
// them (proxy-addr's rule, as Express' `trust proxy`). Every transport asks the same function.
import type { IncomingMessage } from 'http';
import { isIP } from 'net';
import proxyaddr from 'proxy-addr';

/** The client address of an HTTP request (a Socket.IO handshake, a raw ws upgrade). */
export type ClientAddressOf = (request: IncomingMessage) => string;

/** The key of a request whose socket has no address any more (closed meanwhile). */
export const UNKNOWN_CLIENT_ADDRESS = 'unknown';

const IPV4_MAPPED = '::ffff:';

/**
 * One IPv4 client counts once whether the server listens on IPv4 (`127.0.0.1`) or dual-stack IPv6
 * (`::ffff:127.0.0.1`). An IPv6 client counts by its /64 network (`2001:db8:1:2::/64`): one host is
 * given a whole /64, and could otherwise take a fresh address for every connection.
 */
export function normalizeAddress(address: string | undefined): string {
  if (address === undefined || address === '') return UNKNOWN_CLIENT_ADDRESS;
  if (address.startsWith(IPV4_MAPPED) && isIP(address.slice(IPV4_MAPPED.length)) === 4) {
    return address.slice(IPV4_MAPPED.length);
  }
  return isIP(address) === 6 ? ipv6Network(address) : address;
}

/** The /64 network of an IPv6 address, written `a:b:c:d::/64` (the first four groups, expanded). */
function ipv6Network(address: string): string {
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => (parseInt(group, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/**
 * The resolver for a `trustedProxies` list (already validated by the options), compiled once.
 * null: forwarded headers are ignored, whoever sends them. A forwarded entry that is not an IP address
 * (a proxy passing on garbage) counts as the proxy's own address.
 */
export function clientAddressResolver(trustedProxies: readonly string[] | null): ClientAddressOf {
  if (trustedProxies === null) return (request) => normalizeAddress(request.socket.remoteAddress);
  const trust = proxyaddr.compile([...trustedProxies]);
  return (request) => {
    const socketAddress = request.socket.remoteAddress;
    if (socketAddress === undefined) return UNKNOWN_CLIENT_ADDRESS;
    const forwarded = proxyaddr(request, trust);
    return normalizeAddress(isIP(forwarded) === 0 ? socketAddress : forwarded);
  };
}
