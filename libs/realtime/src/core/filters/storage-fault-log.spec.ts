// One error line when an outage starts, a reminder with the count while it lasts, one line when
// storage works again: never a line per refused request.
import { Logger } from '@nestjs/common';
import { STORAGE_FULL, STORAGE_UNAVAILABLE } from '../../protocol';
import type { StorageFault } from '../errors/storage-fault';
import { STORAGE_FAULT_REMINDER_MS, STORAGE_FAULT_SETTLE_MS, StorageFaultLog } from './storage-fault-log';

const refused: StorageFault = {
  reason: STORAGE_UNAVAILABLE,
  code: 'ECONNREFUSED',
  message: 'connect ECONNREFUSED 127.0.0.1:5432',
};
const full: StorageFault = { reason: STORAGE_FULL, code: 'SQLITE_FULL', message: 'database or disk is full' };

describe('StorageFaultLog', () => {
  let lines: Array<[string, string]>;

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    lines = [];
    for (const level of ['error', 'warn', 'log'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
        lines.push([level, String(args[0])]);
      });
    }
  });

  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('writes one line for an outage of many refused requests, and one with the count when it ends', () => {
    const log = new StorageFaultLog();
    for (let n = 0; n < 500; n++) log.refused(refused);
    expect(log.current).toEqual({ reason: STORAGE_UNAVAILABLE, since: 1_700_000_000_000, refused: 500 });
    jest.advanceTimersByTime(2_500);
    log.worked();
    log.worked();
    expect(lines).toEqual([
      [
        'error',
        'Storage unavailable (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:5432): requests that need it are ' +
          'answered INTERNAL_ERROR with details.reason "storage_unavailable" until it works again',
      ],
      ['log', 'Storage works again after 2.5 s of storage_unavailable: 500 request(s) were refused'],
    ]);
    expect(log.current).toBeNull();
  });

  it('reminds with the count at most once a window while the outage lasts', () => {
    const log = new StorageFaultLog();
    log.refused(refused);
    jest.advanceTimersByTime(STORAGE_FAULT_REMINDER_MS - 1);
    log.refused(refused);
    jest.advanceTimersByTime(1);
    log.refused(refused);
    log.refused(refused);
    expect(lines.slice(1)).toEqual([
      ['warn', 'Still storage_unavailable after 60.0 s: 3 request(s) refused so far'],
    ]);
  });

  it('is not ended by a request served within the settle time of a refused one (a database shutting down)', () => {
    const log = new StorageFaultLog();
    log.refused(refused);
    jest.advanceTimersByTime(STORAGE_FAULT_SETTLE_MS - 1);
    log.worked();
    log.refused(refused);
    jest.advanceTimersByTime(STORAGE_FAULT_SETTLE_MS - 1);
    log.worked();
    expect(log.current?.refused).toBe(2);
    jest.advanceTimersByTime(1);
    log.worked();
    expect(lines.map(([level]) => level)).toEqual(['error', 'log']);
    expect(lines[1]?.[1]).toBe(
      'Storage works again after 2.0 s of storage_unavailable: 2 request(s) were refused',
    );
  });

  it('starts a new outage line when the cause changes', () => {
    const log = new StorageFaultLog();
    log.refused(refused);
    log.refused(full);
    log.refused(full);
    expect(lines.map(([level, message]) => [level, message.slice(0, 30)])).toEqual([
      ['error', 'Storage unavailable (ECONNREFU'],
      ['error', 'Storage full (SQLITE_FULL: dat'],
    ]);
    expect(log.current?.refused).toBe(2);
  });

  it('writes nothing when storage works without an outage', () => {
    new StorageFaultLog().worked();
    expect(lines).toEqual([]);
  });
});
