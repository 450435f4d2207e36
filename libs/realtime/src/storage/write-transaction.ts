// Write transactions on the library's connection. SQLite (better-sqlite3) has one connection that
// TypeORM shares: two transactions overlapping across an await fail ("cannot start a transaction
// within a transaction", and the first then fails to commit). Every writer of the library goes
// through here, so on SQLite its transactions run one after the other; on PostgreSQL each takes
// its own pool connection.
import type { DataSource, EntityManager } from 'typeorm';

/** The last transaction queued per SQLite DataSource. */
const sqliteQueues = new WeakMap<DataSource, Promise<void>>();

const settle = (): void => undefined;

export function writeTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  const type = dataSource.options.type;
  if (type !== 'better-sqlite3' && type !== 'sqlite') return dataSource.transaction(work);
  const previous = sqliteQueues.get(dataSource) ?? Promise.resolve();
  const run = previous.then(() => dataSource.transaction(work));
  sqliteQueues.set(dataSource, run.then(settle, settle));
  return run;
}
