// Finds the bearer token of a handshake: Socket.IO auth.token, then the `token` query parameter,
// then an `Authorization: Bearer` header. Also reads the declared page.
import type { IncomingHttpHeaders } from 'http';

export interface HandshakeSource {
  /** Socket.IO `handshake.auth`, absent for raw ws. */
  auth?: Record<string, unknown>;
  /** Parsed query string. */
  query: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

function firstString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

export function extractToken(source: HandshakeSource): string | undefined {
  const fromAuth = firstString(source.auth?.token);
  if (fromAuth) return fromAuth;
  const fromQuery = firstString(source.query.token);
  if (fromQuery) return fromQuery;
  const header = source.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1]) return match[1];
  }
  return undefined;
}

const PAGE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The page a client declares; a malformed value is ignored rather than trusted. */
export function extractPage(source: HandshakeSource): string | null {
  const page = firstString(source.auth?.page) ?? firstString(source.query.page);
  return page !== undefined && PAGE.test(page) ? page : null;
}

/** Parses the query string of a raw HTTP upgrade request URL. */
export function parseQuery(url: string | undefined): Record<string, string> {
  const query: Record<string, string> = {};
  if (!url) return query;
  const at = url.indexOf('?');
  if (at < 0) return query;
  for (const [key, value] of new URLSearchParams(url.slice(at + 1))) {
    if (!(key in query)) query[key] = value;
  }
  return query;
}
