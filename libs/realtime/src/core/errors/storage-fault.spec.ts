// Which errors are a database that is down or full, as the drivers throw them, and what the client
// gets for each: INTERNAL_ERROR with the reason, never the driver's message.
import {
  QueryFailedError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';
import { STORAGE_FULL, STORAGE_UNAVAILABLE } from '../../protocol';
import { RealtimeError, toRealtimeError } from './realtime-error';
import { storageFaultOf } from './storage-fault';

function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('storageFaultOf', () => {
  it.each([
    [
      'a refused connection (pg pool)',
      coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      'ECONNREFUSED',
    ],
    [
      'an admin shutdown (57P01)',
      coded('terminating connection due to administrator command', '57P01'),
      '57P01',
    ],
    ['a server starting up (57P03)', coded('the database system is starting up', '57P03'), '57P03'],
    ['a connection exception (08006)', coded('connection failure', '08006'), '08006'],
    ['too many connections (53300)', coded('sorry, too many clients already', '53300'), '53300'],
    [
      'a read-only standby (25006)',
      coded('cannot execute INSERT in a read-only transaction', '25006'),
      '25006',
    ],
    ['a locked SQLite file', coded('database is locked', 'SQLITE_BUSY'), 'SQLITE_BUSY'],
    ['a SQLite I/O error', coded('disk I/O error', 'SQLITE_IOERR_WRITE'), 'SQLITE_IOERR_WRITE'],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly'), 'connection'],
    ['a pool timeout', new Error('timeout exceeded when trying to connect'), 'connection'],
  ])('%s is storage_unavailable', (_, error, code) => {
    expect(storageFaultOf(error)).toEqual({ reason: STORAGE_UNAVAILABLE, code, message: error.message });
  });

  it.each([
    ['SQLITE_FULL', coded('database or disk is full', 'SQLITE_FULL')],
    ["PostgreSQL's disk_full", coded('could not extend file: No space left on device', '53100')],
    ['ENOSPC', coded('no space left on device', 'ENOSPC')],
  ])('%s is storage_full', (_, error) => {
    expect(storageFaultOf(error)?.reason).toBe(STORAGE_FULL);
  });

  it.each([new QueryRunnerAlreadyReleasedError(), new QueryRunnerProviderAlreadyReleasedError()])(
    "TypeORM's %p (a transaction whose PostgreSQL connection failed) is storage_unavailable",
    (error) => {
      expect(storageFaultOf(error)).toEqual({
        reason: STORAGE_UNAVAILABLE,
        code: 'connection lost',
        message: error.message,
      });
    },
  );

  it("finds the driver's error inside TypeORM's QueryFailedError and an AggregateError", () => {
    const driver = coded('database or disk is full', 'SQLITE_FULL');
    expect(storageFaultOf(new QueryFailedError('INSERT …', [], driver))?.code).toBe('SQLITE_FULL');
    const refused = coded('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED');
    expect(storageFaultOf(new AggregateError([refused], 'all attempts failed'))?.code).toBe('ECONNREFUSED');
  });

  it.each([
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a constraint', coded('duplicate key value violates unique constraint', '23505')],
    ['a SQLite constraint', coded('UNIQUE constraint failed: rt_users.username', 'SQLITE_CONSTRAINT_UNIQUE')],
    ['a RealtimeError', RealtimeError.invalidFormat('bad')],
    ['a string', 'ECONNREFUSED'],
    // A host handler's failed fetch(): the network error is its cause, and no database's.
    [
      "another service's refused connection",
      new TypeError('fetch failed', { cause: coded('connect ECONNREFUSED 10.0.0.9:443', 'ECONNREFUSED') }),
    ],
    // pg's message, quoted inside another error's message, is not pg's error.
    ['a message quoting a driver message', new SyntaxError('Unexpected token "x is not queryable" in JSON')],
    ['nothing', undefined],
  ])('%s is no storage fault', (_, error) => {
    expect(storageFaultOf(error)).toBeUndefined();
  });

  it('does not follow driver errors without end', () => {
    const loop: Error & { driverError?: unknown } = new Error('loop');
    loop.driverError = loop;
    expect(storageFaultOf(loop)).toBeUndefined();
  });
});

describe('toRealtimeError of a storage fault', () => {
  it('is INTERNAL_ERROR with the reason and a message that names no driver detail', () => {
    expect(toRealtimeError(coded('connect ECONNREFUSED 10.0.0.5:5432', 'ECONNREFUSED')).toPayload()).toEqual({
      code: 'INTERNAL_ERROR',
      message: 'Storage unavailable: the request was not carried out; try again later',
      details: { reason: STORAGE_UNAVAILABLE },
    });
    expect(toRealtimeError(coded('database or disk is full', 'SQLITE_FULL')).toPayload()).toEqual({
      code: 'INTERNAL_ERROR',
      message: 'Storage full: the request was not carried out',
      details: { reason: STORAGE_FULL },
    });
  });
});
