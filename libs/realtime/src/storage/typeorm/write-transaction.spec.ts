// WriteQueue on one SQLite connection: overlapping transactions of different writers all
// commit, each whole; a failing one rolls back alone and does not stop the queue.
import type { DataSource, EntityManager } from 'typeorm';
import { LogEntryEntity } from './entities/log-entry.entity';
import { nativeSqlite, WriteQueue, type NativeSqlite } from './write-transaction';
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

describe('WriteQueue (SQLite)', () => {
  let dataSource: DataSource;
  let writes: WriteQueue;

  beforeEach(async () => {
    dataSource = await memoryDataSource();
    writes = new WriteQueue(dataSource);
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
    await Promise.all(prefixes.map((prefix) => writes.transaction((m) => twoInserts(m, prefix))));
    expect(await count()).toBe(40);
  });

  it('rolls back a failing transaction alone and runs the next ones', async () => {
    const failing = writes.transaction(async (manager) => {
      await manager.insert(LogEntryEntity, row('doomed'));
      throw new Error('refused');
    });
    const after = writes.transaction((manager) => twoInserts(manager, 'after'));
    await expect(failing).rejects.toThrow('refused');
    await after;
    const ids = (await dataSource.getRepository(LogEntryEntity).find({ order: { id: 'ASC' } })).map(
      (r) => r.id,
    );
    expect(ids).toEqual(['after-a', 'after-b']);
  });

  describe('synchronous transactions on the native connection', () => {
    let db: NativeSqlite;

    beforeEach(() => {
      db = nativeSqlite(dataSource)!;
    });

    const insertSync = (id: string): void => {
      db.prepare(
        "INSERT INTO rt_log_entries (id, app_id, timestamp, level, message, metadata, user_id) VALUES (?, 'app', 1, 'info', ?, NULL, 'u')",
      ).run(id, id);
    };
    const idsInOrder = (): string[] =>
      (
        dataSource.driver as unknown as {
          databaseConnection: { prepare(sql: string): { all(): Array<{ id: string }> } };
        }
      ).databaseConnection
        .prepare('SELECT id FROM rt_log_entries ORDER BY rowid')
        .all()
        .map((r) => r.id);

    it('runs at once when nothing is queued, after the queued ones otherwise, in order', async () => {
      await writes.sqliteTransaction(db, () => insertSync('first'));
      const spanning = writes.transaction((m) => twoInserts(m, 'async'));
      const sync = writes.sqliteTransaction(db, () => insertSync('sync'));
      const last = writes.transaction((m) => twoInserts(m, 'later'));
      await Promise.all([spanning, sync, last]);
      expect(idsInOrder()).toEqual(['first', 'async-a', 'async-b', 'sync', 'later-a', 'later-b']);
    });

    it('rolls back a synchronous transaction that throws, alone, and the queue goes on', async () => {
      const failing = writes.sqliteTransaction(db, () => {
        insertSync('doomed');
        throw new Error('refused');
      });
      await expect(failing).rejects.toThrow('refused');
      const queuedFailing = writes.transaction((m) => twoInserts(m, 'a'));
      const queued = writes.sqliteTransaction(db, () => {
        insertSync('doomed-too');
        throw new Error('refused again');
      });
      await queuedFailing;
      await expect(queued).rejects.toThrow('refused again');
      await writes.sqliteTransaction(db, () => insertSync('after'));
      expect(idsInOrder()).toEqual(['a-a', 'a-b', 'after']);
    });

    /** A new turn of the event loop: its first native write runs at once. */
    const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    it("runs the first write of a turn at once and commits the turn's next ones together after it", async () => {
      await nextTurn();
      const first = writes.sqliteTransaction(db, () => insertSync('first'));
      expect(idsInOrder()).toEqual(['first']);
      const batches = jest.spyOn(
        writes as unknown as { runBatch: (batch: { writes: unknown[] }) => void },
        'runBatch',
      );
      const next = ['second', 'third', 'fourth'].map((id) =>
        writes.sqliteTransaction(db, () => insertSync(id)),
      );
      // Not yet: they wait for the turn's other callbacks.
      await Promise.resolve();
      expect(idsInOrder()).toEqual(['first']);
      await Promise.all([first, ...next]);
      expect(idsInOrder()).toEqual(['first', 'second', 'third', 'fourth']);
      // The three in one transaction: one batch, holding them all.
      expect(batches).toHaveBeenCalledTimes(1);
      expect(batches.mock.calls[0]![0].writes).toHaveLength(3);
    });

    it('keeps the call order of native writes around a TypeORM write queued while a batch waits', async () => {
      await nextTurn();
      await writes.sqliteTransaction(db, () => insertSync('first'));
      const before = writes.sqliteTransaction(db, () => insertSync('batched-before'));
      const typeorm = writes.transaction((m) => twoInserts(m, 'typeorm'));
      const after = writes.sqliteTransaction(db, () => insertSync('batched-after'));
      const written = writes.write(() => dataSource.getRepository(LogEntryEntity).insert(row('written')));
      const last = writes.sqliteTransaction(db, () => insertSync('last'));
      await Promise.all([before, typeorm, after, written, last]);
      expect(idsInOrder()).toEqual([
        'first',
        'batched-before',
        'typeorm-a',
        'typeorm-b',
        'batched-after',
        'written',
        'last',
      ]);
    });

    it('gives each write of a batch its own result, and undoes one that throws alone', async () => {
      await nextTurn();
      await writes.sqliteTransaction(db, () => insertSync('alone'));
      const outcomes = await Promise.allSettled([
        writes.sqliteTransaction(db, () => {
          insertSync('kept-1');
          return 1;
        }),
        writes.sqliteTransaction(db, () => {
          insertSync('doomed');
          throw new Error('refused');
        }),
        writes.sqliteTransaction(db, () => {
          insertSync('kept-2');
          return 2;
        }),
      ]);
      expect(outcomes).toEqual([
        { status: 'fulfilled', value: 1 },
        { status: 'rejected', reason: new Error('refused') },
        { status: 'fulfilled', value: 2 },
      ]);
      expect(idsInOrder()).toEqual(['alone', 'kept-1', 'kept-2']);
      // The queue goes on.
      await writes.sqliteTransaction(db, () => insertSync('after'));
      expect(idsInOrder()).toEqual(['alone', 'kept-1', 'kept-2', 'after']);
    });

    it('reports every write of a batch as the database has it when the database is full', async () => {
      await nextTurn();
      await writes.sqliteTransaction(db, () => insertSync('before'));
      const pages = Number(db.pragma('page_count', { simple: true }));
      db.pragma(`max_page_count = ${pages + 2}`);
      const big = 'x'.repeat(64 * 1024);
      const insertBig = (id: string): void => {
        db.prepare(
          "INSERT INTO rt_log_entries (id, app_id, timestamp, level, message, metadata, user_id) VALUES (?, 'app', 1, 'info', ?, NULL, 'u')",
        ).run(id, big);
      };
      const ids = ['small-1', 'big', 'small-2'];
      const outcomes = await Promise.allSettled(
        ids.map((id) => writes.sqliteTransaction(db, () => (id === 'big' ? insertBig(id) : insertSync(id)))),
      );
      db.pragma('max_page_count = 1073741823');
      const stored = idsInOrder();
      // The big row did not fit: refused with SQLite's code; nothing is reported stored that is not,
      // nor refused that is.
      expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_FULL' } });
      ids.forEach((id, index) => {
        expect({ id, stored: stored.includes(id) }).toEqual({
          id,
          stored: outcomes[index]!.status === 'fulfilled',
        });
      });
      await writes.sqliteTransaction(db, () => insertSync('after'));
      expect(idsInOrder()).toContain('after');
    });

    it('fails every write of a batch whose transaction SQLite rolled back, and stores none of them', async () => {
      await nextTurn();
      await writes.sqliteTransaction(db, () => insertSync('before'));
      // What SQLite does on some errors (SQLITE_IOERR, SQLITE_NOMEM…): the whole transaction is gone.
      const ioError = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
      const outcomes = await Promise.allSettled([
        writes.sqliteTransaction(db, () => insertSync('rolled-back')),
        writes.sqliteTransaction(db, () => {
          insertSync('failing');
          db.prepare('ROLLBACK').run();
          throw ioError;
        }),
        writes.sqliteTransaction(db, () => insertSync('never-run')),
      ]);
      expect(outcomes).toEqual([
        { status: 'rejected', reason: ioError },
        { status: 'rejected', reason: ioError },
        { status: 'rejected', reason: ioError },
      ]);
      expect(idsInOrder()).toEqual(['before']);
      await writes.sqliteTransaction(db, () => insertSync('after'));
      expect(idsInOrder()).toEqual(['before', 'after']);
    });

    it('refuses to run inside a transaction opened outside the queue instead of joining it', async () => {
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      try {
        await expect(writes.sqliteTransaction(db, () => insertSync('inside'))).rejects.toThrow(
          'A SQLite transaction outside the write queue is open',
        );
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
      expect(idsInOrder()).toEqual([]);
    });
  });
});
