// Write transactions on the library's connection. SQLite (better-sqlite3) has one connection that
// TypeORM shares: two transactions overlapping across an await fail ("cannot start a transaction
// within a transaction", and the first then fails to commit). Every writer of the library goes
// through here, so on SQLite its transactions run one after the other; on PostgreSQL each takes
// its own pool connection.
//
// Hot writers (a chat or room message) can run their transaction synchronously on the native
// better-sqlite3 connection (`WriteQueue.sqliteTransaction`): no await inside it, so nothing can
// interleave, and none of TypeORM's per-transaction query runner, entity manager and events.
import type { DataSource, EntityManager } from 'typeorm';

/** The part of a better-sqlite3 prepared statement the library uses. */
export interface NativeSqliteStatement {
  run(...parameters: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...parameters: unknown[]): unknown;
  /** Every row, as objects keyed by column name (or first-column values once plucked). */
  all(...parameters: unknown[]): unknown[];
  /** From now on `get()` returns the first column's value rather than the row; returns the statement. */
  pluck(toggle?: boolean): NativeSqliteStatement;
}

/** The part of a better-sqlite3 connection the library uses. */
export interface NativeSqlite {
  prepare(sql: string): NativeSqliteStatement;
  transaction<A extends unknown[], R>(work: (...args: A) => R): (...args: A) => R;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  readonly inTransaction: boolean;
  readonly open: boolean;
}

/** Prepared statements of one native connection, by SQL (made again if the connection changes). */
export class PreparedStatements {
  private readonly statements = new Map<string, NativeSqliteStatement>();
  private of: NativeSqlite | null = null;

  /** The statement of `sql` on `db`; `pluck`: `get()` returns the first column's value. */
  get(db: NativeSqlite, sql: string, pluck = false): NativeSqliteStatement {
    if (this.of !== db) {
      this.statements.clear();
      this.of = db;
    }
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = pluck ? db.prepare(sql).pluck() : db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** The native better-sqlite3 connection behind a DataSource, or null for another driver. */
export function nativeSqlite(dataSource: DataSource): NativeSqlite | null {
  if (dataSource.options.type !== 'better-sqlite3') return null;
  const { databaseConnection } = dataSource.driver as unknown as { databaseConnection?: NativeSqlite };
  return databaseConnection ?? null;
}

/** A native write waiting in a batch, with its promise's settlers. */
interface BatchedWrite {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface WriteBatch {
  db: NativeSqlite;
  writes: BatchedWrite[];
}

/**
 * The library's write transactions on one DataSource, one object per connection (shared by every
 * store of it). On SQLite they run one after the other; on another database each runs at once.
 */
export class WriteQueue {
  /** Settles when the last queued transaction has ended. */
  private tail: Promise<void> = Promise.resolve();
  /** Transactions queued or running. */
  private pending = 0;
  private readonly sqlite: boolean;
  /**
   * One better-sqlite3 transaction function, running the work it is given. Making one per call
   * (`db.transaction(work)()`) builds four wrapper functions and defines their properties on every
   * message.
   */
  private runner: { db: NativeSqlite; run: (work: () => unknown) => unknown } | null = null;
  /** The native writes waiting for their turn, committed together (see `sqliteTransaction`). */
  private batch: WriteBatch | null = null;
  /** A native write ran at once in this turn of the event loop (reset by setImmediate). */
  private ranThisTurn = false;
  private readonly endTurn = (): void => {
    this.ranThisTurn = false;
  };

  constructor(private readonly dataSource: DataSource) {
    const type = dataSource.options.type as string;
    this.sqlite = type === 'better-sqlite3' || type === 'sqlite';
  }

  /** A TypeORM transaction, in turn with the other writers on SQLite. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.sqlite) return this.dataSource.transaction(work);
    return this.enqueueAfterBatch(() => this.dataSource.transaction(work));
  }

  /**
   * One write of its own (a statement TypeORM runs outside any transaction). On SQLite it waits for
   * the transactions before it: run on the shared connection while another writer's transaction is
   * open, it would be part of that transaction, and lost if it rolled back. Elsewhere it runs at once.
   */
  write<T>(work: () => Promise<T>): Promise<T> {
    // Queued even when nothing else is: TypeORM awaits before it sends the statement, and a
    // transaction begun meanwhile would take it in.
    if (!this.sqlite) return work();
    return this.enqueueAfterBatch(work);
  }

  /**
   * Queues a TypeORM write: the native writes that come after it must commit after it, so the batch
   * still waiting takes none of them any more (they start the next one, queued behind this write).
   */
  private enqueueAfterBatch<T>(run: () => Promise<T>): Promise<T> {
    this.batch = null;
    return this.enqueue(run);
  }

  /**
   * Runs `work` as one synchronous transaction on the native connection, in turn with the other
   * write transactions. The first of a turn of the event loop runs at once when none is queued; the
   * others (a burst: many joins, messages past one per turn) are committed together once the turn's
   * callbacks have run, each in a savepoint of its own (see `runBatch`). `work` must not await.
   */
  sqliteTransaction<T>(db: NativeSqlite, work: () => T): Promise<T> {
    if (this.pending === 0 && !this.ranThisTurn) {
      this.ranThisTurn = true;
      setImmediate(this.endTurn);
      try {
        return Promise.resolve(this.runAlone(db, work));
      } catch (error: unknown) {
        // As thrown: a SqliteError keeps its code (SQLITE_FULL…), which the storage fault log reads.
        // (Wrapping what is not `instanceof Error` lost it: the native module's errors may come from
        // another realm, as under jest.)
        const thrown = error as Error;
        return Promise.reject(thrown);
      }
    }
    return new Promise<T>((resolve, reject) => {
      const write: BatchedWrite = { work, resolve: resolve as (value: unknown) => void, reject };
      if (this.batch !== null && this.batch.db === db) {
        this.batch.writes.push(write);
        return;
      }
      const batch: WriteBatch = { db, writes: [write] };
      this.batch = batch;
      // In turn with the queue; once its turn comes, after the callbacks of the event loop's turn
      // (setImmediate), so that the writes they make join it.
      void this.enqueue(
        () =>
          new Promise<void>((done) =>
            setImmediate(() => {
              if (this.batch === batch) this.batch = null;
              this.runBatch(batch);
              done();
            }),
          ),
      );
    });
  }

  /** One write in a transaction of its own. */
  private runAlone<T>(db: NativeSqlite, work: () => T): T {
    if (db.inTransaction) {
      // A TypeORM transaction outside the queue is open: joining it would commit or lose this
      // write with it. Refuse instead (a bug of the library if it ever happens).
      throw new Error('A SQLite transaction outside the write queue is open');
    }
    return this.inTransaction(db, work);
  }

  /**
   * The writes of a batch in one transaction, each in a savepoint: one that throws is undone alone
   * and rejected with its error, the others commit together. When the transaction itself fails
   * (COMMIT, or an error after which SQLite rolled the whole transaction back: SQLITE_FULL,
   * SQLITE_IOERR…), nothing of the batch is stored and every write of it is rejected.
   */
  private runBatch({ db, writes }: WriteBatch): void {
    if (writes.length === 1) {
      const [only] = writes as [BatchedWrite];
      try {
        only.resolve(this.runAlone(db, only.work));
      } catch (error: unknown) {
        only.reject(error);
      }
      return;
    }
    const results = new Array<unknown>(writes.length);
    const failures = new Map<number, unknown>();
    let abortedBy: { error: unknown } | null = null;
    try {
      // One transaction, as a lone write's; the same transaction function, called inside it, makes
      // the savepoints.
      this.runAlone(db, () => {
        for (let index = 0; index < writes.length; index++) {
          try {
            // Inside the batch's transaction: a savepoint.
            results[index] = this.inTransaction(db, writes[index]!.work);
          } catch (error: unknown) {
            failures.set(index, error);
            if (!db.inTransaction) {
              // SQLite rolled the whole transaction back: the writes before are gone too, and the
              // next ones must not run in transactions of their own.
              abortedBy = { error };
              throw error;
            }
          }
        }
      });
    } catch (error: unknown) {
      const cause = (abortedBy as { error: unknown } | null)?.error ?? error;
      for (const write of writes) write.reject(cause);
      return;
    }
    writes.forEach((write, index) => {
      if (failures.has(index)) write.reject(failures.get(index));
      else write.resolve(results[index]);
    });
  }

  private inTransaction<T>(db: NativeSqlite, work: () => T): T {
    if (this.runner?.db !== db) {
      this.runner = { db, run: db.transaction((next: () => unknown) => next()) };
    }
    return this.runner.run(work) as T;
  }

  /** Appends `run` to the queue; the queue goes on whether it succeeds or fails. */
  private enqueue<T>(run: () => T | Promise<T>): Promise<T> {
    this.pending += 1;
    const result = this.tail.then(run);
    const done = (): void => {
      this.pending -= 1;
    };
    this.tail = result.then(done, done);
    return result;
  }
}
