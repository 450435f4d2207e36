// The verified identity of a connection, attached once at the handshake.

export interface RealtimeIdentity {
  /** From the user id claim (default `sub`), always a string. */
  userId: string;
  /** From the username claim; falls back to the user id. */
  username: string;
  roles: string[];
  isAdmin: boolean;
  /** From the appId claim (log stream isolation); null when absent. */
  appId: string | null;
  /** Page declared by the client at connection (`page` in handshake auth or query); null when absent. */
  page: string | null;
  /** Token expiry in epoch milliseconds; null when the token has no `exp`. */
  expiresAt: number | null;
}

export function isExpired(identity: RealtimeIdentity, now = Date.now()): boolean {
  return identity.expiresAt !== null && identity.expiresAt <= now;
}
