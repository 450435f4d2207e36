// For specs: a readable unsigned JWT (the client reads claims, it never verifies a signature).

/** A token whose payload is `claims`. */
export function unsignedToken(claims: Record<string, unknown>): string {
  return `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;
}

/** A token of `sub` whose `exp` is `seconds` from now. */
export function tokenExpiringIn(seconds: number, sub: string): string {
  return unsignedToken({ sub, exp: Math.floor(Date.now() / 1000) + seconds });
}
