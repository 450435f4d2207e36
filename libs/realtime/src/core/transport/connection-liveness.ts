// The one connection-liveness rule of every transport: a peer that misses heartbeats is dropped, a
// connection whose token expires is told and closed, and, when limits.idleTimeoutMs > 0, a connection
// that sent no application frame for that long is closed. Transports stamp their inbound frames;
// one sweep per heartbeat interval applies the rule to all of them (and, when the idle timeout is
// shorter than two heartbeat intervals, an idle check every idleTimeoutMs / 2 in between).
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { RealtimeCloseCode, RealtimeErrorCode } from '../../protocol';
import { REALTIME_OPTIONS } from '../../realtime.constants';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import { isExpired, type RealtimeIdentity } from '../auth/realtime-identity';
import { RealtimeError } from '../errors/realtime-error';

/** Raw ws ping frames a peer may leave unanswered: it is dropped at the sweep that finds two. */
export const MAX_MISSED_HEARTBEATS = 2;

/** Why the rule ends a connection, and what the client is told. */
export interface LivenessEnding {
  readonly kind: 'token-expired' | 'idle';
  /** The error the client is told before the close (see each transport's `end`). */
  readonly error: RealtimeError;
  /** The raw ws close code (also in a Socket.IO idle error's details). */
  readonly closeCode: number;
  /** The raw ws close reason. */
  readonly reason: string;
}

/** The token expired: AUTH_FAILED "Token expired", close 4401. */
export function tokenExpiredEnding(): LivenessEnding {
  return {
    kind: 'token-expired',
    error: RealtimeError.authFailed('Token expired'),
    closeCode: RealtimeCloseCode.AUTH_FAILED,
    reason: 'Token expired',
  };
}

/** No application frame for `idleTimeoutMs`: IDLE_TIMEOUT "Idle timeout", close 4408. */
export function idleTimeoutEnding(idleTimeoutMs: number): LivenessEnding {
  return {
    kind: 'idle',
    error: new RealtimeError(RealtimeErrorCode.IDLE_TIMEOUT, 'Idle timeout', {
      close_code: RealtimeCloseCode.TIMEOUT,
      idle_timeout_ms: idleTimeoutMs,
    }),
    closeCode: RealtimeCloseCode.TIMEOUT,
    reason: 'Idle timeout',
  };
}

/** A heartbeat the library sends itself (raw ws ping frames); Socket.IO's engine runs its own. */
export interface LivenessHeartbeat<C> {
  /** Pings sent since the peer last answered one. */
  missed(connection: C): number;
  /** Sends a ping, counted as missed until answered. */
  ping(connection: C): void;
  /** Drops a peer that stopped answering, without a closing handshake (it would not answer it). */
  drop(connection: C): void;
}

/** One transport's connections as the rule sees them. */
export interface LivenessTransport<C> {
  connections(): Iterable<C>;
  isOpen(connection: C): boolean;
  /** Null while a deferred-authentication connection has not authenticated. */
  identityOf(connection: C): RealtimeIdentity | null;
  /** Epoch ms of the last inbound application frame (heartbeat answers are not activity). */
  lastInboundAt(connection: C): number;
  /** Tells the client why (the transport's wire format) and closes the connection. */
  end(connection: C, ending: LivenessEnding): void;
  heartbeat?: LivenessHeartbeat<C>;
}

/** A transport under the rule. */
export interface LivenessWatch<C> {
  /**
   * A connection (re)authenticated, or given a fresh token (a new identity object; the old one is
   * never mutated, so its pending expiry is dropped): a token that expires before the next sweep is
   * put on the expiry timer now, so that even a connection younger than one sweep is ended at its expiry.
   */
  admit(connection: C): void;
  /** Takes the transport out of the rule (its server is closing). */
  stop(): void;
}

/** A connection whose token expires before the next sweep, closed by the expiry timer. */
interface DueExpiry {
  transport: LivenessTransport<unknown>;
  connection: unknown;
  identity: RealtimeIdentity;
  expiresAt: number;
}

@Injectable()
export class ConnectionLiveness implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ConnectionLiveness.name);
  private readonly transports = new Set<LivenessTransport<unknown>>();
  private sweepTimer: NodeJS.Timeout | null = null;
  /** The idle check between two sweeps, when idleTimeoutMs / 2 is shorter than a heartbeat interval. */
  private idleTimer: NodeJS.Timeout | null = null;
  /** Tokens expiring before the next sweep, earliest first, and the one timer for the earliest. */
  private due: DueExpiry[] = [];
  private dueTimer: NodeJS.Timeout | null = null;
  private nextSweepAt = 0;
  private readonly intervalMs: number;
  private readonly idleTimeoutMs: number;

  constructor(@Inject(REALTIME_OPTIONS) options: ResolvedRealtimeOptions) {
    this.intervalMs = options.limits.heartbeatIntervalMs;
    this.idleTimeoutMs = options.limits.idleTimeoutMs;
  }

  /** Applies the rule to a transport's connections from now on. */
  watch<C>(transport: LivenessTransport<C>): LivenessWatch<C> {
    const watched = transport as LivenessTransport<unknown>;
    this.transports.add(watched);
    if (this.sweepTimer === null) {
      this.sweepTimer = setInterval(() => this.sweep(), this.intervalMs);
      this.sweepTimer.unref();
      this.nextSweepAt = Date.now() + this.intervalMs;
      const idleCheckMs = Math.max(1, Math.floor(this.idleTimeoutMs / 2));
      if (this.idleTimeoutMs > 0 && idleCheckMs < this.intervalMs) {
        this.idleTimer = setInterval(() => this.closeIdle(), idleCheckMs);
        this.idleTimer.unref();
      }
    }
    return {
      admit: (connection) => this.admit(watched, connection),
      stop: () => this.unwatch(watched),
    };
  }

  beforeApplicationShutdown(): void {
    this.transports.clear();
    this.stop();
  }

  /**
   * Once per heartbeat interval, for every connection: an expired token ends it; a peer that left
   * MAX_MISSED_HEARTBEATS pings unanswered is dropped; an idle one is closed; the others are pinged.
   * Tokens expiring before the next sweep get the expiry timer, so that expiry is on time.
   *
   * Idle precision: idleness is also checked every idleTimeoutMs / 2 between sweeps (when that is
   * shorter than the heartbeat interval), so an idle connection is closed between idleTimeoutMs and
   * 1.5 × idleTimeoutMs after its last application frame, whatever the heartbeat interval. Pings
   * still go out once per heartbeat interval only.
   *
   * A transport that throws for one connection (in `end`, `ping`, `drop`…) is logged and the sweep
   * goes on with the next one: one faulty connection must not stop liveness for all the others.
   */
  private sweep(now = Date.now()): void {
    const nextSweep = now + this.intervalMs;
    this.nextSweepAt = nextSweep;
    const due: DueExpiry[] = [];
    this.forEachConnection((transport, connection) => {
      const heartbeat = transport.heartbeat;
      const identity = transport.identityOf(connection);
      if (identity !== null && isExpired(identity, now)) {
        transport.end(connection, tokenExpiredEnding());
        return;
      }
      if (heartbeat && heartbeat.missed(connection) >= MAX_MISSED_HEARTBEATS) {
        heartbeat.drop(connection);
        return;
      }
      if (this.endIfIdle(transport, connection, now)) return;
      if (identity !== null && identity.expiresAt !== null && identity.expiresAt < nextSweep) {
        due.push({ transport, connection, identity, expiresAt: identity.expiresAt });
      }
      heartbeat?.ping(connection);
    });
    this.due = due.sort((a, b) => a.expiresAt - b.expiresAt);
    this.armDue(now);
  }

  /** Between two sweeps: closes the connections idle for longer than idleTimeoutMs, nothing else. */
  private closeIdle(now = Date.now()): void {
    this.forEachConnection((transport, connection) => {
      this.endIfIdle(transport, connection, now);
    });
  }

  private endIfIdle(transport: LivenessTransport<unknown>, connection: unknown, now: number): boolean {
    const idle = this.idleTimeoutMs;
    if (idle <= 0 || now - transport.lastInboundAt(connection) <= idle) return false;
    transport.end(connection, idleTimeoutEnding(idle));
    return true;
  }

  /** Runs `work` for every connection of every transport; a throw is logged and the next one goes on. */
  private forEachConnection(
    work: (transport: LivenessTransport<unknown>, connection: unknown) => void,
  ): void {
    for (const transport of this.transports) {
      try {
        for (const connection of transport.connections()) {
          try {
            work(transport, connection);
          } catch (error) {
            this.logFailure(error);
          }
        }
      } catch (error) {
        // The transport's own listing failed: its other connections wait for the next sweep.
        this.logFailure(error);
      }
    }
  }

  private logFailure(error: unknown): void {
    const stack = error instanceof Error ? error.stack : undefined;
    this.logger.error(`Liveness check of a connection failed: ${String(error)}`, stack);
  }

  private admit(transport: LivenessTransport<unknown>, connection: unknown): void {
    if (!this.transports.has(transport)) return;
    const identity = transport.identityOf(connection);
    const expiresAt = identity?.expiresAt ?? null;
    if (identity === null || expiresAt === null || expiresAt >= this.nextSweepAt) return;
    // Kept in expiry order: the list is short (tokens expiring within one interval).
    let at = this.due.length;
    while (at > 0 && (this.due[at - 1] as DueExpiry).expiresAt > expiresAt) at -= 1;
    this.due.splice(at, 0, { transport, connection, identity, expiresAt });
    if (at === 0) this.armDue(Date.now());
  }

  private unwatch(transport: LivenessTransport<unknown>): void {
    this.transports.delete(transport);
    this.due = this.due.filter((entry) => entry.transport !== transport);
    if (this.transports.size === 0) this.stop();
  }

  private stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.sweepTimer = null;
    this.idleTimer = null;
    this.dueTimer = null;
    this.due = [];
  }

  private armDue(now: number): void {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = null;
    const first = this.due[0];
    if (first === undefined) return;
    // At least 1 ms: a timer may fire a little before the wall clock reaches the expiry.
    this.dueTimer = setTimeout(() => this.expireDue(), Math.max(1, first.expiresAt - now));
    this.dueTimer.unref();
  }

  private expireDue(now = Date.now()): void {
    let expired = 0;
    for (const entry of this.due) {
      if (entry.expiresAt > now) break;
      expired += 1;
      const { transport, connection, identity } = entry;
      // A connection closed meanwhile, or re-authenticated with a fresh token, is left alone.
      try {
        if (transport.isOpen(connection) && transport.identityOf(connection) === identity) {
          transport.end(connection, tokenExpiredEnding());
        }
      } catch (error) {
        this.logFailure(error);
      }
    }
    this.due = this.due.slice(expired);
    this.armDue(now);
  }
}
