// writeTransaction on one SQLite connection: overlapping transactions of different writers all
// commit, each whole; a failing one rolls back alone and does not stop the queue.
import type { DataSource, EntityManager } from 'typeorm';
import { LogEntryEntity } from './entities/log-entry.entity';
import { writeTransaction } from './write-transaction';
import { memoryDataSource } from './memory-data-source.helper-spec';

const row = (id: string): LogEntryEntity =>
  Object.assign(new LogEntryEntity(), {
    id,
    appId: 'app',
    timestamp: 1,
    level: 'info',
    message: id,
    metadata: null,
    userId: 'u',
  });

/** Two inserts with an await between them: a transaction that spans the event loop. */
async function twoInserts(manager: EntityManager, prefix: string): Promise<void> {
  await manager.insert(LogEntryEntity, row(`${prefix}-a`));
  await new Promise((resolve) => setImmediate(resolve));
  await manager.insert(LogEntryEntity, row(`${prefix}-b`));
}

describe('writeTransaction (SQLite)', () => {
  let dataSource: DataSource;

  beforeEach(async () => {
    dataSource = await memoryDataSource();
  });

  afterEach(async () => {
    await dataSource.destroy();
  });

  const count = () => dataSource.getRepository(LogEntryEntity).count();

  it('is needed: plain overlapping transactions on the shared connection fail', async () => {
    const results = await Promise.allSettled(
      ['x', 'y', 'z'].map((prefix) => dataSource.transaction((manager) => twoInserts(manager, prefix))),
    );
    expect(results.some((result) => result.status === 'rejected')).toBe(true);
  });

  it('commits every overlapping transaction, each with both of its rows', async () => {
    const prefixes = Array.from({ length: 20 }, (_, i) => `t${i}`);
    await Promise.all(prefixes.map((prefix) => writeTransaction(dataSource, (m) => twoInserts(m, prefix))));
    expect(await count()).toBe(40);
  });

  it('rolls back a failing transaction alone and runs the next ones', async () => {
    const failing = writeTransaction(dataSource, async (manager) => {
      await manager.insert(LogEntryEntity, row('doomed'));
      throw new Error('refused');
    });
    const after = writeTransaction(dataSource, (manager) => twoInserts(manager, 'after'));
    await expect(failing).rejects.toThrow('refused');
    await after;
    const ids = (await dataSource.getRepository(LogEntryEntity).find({ order: { id: 'ASC' } })).map(
      (r) => r.id,
    );
    expect(ids).toEqual(['after-a', 'after-b']);
  });
});
