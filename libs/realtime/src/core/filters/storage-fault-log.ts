// The server's log of database outages: a fault is the server's, not a client's, and every request
// fails with it while it lasts. So not one line (or stack) per refused request, as the per-connection
// budget of client-error-log.ts would still allow for each of thousands of connections: one error line
// when an outage starts, a reminder with the count while it lasts, one line when storage works again.
import { Injectable, Logger } from '@nestjs/common';
import { STORAGE_FULL } from '../../protocol';
import type { StorageFault, StorageFaultReason } from '../errors/storage-fault';

/** While an outage lasts, one reminder line with the count of refused requests at most this often. */
export const STORAGE_FAULT_REMINDER_MS = 60_000;

/**
 * A request served this soon after a refused one does not end the outage: while a database shuts down
 * (or a disk is nearly full) some writes still go through between the failures, which would otherwise
 * log an end and a new start of the outage each time.
 */
export const STORAGE_FAULT_SETTLE_MS = 1_000;

interface Outage {
  reason: StorageFaultReason;
  since: number;
  refused: number;
  lastRefusedAt: number;
  remindedAt: number;
}

/** The outage in progress, as `StorageFaultLog.current` reports it. */
export interface StorageOutage {
  readonly reason: StorageFaultReason;
  /** When its first refused request was (epoch ms). */
  readonly since: number;
  /** Requests refused since. */
  readonly refused: number;
}

@Injectable()
export class StorageFaultLog {
  private readonly logger = new Logger('RealtimeStorage');
  private outage: Outage | null = null;

  /** The outage in progress, if any. */
  get current(): StorageOutage | null {
    if (this.outage === null) return null;
    const { reason, since, refused } = this.outage;
    return { reason, since, refused };
  }

  /**
   * A request was refused with `fault`: the first of an outage (or of another cause: unavailable,
   * then full) is logged with the driver's code and message; the next ones are counted.
   */
  refused(fault: StorageFault): void {
    const now = Date.now();
    const outage = this.outage;
    if (outage === null || outage.reason !== fault.reason) {
      this.outage = { reason: fault.reason, since: now, refused: 1, lastRefusedAt: now, remindedAt: now };
      const what = fault.reason === STORAGE_FULL ? 'Storage full' : 'Storage unavailable';
      this.logger.error(
        `${what} (${fault.code}: ${fault.message}): requests that need it are answered INTERNAL_ERROR ` +
          `with details.reason "${fault.reason}" until it works again`,
      );
      return;
    }
    outage.refused += 1;
    outage.lastRefusedAt = now;
    if (now - outage.remindedAt >= STORAGE_FAULT_REMINDER_MS) {
      outage.remindedAt = now;
      this.logger.warn(
        `Still ${outage.reason} after ${seconds(now - outage.since)} s: ${outage.refused} request(s) refused so far`,
      );
    }
  }

  /**
   * Storage served a request: ends the outage in progress, if any, with its duration and count, unless
   * a request was refused within the last STORAGE_FAULT_SETTLE_MS.
   */
  worked(): void {
    const outage = this.outage;
    if (outage === null) return;
    const now = Date.now();
    if (now - outage.lastRefusedAt < STORAGE_FAULT_SETTLE_MS) return;
    this.outage = null;
    this.logger.log(
      `Storage works again after ${seconds(now - outage.since)} s of ${outage.reason}: ` +
        `${outage.refused} request(s) were refused`,
    );
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
