// The order of a graceful shutdown (the host's `app.close()`, SIGTERM with shutdown hooks, or
// `shutdown()` called first), before anything else of the module stops:
//   1. stop accepting: raw ws upgrades are answered 503, Socket.IO handshakes are refused by engine.io,
//      HTTP log batches are answered 503 SHUTTING_DOWN;
//   2. inbound frames and events get the error SHUTTING_DOWN (never an acknowledgement): the request
//      was not carried out, the client sends it again once reconnected;
//   3. the frames being handled (message inserts…) and the writes the features still owe (log batches
//      answered 202) get up to `limits.shutdownGraceMs` to finish;
//   4-5. every connection is ended so that its client reconnects by itself: raw ws clients with close
//      1001 "Server shutting down", Socket.IO clients by closing their engine.io connection (reason
//      "transport close"; a server-side `disconnect()` would stop them from reconnecting).
// The bus, presence, Redis and the database close after it, in the later phases, as before.
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { RealtimeErrorCode } from '../../protocol';
import { REALTIME_OPTIONS } from '../../realtime.constants';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import { RealtimeError } from '../errors/realtime-error';

/** Where a shutdown stands: `draining` (steps 1-3), `closing` (4-5), `closed` (the rest may go). */
export type ShutdownPhase = 'running' | 'draining' | 'closing' | 'closed';

/** What the transports ask of the shutdown: whether to refuse, and which handlings are in flight. */
export interface ShutdownGate {
  /** From the start of the shutdown on: new connections, frames and batches are refused. */
  readonly draining: boolean;
  /**
   * A frame or event arrives: counted as in flight (true) until `settled()`, or refused (false) once
   * the shutdown has begun. A frame received before it is handled, within the grace, even when it
   * waits behind others of its connection; one received after gets SHUTTING_DOWN.
   */
  admit(): boolean;
  /** An admitted frame's handling is done, whatever its outcome. */
  settled(): void;
}

/** The reason raw ws clients are given with close 1001. */
export const SHUTDOWN_CLOSE_REASON = 'Server shutting down';

/** What a refused connection, frame, event or log batch is told. */
export function shuttingDownError(): RealtimeError {
  return new RealtimeError(
    RealtimeErrorCode.SHUTTING_DOWN,
    'Server shutting down: not carried out, send it again once reconnected',
  );
}

@Injectable()
export class ShutdownCoordinator implements ShutdownGate, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeShutdown');
  private current: ShutdownPhase = 'running';
  /** Frames and events being handled (or queued behind one) on every connection. */
  private inFlight = 0;
  private onIdle: (() => void) | null = null;
  private readonly owedWrites: Array<() => Promise<void>> = [];
  private readonly closers: Array<() => Promise<void>> = [];
  private readonly graceMs: number;
  private readonly closed: Promise<void>;
  private markClosed!: () => void;
  private started: Promise<void> | null = null;

  constructor(@Inject(REALTIME_OPTIONS) options: ResolvedRealtimeOptions) {
    this.graceMs = options.limits.shutdownGraceMs;
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  get phase(): ShutdownPhase {
    return this.current;
  }

  get draining(): boolean {
    return this.current !== 'running';
  }

  admit(): boolean {
    if (this.current !== 'running') return false;
    this.inFlight += 1;
    return true;
  }

  settled(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.onIdle?.();
  }

  /**
   * Writes a feature still owes once no new work comes in (e.g. log batches answered 202 and not yet
   * in the database): awaited, within the grace, after the frames in flight.
   */
  oweWrites(settle: () => Promise<void>): void {
    this.owedWrites.push(settle);
  }

  /** Ends a transport's connections at step 4-5; resolves once they are closed (bounded by the transport). */
  closeOnShutdown(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  /** Resolves once a shutdown has closed the connections (what closes later waits for it). */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  /**
   * Runs the graceful shutdown now, once (a second call gets the same promise): refuses new work,
   * lets the work in flight finish within the grace, then closes every connection. `app.close()`
   * runs it too, in the module's onModuleDestroy; but Nest runs the hooks of a global module
   * (`isGlobal`) after the host's own, so a host whose onModuleDestroy hooks stop what its handlers
   * use calls this first: `await app.get(ShutdownCoordinator).shutdown(); await app.close();`.
   */
  shutdown(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  onModuleDestroy(): Promise<void> {
    return this.shutdown();
  }

  private async run(): Promise<void> {
    this.current = 'draining';
    const started = Date.now();
    const drained = await this.drain();
    if (drained) {
      this.logger.log(`Shutting down: the work in flight finished in ${Date.now() - started} ms`);
    } else {
      this.logger.warn(
        `Shutting down: ${this.inFlight} frame(s) still handled, or writes still owed, after ` +
          `limits.shutdownGraceMs (${this.graceMs} ms); closing the connections anyway`,
      );
    }
    this.current = 'closing';
    this.report('Closing connections at shutdown', await Promise.allSettled(this.closers.map((c) => c())));
    this.current = 'closed';
    this.markClosed();
  }

  /** Step 3: the frames in flight, then the owed writes, within the grace; false when it ran out. */
  private async drain(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.graceMs);
    });
    let abandoned = false;
    const work = (async (): Promise<true> => {
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
      this.onIdle = null;
      // The grace ran out while frames were in flight: the later phases (the database closing) are
      // under way, and the owed writes would only fail there.
      if (abandoned) return true;
      this.report('Writing at shutdown', await Promise.allSettled(this.owedWrites.map((settle) => settle())));
      return true;
    })();
    try {
      return await Promise.race([work, graceOver]);
    } finally {
      abandoned = true;
      clearTimeout(timer);
    }
  }

  private report(what: string, results: PromiseSettledResult<void>[]): void {
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      const reason: unknown = result.reason;
      this.logger.error(`${what} failed`, reason instanceof Error ? reason.stack : String(reason));
    }
  }
}
