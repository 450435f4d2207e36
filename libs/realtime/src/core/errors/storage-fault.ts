// Which errors mean "the database is down or full" rather than a bug: the one classifier behind the
// INTERNAL_ERROR with `details.reason` storage_unavailable / storage_full that every transport sends,
// and behind the server's one log line per outage (StorageFaultLog).
import { QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { STORAGE_FULL, STORAGE_UNAVAILABLE } from '../../protocol';

export type StorageFaultReason = typeof STORAGE_UNAVAILABLE | typeof STORAGE_FULL;

export interface StorageFault {
  /** The `details.reason` sent to the client. */
  reason: StorageFaultReason;
  /** The driver's code (ECONNREFUSED, 57P01, SQLITE_FULL…), for the server log. */
  code: string;
  /** The driver's message, for the server log (never sent). */
  message: string;
}

/** Node's socket errors of a database connection (pg connects over TCP). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of a server that cannot serve now: class 08 (connection exception) is matched
 * by prefix; shutting down or starting up, out of connections or memory, a read-only standby; a
 * statement cancelled by its timeout (`database.queryTimeoutMs`), a lock not obtained in time, a
 * session ended for staying idle inside a transaction.
 */
const PG_UNAVAILABLE = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53000',
  '53200',
  '53300',
  '25006',
  '57014',
  '55P03',
  '25P03',
]);

/** pg's own errors carry no code: a connection lost mid-query, or one that could not be opened in time. */
const PG_CONNECTION_MESSAGE =
  /^(?:Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Query read timeout)/;

/**
 * TypeORM releases a PostgreSQL query runner as soon as its connection fails (the pg client's `error`
 * event, e.g. the server shutting down): the next query of a transaction in flight then throws one of
 * these instead of the connection's own error.
 */
const RELEASED_RUNNER = [QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError];

/** How deep TypeORM's `driverError` and an AggregateError's `errors` are followed. */
const MAX_DEPTH = 4;

/** The storage fault behind `error`, or undefined when it is something else (a bug, a constraint). */
export function storageFaultOf(error: unknown, depth = 0): StorageFault | undefined {
  if (typeof error !== 'object' || error === null || depth > MAX_DEPTH) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  const reason = typeof code === 'string' ? reasonOfCode(code) : undefined;
  if (reason !== undefined) return { reason, code: code as string, message: text };
  if (PG_CONNECTION_MESSAGE.test(text)) {
    return { reason: STORAGE_UNAVAILABLE, code: 'connection', message: text };
  }
  if (RELEASED_RUNNER.some((type) => error instanceof type)) {
    return { reason: STORAGE_UNAVAILABLE, code: 'connection lost', message: text };
  }
  // TypeORM's driverError, and an AggregateError's errors (a connection tried on several addresses).
  // Not `cause`: a host handler's failed fetch() carries its ECONNREFUSED there, and is no database's.
  const { driverError, errors } = error as { driverError?: unknown; errors?: unknown };
  for (const inner of [driverError, ...(Array.isArray(errors) ? (errors as unknown[]) : [])]) {
    const fault = storageFaultOf(inner, depth + 1);
    if (fault !== undefined) return fault;
  }
  return undefined;
}

function reasonOfCode(code: string): StorageFaultReason | undefined {
  // SQLite: the file or its disk is full (or PRAGMA max_page_count reached); PostgreSQL's disk_full.
  if (code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC' || code === 'EDQUOT')
    return STORAGE_FULL;
  if (NETWORK_CODES.has(code) || PG_UNAVAILABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code)) {
    return STORAGE_UNAVAILABLE;
  }
  // SQLite (extended codes included): the file cannot be read, written, opened or locked in time.
  if (/^SQLITE_(IOERR|CANTOPEN|BUSY|READONLY)/.test(code)) return STORAGE_UNAVAILABLE;
  return undefined;
}

/** The message the client gets with each reason (no driver detail is ever sent). */
export const STORAGE_FAULT_MESSAGE: Readonly<Record<StorageFaultReason, string>> = {
  [STORAGE_UNAVAILABLE]: 'Storage unavailable: the request was not carried out; try again later',
  [STORAGE_FULL]: 'Storage full: the request was not carried out',
};
