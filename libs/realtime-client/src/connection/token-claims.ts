// Reads claims of a JWT without verifying it (the server verifies): the client only needs its own
// user id to tell the peer of a direct conversation apart, and the expiry to refresh the token in time.

function readClaims(token: string): Record<string, unknown> | undefined {
  const body = token.split('.')[1];
  if (!body) return undefined;
  try {
    const base64 = body.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const claims: unknown = JSON.parse(atob(padded));
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    // Not a JWT the client can read: the caller falls back (the `userId` option, no scheduled refresh).
    return undefined;
  }
}

export function readTokenClaim(token: string, claim: string): string | undefined {
  const value = readClaims(token)?.[claim];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** The token's `exp` in epoch milliseconds; undefined without a numeric `exp` or for a token that is not a JWT. */
export function readTokenExpiry(token: string): number | undefined {
  const exp = readClaims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}
