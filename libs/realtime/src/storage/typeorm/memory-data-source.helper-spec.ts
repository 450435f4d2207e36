// For specs: an initialised in-memory SQLite DataSource with the library's entities and migrations.
import { DataSource } from 'typeorm';
import { REALTIME_MIGRATIONS } from './migrations';
import { REALTIME_ENTITIES } from './realtime-typeorm.options';

export async function memoryDataSource(): Promise<DataSource> {
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    entities: REALTIME_ENTITIES,
    migrations: REALTIME_MIGRATIONS,
    migrationsRun: true,
  });
  return dataSource.initialize();
}
