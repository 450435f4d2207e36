// TypeORM options of the library's own connection, from the resolved options.
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { mkdirSync } from 'fs';
import { dirname } from 'path';
import { REALTIME_CONNECTION } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { DmThreadEntity } from './entities/dm-thread.entity';
import { LogEntryEntity } from './entities/log-entry.entity';
import { MembershipEntity } from './entities/membership.entity';
import { MessageEntity } from './entities/message.entity';
import { RoomEntity } from './entities/room.entity';
import { UserEntity } from './entities/user.entity';
import { REALTIME_MIGRATIONS } from './migrations';

export const REALTIME_ENTITIES = [
  UserEntity,
  RoomEntity,
  MembershipEntity,
  DmThreadEntity,
  MessageEntity,
  LogEntryEntity,
];

export function realtimeTypeOrmOptions(options: ResolvedRealtimeOptions): TypeOrmModuleOptions {
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
    if (db.path !== ':memory:') mkdirSync(dirname(db.path), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database: db.path,
      // WAL: readers do not block the writer; NORMAL sync is durable across process crashes.
      prepareDatabase: (database: { pragma(source: string): unknown }) => {
        database.pragma('journal_mode = WAL');
        database.pragma('synchronous = NORMAL');
        database.pragma('busy_timeout = 5000');
      },
      retryAttempts: 0,
    };
  }
  return {
    ...common,
    type: 'postgres',
    url: db.url,
    schema: db.schema,
    poolSize: db.poolSize,
    retryAttempts: 5,
    retryDelay: 1000,
  };
}
