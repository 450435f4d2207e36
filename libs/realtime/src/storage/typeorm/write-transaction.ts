// Write transactions on the library's connection. SQLite (better-sqlite3) has one connection that
// TypeORM shares: two transactions overlapping across an await fail ("cannot start a transaction
// within a transaction", and the first then fails to commit). Every writer of the library goes
// through here, so on SQLite its transactions run one after the other; on PostgreSQL each takes
// its own pool connection.
//
// Hot writers (a chat or room message) can run their transaction synchronously on the native
// better-sqlite3 connection (`sqliteWriteTransaction`): no await inside it, so nothing can
// interleave, and none of TypeORM's per-transaction query runner, entity manager and events.
import type { DataSource, EntityManager } from 'typeorm';

/** The part of a better-sqlite3 prepared statement the library uses. */
export interface NativeSqliteStatement {
  run(...parameters: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...parameters: unknown[]): unknown;
}

/** The part of a better-sqlite3 connection the library uses. */
export interface NativeSqlite {
  prepare(sql: string): NativeSqliteStatement;
  transaction<A extends unknown[], R>(work: (...args: A) => R): (...args: A) => R;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  readonly inTransaction: boolean;
  readonly open: boolean;
}

interface WriteQueue {
  /** Settles when the last queued transaction has ended. */
  tail: Promise<void>;
  /** Transactions queued or running. */
  pending: number;
}

/** One queue per SQLite DataSource. */
const sqliteQueues = new WeakMap<DataSource, WriteQueue>();

function isSqlite(dataSource: DataSource): boolean {
  const type = dataSource.options.type;
  return type === 'better-sqlite3' || type === 'sqlite';
}

function queueOf(dataSource: DataSource): WriteQueue {
  let queue = sqliteQueues.get(dataSource);
  if (queue === undefined) {
    queue = { tail: Promise.resolve(), pending: 0 };
    sqliteQueues.set(dataSource, queue);
  }
  return queue;
}

/** Appends `run` to the queue; the queue goes on whether it succeeds or fails. */
function enqueue<T>(queue: WriteQueue, run: () => T | Promise<T>): Promise<T> {
  queue.pending += 1;
  const result = queue.tail.then(run);
  const done = (): void => {
    queue.pending -= 1;
  };
  queue.tail = result.then(done, done);
  return result;
}

export function writeTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  if (!isSqlite(dataSource)) return dataSource.transaction(work);
  return enqueue(queueOf(dataSource), () => dataSource.transaction(work));
}

/** The native better-sqlite3 connection behind a DataSource, or null for another driver. */
export function nativeSqlite(dataSource: DataSource): NativeSqlite | null {
  if (dataSource.options.type !== 'better-sqlite3') return null;
  const { databaseConnection } = dataSource.driver as unknown as { databaseConnection?: NativeSqlite };
  return databaseConnection ?? null;
}

/**
 * One better-sqlite3 transaction function per connection, running the work it is given. Making one
 * per call (`db.transaction(work)()`) builds four wrapper functions and defines their properties on
 * every message.
 */
const transactionRunners = new WeakMap<NativeSqlite, (work: () => unknown) => unknown>();

function runInTransaction<T>(db: NativeSqlite, work: () => T): T {
  let runner = transactionRunners.get(db);
  if (runner === undefined) {
    runner = db.transaction((next: () => unknown) => next());
    transactionRunners.set(db, runner);
  }
  return runner(work) as T;
}

/**
 * Runs `work` as one synchronous transaction on the native connection, in turn with the library's
 * other write transactions: at once when none is queued, else after them. `work` must not await.
 */
export function sqliteWriteTransaction<T>(
  dataSource: DataSource,
  db: NativeSqlite,
  work: () => T,
): Promise<T> {
  const queue = queueOf(dataSource);
  const run = (): T => {
    if (db.inTransaction) {
      // A TypeORM transaction outside the queue is open: joining it would commit or lose this
      // write with it. Refuse instead (a bug of the library if it ever happens).
      throw new Error('A SQLite transaction outside the write queue is open');
    }
    return runInTransaction(db, work);
  };
  if (queue.pending === 0) {
    try {
      return Promise.resolve(run());
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
  return enqueue(queue, run);
}
