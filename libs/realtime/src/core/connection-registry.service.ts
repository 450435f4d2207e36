// Every open connection of this node, all transports: per-user counts, totals, and change notices
// (presence and admin statistics subscribe to them).
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { RealtimeIdentity } from './auth/realtime-identity';
import type { RealtimeError } from './errors/realtime-error';

export type RealtimeTransport = 'socket.io' | 'ws';

/** A connection that can be told an error and closed (a raw ws connection is one itself). */
export interface EndableConnection {
  endWith(error: RealtimeError): void;
}

export interface ConnectionEntry {
  /**
   * Unique among this process's connections: a Socket.IO socket's id, or `ws:<n>` for a raw ws
   * connection (numbered per process, so not unique across nodes or restarts).
   */
  id: string;
  transport: RealtimeTransport;
  identity: RealtimeIdentity;
  connectedAt: number;
  /** Closes the connection with an error (a limit found after it was admitted, e.g. across nodes). */
  end?: EndableConnection;
}

export interface ConnectionChange {
  kind: 'connected' | 'disconnected';
  entry: ConnectionEntry;
  /** The user's open connections after the change (0 after their last one closed). */
  userConnections: number;
}

/** The same roles in the same order. */
function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((role, i) => role === b[i]);
}

/** Equal claims: every field, the roles in order. */
function sameIdentity(a: RealtimeIdentity, b: RealtimeIdentity): boolean {
  return (
    a.userId === b.userId &&
    a.username === b.username &&
    a.isAdmin === b.isAdmin &&
    a.appId === b.appId &&
    a.page === b.page &&
    a.expiresAt === b.expiresAt &&
    sameRoles(a.roles, b.roles)
  );
}

/**
 * Distinct identities of a user that a new connection may share, most recent last. A user's tokens
 * often differ only in their expiry (signed at different seconds): with only the latest identity
 * kept, connections opened with two such tokens in turn each kept an identity of their own (about
 * 200 bytes with its roles and strings; heap snapshot diffs of the connections group, 1,000 against
 * 3,000 connections of 100 users).
 */
const SHARED_IDENTITIES_PER_USER = 4;

interface UserEntry {
  count: number;
  /** The identity of the user's latest connection. */
  identity: RealtimeIdentity;
  /** Identities a connection of equal claims shares (the latest among them), at most SHARED_IDENTITIES_PER_USER. */
  shared: RealtimeIdentity[];
}

/**
 * The identity to keep for a connection of a known user: an equal one of theirs, or `identity` with
 * the strings and roles equal to those of their latest identity taken from it (one copy per user).
 */
function sharedIdentity(user: UserEntry, identity: RealtimeIdentity): RealtimeIdentity {
  const equal = user.shared.find((known) => sameIdentity(known, identity));
  if (equal !== undefined) return equal;
  const latest = user.identity;
  const kept: RealtimeIdentity = {
    ...identity,
    userId: latest.userId,
    username: identity.username === latest.username ? latest.username : identity.username,
    roles: sameRoles(identity.roles, latest.roles) ? latest.roles : identity.roles,
  };
  // A new array of the exact length: one grown by push keeps room for 17.
  user.shared = [...user.shared.slice(1 - SHARED_IDENTITIES_PER_USER), kept];
  return kept;
}

@Injectable()
export class ConnectionRegistry implements OnModuleDestroy {
  private readonly entries = new Map<string, ConnectionEntry>();
  /** Each online user's connection count, the identity of their latest connection and those shared. */
  private readonly perUser = new Map<string, UserEntry>();
  private readonly perTransport: Record<RealtimeTransport, number> = { 'socket.io': 0, ws: 0 };
  private waiting = 0;
  private readonly changeSubject = new Subject<ConnectionChange>();
  /** Emits after each connection opened or closed. */
  readonly changes$ = this.changeSubject.asObservable();

  get size(): number {
    return this.entries.size;
  }

  /** Open connections still waiting to authenticate (deferred authentication); they hold a slot. */
  get pendingCount(): number {
    return this.waiting;
  }

  holdPending(): void {
    this.waiting += 1;
  }

  releasePending(): void {
    this.waiting = Math.max(0, this.waiting - 1);
  }

  get activeUsers(): number {
    return this.perUser.size;
  }

  countByTransport(): { socketIo: number; ws: number } {
    return { socketIo: this.perTransport['socket.io'], ws: this.perTransport.ws };
  }

  get(id: string): ConnectionEntry | undefined {
    return this.entries.get(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  connectionsOf(userId: string): number {
    return this.perUser.get(userId)?.count ?? 0;
  }

  /** Every user with an open connection, with the username of their latest connection. */
  onlineUsers(): Array<{ userId: string; username: string }> {
    return [...this.perUser].map(([userId, { identity }]) => ({ userId, username: identity.username }));
  }

  isOnline(userId: string): boolean {
    return this.perUser.has(userId);
  }

  onlineUserIds(): string[] {
    return [...this.perUser.keys()];
  }

  /** Every open connection of this node. */
  connections(): IterableIterator<ConnectionEntry> {
    return this.entries.values();
  }

  /**
   * Counts a connection. Returns the identity to keep for it: one of the user's identities already
   * registered when this one is equal to it (the same claims), so that a user's many connections
   * share one identity object; else an equal copy sharing the strings and roles of the user's latest
   * identity (`identity` itself for a user's first connection). Identities are never mutated (a
   * refresh replaces one).
   */
  add(
    id: string,
    transport: RealtimeTransport,
    identity: RealtimeIdentity,
    end?: EndableConnection,
  ): RealtimeIdentity {
    const existing = this.entries.get(id);
    if (existing) return existing.identity;
    const user = this.perUser.get(identity.userId);
    const shared = user !== undefined ? sharedIdentity(user, identity) : identity;
    const entry: ConnectionEntry = { id, transport, identity: shared, connectedAt: Date.now(), end };
    this.entries.set(id, entry);
    this.perTransport[transport] += 1;
    const count = (user?.count ?? 0) + 1;
    if (user) {
      user.count = count;
      user.identity = shared;
    } else this.perUser.set(identity.userId, { count, identity: shared, shared: [shared] });
    this.changeSubject.next({ kind: 'connected', entry, userConnections: count });
    return shared;
  }

  /**
   * A connection's refreshed token (same user): its identity is replaced in place. Nothing is counted
   * again and no change is emitted, so presence does not flap. Another user's identity is ignored.
   */
  updateIdentity(id: string, identity: RealtimeIdentity): void {
    const entry = this.entries.get(id);
    if (!entry || entry.identity.userId !== identity.userId) return;
    entry.identity = identity;
    const user = this.perUser.get(identity.userId);
    if (user) user.identity = identity;
  }

  /** Idempotent: a second call for the same id does nothing. */
  remove(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.perTransport[entry.transport] -= 1;
    const user = this.perUser.get(entry.identity.userId);
    const count = (user?.count ?? 1) - 1;
    if (count <= 0) this.perUser.delete(entry.identity.userId);
    else if (user) user.count = count;
    this.changeSubject.next({ kind: 'disconnected', entry, userConnections: Math.max(count, 0) });
  }

  onModuleDestroy(): void {
    this.changeSubject.complete();
  }
}
