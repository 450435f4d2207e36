// DataSource options of the library's own connection, from the resolved options. Problems a host can fix
// (a missing driver package, a database path that cannot be a file) stop the boot here with the option
// and the path named, rather than as a raw driver error.
import { Logger } from '@nestjs/common';
import type { DataSourceOptions } from 'typeorm';
import { mkdirSync, statSync } from 'fs';
import { dirname, resolve } from 'path';
import { REALTIME_CONNECTION } from '../../realtime.constants';
import { RealtimeOptionsError, type ResolvedRealtimeOptions } from '../../realtime.options';
import { DmThreadEntity } from './entities/dm-thread.entity';
import { LogEntryEntity } from './entities/log-entry.entity';
import { MembershipEntity } from './entities/membership.entity';
import { MessageEntity } from './entities/message.entity';
import { RoomEntity } from './entities/room.entity';
import { UserEntity } from './entities/user.entity';
import { REALTIME_MIGRATIONS } from './migrations';
import { postgresPoolSettings } from './postgres-timeouts';

export const REALTIME_ENTITIES = [
  UserEntity,
  RoomEntity,
  MembershipEntity,
  DmThreadEntity,
  MessageEntity,
  LogEntryEntity,
];

/**
 * The DataSource options of the library's connection, how often to try opening it, and (PostgreSQL)
 * the options of a connection opened first to run the migrations, without the request timeouts.
 */
export function realtimeDataSourceOptions(options: ResolvedRealtimeOptions): {
  dataSource: DataSourceOptions;
  migrations?: DataSourceOptions;
  attempts: number;
  retryDelayMs: number;
} {
  const common = {
    name: REALTIME_CONNECTION,
    entities: REALTIME_ENTITIES,
    migrations: REALTIME_MIGRATIONS,
    migrationsRun: true,
    migrationsTableName: 'rt_migrations',
    synchronize: false,
  };
  const db = options.database;
  if (db.type === 'sqlite') {
    requireDriver('better-sqlite3', 'database.type "sqlite" (the default)', 'npm install better-sqlite3@12');
    if (db.path !== ':memory:') prepareSqliteFile(db.path);
    new Logger('RealtimeModule').log(
      `SQLite database: ${db.path === ':memory:' ? 'in memory' : resolve(db.path)} (option database.path)`,
    );
    return {
      dataSource: {
        ...common,
        type: 'better-sqlite3',
        database: db.path,
        // WAL: readers do not block the writer; NORMAL sync is durable across process crashes.
        prepareDatabase: (database: { pragma(source: string): unknown }) => {
          database.pragma('journal_mode = WAL');
          database.pragma('synchronous = NORMAL');
          database.pragma('busy_timeout = 5000');
        },
      },
      attempts: 1,
      retryDelayMs: 0,
    };
  }
  requireDriver('pg', 'database.type "postgres"', 'npm install pg');
  // Checked just above; loaded here only for a database of this type (an optional peer).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as Parameters<typeof postgresPoolSettings>[1];
  const postgres = { ...common, type: 'postgres' as const, url: db.url, schema: db.schema };
  return {
    dataSource: {
      ...postgres,
      // Migrated by `migrations` first: a long migration is not bounded by the request timeouts.
      migrationsRun: false,
      poolSize: db.poolSize,
      extra: postgresPoolSettings(db, pg),
    },
    migrations: {
      ...postgres,
      poolSize: 1,
      extra: { connectionTimeoutMillis: db.connectTimeoutMs, keepAlive: true },
    },
    attempts: 5,
    retryDelayMs: 1000,
  };
}

/** Fails with the option and the install command when the database driver is not installed. */
function requireDriver(name: string, option: string, install: string): void {
  try {
    require.resolve(name);
  } catch {
    throw new RealtimeOptionsError('database', `${option} needs the package "${name}": ${install}`);
  }
}

/** Creates the file's folder, and names the option and the path when it cannot hold the file. */
function prepareSqliteFile(path: string): void {
  const folder = dirname(resolve(path));
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const reason =
      code === 'ENOTDIR' || code === 'EEXIST' ? 'a part of its folder is a file, not a folder' : `${code}`;
    throw new RealtimeOptionsError(
      'database.path',
      `cannot create the folder "${folder}" of the SQLite file "${path}": ${reason}`,
    );
  }
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing !== undefined && !existing.isFile()) {
    throw new RealtimeOptionsError(
      'database.path',
      `"${resolve(path)}" exists and is not a file (a folder?)`,
    );
  }
}
