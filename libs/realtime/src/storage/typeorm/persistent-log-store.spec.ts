// The persisted log buffer on a real SQLite database with the library's migrations.
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { LogEntry } from '../../protocol';
import { LogEntryEntity } from './entities/log-entry.entity';
import { PersistentLogStore } from './persistent-log-store';
import { WriteQueue } from './write-transaction';
import { memoryDataSource } from './memory-data-source.helper-spec';

const entry = (n: number, appId = 'app', metadata?: unknown): LogEntry => ({
  id: `${String(1_700_000_000_000 + n).padStart(13, '0')}-${String(n).padStart(10, '0')}-abcdef`,
  timestamp: 1_700_000_000_000 + n,
  level: n % 2 === 0 ? 'info' : 'error',
  message: `message ${n}`,
  ...(metadata === undefined ? {} : { metadata }),
  appId,
  userId: 'u1',
});

describe('PersistentLogStore', () => {
  let dataSource: DataSource;

  beforeEach(async () => {
    dataSource = await memoryDataSource();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await dataSource.destroy();
  });

  const storedIds = async (appId: string) =>
    (await dataSource.getRepository(LogEntryEntity).find({ where: { appId }, order: { id: 'ASC' } })).map(
      (row) => row.id,
    );

  it('writes entries, keeps only the newest `capacity` rows per app, and reads from memory', async () => {
    const store = new PersistentLogStore(dataSource, 3, new WriteQueue(dataSource));
    store.append('app', [entry(1), entry(2)]);
    store.append('other', [entry(10, 'other')]);
    store.append('app', [entry(3), entry(4), entry(5)]);
    expect(store.recent('app', 10).map((e) => e.message)).toEqual(['message 3', 'message 4', 'message 5']);
    await store.flush();
    expect(store.unwritten).toBe(0);
    expect(await storedIds('app')).toEqual([entry(3).id, entry(4).id, entry(5).id]);
    expect(await storedIds('other')).toEqual([entry(10, 'other').id]);
  });

  it('writes each batch on SQLite as one native transaction, trimming each app to its newest `capacity`', async () => {
    const typeormTransactions = jest.spyOn(dataSource, 'transaction');
    const store = new PersistentLogStore(dataSource, 3, new WriteQueue(dataSource));
    for (let n = 1; n <= 7; n += 2) {
      store.append('app', [entry(n), entry(n + 1)]);
      store.append('other', [entry(100 + n, 'other')]);
      await store.flush();
      // After every batch, not only in the end: the table stays within the bound.
      expect((await storedIds('app')).length).toBeLessThanOrEqual(3);
    }
    expect(await storedIds('app')).toEqual([entry(6).id, entry(7).id, entry(8).id]);
    expect(await storedIds('other')).toEqual([103, 105, 107].map((n) => entry(n, 'other').id));
    expect(typeormTransactions).not.toHaveBeenCalled();
  });

  it('writes what is appended within the write delay later, as one transaction, without flush()', async () => {
    const writes = new WriteQueue(dataSource);
    const transactions = jest.spyOn(writes, 'sqliteTransaction');
    const store = new PersistentLogStore(dataSource, 10, writes);
    store.append('app', [entry(1)]);
    store.append('other', [entry(2, 'other')]);
    store.append('app', [entry(3), entry(4)]);
    // Nothing written by append itself: the write comes after the entries' delivery.
    await new Promise((resolve) => setImmediate(resolve));
    expect(transactions).not.toHaveBeenCalled();
    expect(store.unwritten).toBe(4);

    const deadline = Date.now() + 5_000;
    while (store.unwritten > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await store.flush();
    expect(transactions).toHaveBeenCalledTimes(1);
    expect(await storedIds('app')).toEqual([entry(1).id, entry(3).id, entry(4).id]);
    expect(await storedIds('other')).toEqual([entry(2, 'other').id]);
  });

  it('writes at once past a thousand waiting entries, on flush(), and once shutdown has begun', async () => {
    const writes = new WriteQueue(dataSource);
    const transactions = jest.spyOn(writes, 'sqliteTransaction');
    const store = new PersistentLogStore(dataSource, 2000, writes);
    store.append(
      'app',
      Array.from({ length: 999 }, (_, i) => entry(i + 1)),
    );
    expect(transactions).not.toHaveBeenCalled();
    store.append('app', [entry(1000)]);
    expect(transactions).toHaveBeenCalledTimes(1);
    expect(store.unwritten).toBe(0);

    store.append('app', [entry(1001)]);
    await store.flush();
    expect(transactions).toHaveBeenCalledTimes(2);
    expect(store.unwritten).toBe(0);

    await store.onApplicationShutdown();
    store.append('app', [entry(1002)]);
    expect(transactions).toHaveBeenCalledTimes(3);
    expect(store.unwritten).toBe(0);
    expect((await storedIds('app')).length).toBe(1002);
  });

  it('loads what was stored into a new store: same entries, metadata and order', async () => {
    const first = new PersistentLogStore(dataSource, 4, new WriteQueue(dataSource));
    const written = [entry(1, 'app', { nested: { n: 1 }, list: [1, 2] }), entry(2), entry(3, 'app', 'text')];
    first.append('app', written);
    first.append('b', [entry(7, 'b')]);
    await first.flush();

    const second = new PersistentLogStore(dataSource, 4, new WriteQueue(dataSource));
    await second.load();
    expect(second.recent('app', 10)).toEqual(written);
    expect(second.recent('b', 10)).toEqual([entry(7, 'b')]);
    expect(second.recent('app', 2)).toEqual(written.slice(1));
  });

  it('keeps entries published on another node in memory only (their node writes them)', async () => {
    const store = new PersistentLogStore(dataSource, 10, new WriteQueue(dataSource));
    store.append('app', [entry(1)], 'remote');
    store.append('app', [entry(2)], 'local');
    await store.flush();
    expect(store.recent('app', 10).map((e) => e.id)).toEqual([entry(1).id, entry(2).id]);
    expect(await storedIds('app')).toEqual([entry(2).id]);
  });

  it('keeps a failed write and retries it until the database accepts it', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const store = new PersistentLogStore(dataSource, 10, new WriteQueue(dataSource));
    await dataSource.query('ALTER TABLE rt_log_entries RENAME TO rt_log_entries_away');
    store.append('app', [entry(1), entry(2)]);
    await store.flush();
    expect(store.unwritten).toBe(2);
    expect(errors).toHaveBeenCalledWith(
      expect.stringContaining('Writing 2 log entries failed'),
      expect.any(String),
    );

    await dataSource.query('ALTER TABLE rt_log_entries_away RENAME TO rt_log_entries');
    store.append('app', [entry(3)]);
    const deadline = Date.now() + 5_000;
    while (store.unwritten > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await store.flush();
    expect(store.unwritten).toBe(0);
    expect(await storedIds('app')).toEqual([entry(1).id, entry(2).id, entry(3).id]);
  });

  it('writes what is left at shutdown, and reports what it cannot write', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const store = new PersistentLogStore(dataSource, 10, new WriteQueue(dataSource));
    store.append('app', [entry(1)]);
    await store.onApplicationShutdown();
    expect(await storedIds('app')).toEqual([entry(1).id]);

    await dataSource.query('DROP TABLE rt_log_entries');
    store.append('app', [entry(2)]);
    await store.onApplicationShutdown();
    expect(errors).toHaveBeenCalledWith('1 log entries could not be written to the database');
  });
});
