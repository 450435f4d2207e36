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

/** Equal claims: every field, the roles in order. */
function sameIdentity(a: RealtimeIdentity, b: RealtimeIdentity): boolean {
  return (
    a.userId === b.userId &&
    a.username === b.username &&
    a.isAdmin === b.isAdmin &&
    a.appId === b.appId &&
    a.page === b.page &&
    a.expiresAt === b.expiresAt &&
    a.roles.length === b.roles.length &&
    a.roles.every((role, i) => role === b.roles[i])
  );
}

@Injectable()
export class ConnectionRegistry implements OnModuleDestroy {
  private readonly entries = new Map<string, ConnectionEntry>();
  /** Each online user's connection count and the identity of their latest connection. */
  private readonly perUser = new Map<string, { count: number; identity: RealtimeIdentity }>();
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
   * Counts a connection. Returns the identity to keep for it: the user's identity already registered
   * when this one is equal to it (the same token's claims), so that a user's many connections share
   * one identity object; `identity` otherwise. Identities are never mutated (a refresh replaces one).
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
    const shared = user !== undefined && sameIdentity(user.identity, identity) ? user.identity : identity;
    const entry: ConnectionEntry = { id, transport, identity: shared, connectedAt: Date.now(), end };
    this.entries.set(id, entry);
    this.perTransport[transport] += 1;
    const count = (user?.count ?? 0) + 1;
    if (user) {
      user.count = count;
      user.identity = shared;
    } else this.perUser.set(identity.userId, { count, identity: shared });
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
