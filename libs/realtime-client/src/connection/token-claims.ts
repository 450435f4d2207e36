// Reads one claim of a JWT without verifying it (the server verifies): the client only needs its own
// user id to tell the peer of a direct conversation apart.

export function readTokenClaim(token: string, claim: string): string | undefined {
  const body = token.split('.')[1];
  if (!body) return undefined;
  try {
    const base64 = body.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const claims = JSON.parse(atob(padded)) as Record<string, unknown>;
    const value = claims[claim];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  } catch {
    // Not a JWT the client can read: the caller falls back to the `userId` option.
    return undefined;
  }
}
