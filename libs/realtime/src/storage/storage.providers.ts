// Which stores the conversation rules get: the host's `storage`, or the default TypeORM stores on the
// library's own connection. The connection is opened only for the default: with `storage` the library
// opens no database, and REALTIME_CONNECTION's DataSource token holds null.
import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { REALTIME_CONNECTION, REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import {
  DIRECT_CONVERSATION_STORE,
  MESSAGE_STORE,
  ROOM_STORE,
  type RealtimeStorage,
} from './realtime-storage.interface';
import { realtimeDataSourceOptions } from './typeorm/realtime-typeorm.options';
import { TypeOrmUserDirectory } from './typeorm/typeorm-user-directory.service';
import { TypeOrmDirectConversationStore } from './typeorm/typeorm-direct-conversation.store';
import { TypeOrmMessageStore } from './typeorm/typeorm-message.store';
import { TypeOrmRoomStore } from './typeorm/typeorm-room.store';
import { WriteQueue } from './typeorm/write-transaction';
import { USER_DIRECTORY } from './user-directory.interface';

/** The token of the library's DataSource, as `@InjectDataSource(REALTIME_CONNECTION)` names it. */
export const REALTIME_DATA_SOURCE = getDataSourceToken(REALTIME_CONNECTION);
/** The write queue of the library's DataSource (null with `storage`): every writer of it shares one. */
export const REALTIME_WRITE_QUEUE = Symbol('REALTIME_WRITE_QUEUE');

/** Opens the connection and runs the migrations; PostgreSQL is retried while it starts up. */
export async function openRealtimeDataSource(options: ResolvedRealtimeOptions): Promise<DataSource> {
  const { dataSource, migrations, attempts, retryDelayMs } = realtimeDataSourceOptions(options);
  const logger = new Logger('RealtimeModule');
  for (let attempt = 1; ; attempt++) {
    try {
      if (migrations) await (await new DataSource(migrations).initialize()).destroy();
      return await new DataSource(dataSource).initialize();
    } catch (error) {
      if (attempt >= attempts) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn(`Database connection failed (attempt ${attempt} of ${attempts}): ${reason}`);
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    }
  }
}

/** Closes the library's connection after every other shutdown hook (its module is global: last). */
@Injectable()
class RealtimeDataSourceShutdown implements OnApplicationShutdown {
  constructor(@Inject(REALTIME_DATA_SOURCE) private readonly dataSource: DataSource | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource?.isInitialized) await this.dataSource.destroy();
  }
}

/** The library's DataSource (or null with `storage`), global as TypeORM's own connections are. */
@Global()
@Module({})
export class RealtimeDataSourceModule {
  static register(optionsModule: DynamicModule): DynamicModule {
    return {
      module: RealtimeDataSourceModule,
      imports: [optionsModule],
      providers: [
        {
          provide: REALTIME_DATA_SOURCE,
          inject: [REALTIME_OPTIONS],
          useFactory: (options: ResolvedRealtimeOptions) =>
            options.storage === null ? openRealtimeDataSource(options) : null,
        },
        {
          provide: REALTIME_WRITE_QUEUE,
          inject: [REALTIME_DATA_SOURCE],
          useFactory: (dataSource: DataSource | null) =>
            dataSource === null ? null : new WriteQueue(dataSource),
        },
        RealtimeDataSourceShutdown,
      ],
      exports: [REALTIME_DATA_SOURCE, REALTIME_WRITE_QUEUE],
    };
  }
}

/** The storage in use: the host's, or the TypeORM stores on the library's connection. */
const REALTIME_STORAGE = Symbol('REALTIME_STORAGE');

function store<T>(token: symbol, pick: (storage: RealtimeStorage) => T): Provider {
  return { provide: token, inject: [REALTIME_STORAGE], useFactory: pick };
}

export const STORE_PROVIDERS: Provider[] = [
  {
    provide: REALTIME_STORAGE,
    inject: [REALTIME_OPTIONS, REALTIME_DATA_SOURCE, REALTIME_WRITE_QUEUE],
    useFactory: (
      options: ResolvedRealtimeOptions,
      dataSource: DataSource | null,
      writes: WriteQueue | null,
    ): RealtimeStorage => options.storage ?? typeOrmStorage(dataSource as DataSource, writes ?? undefined),
  },
  store(MESSAGE_STORE, (s) => s.messages),
  store(ROOM_STORE, (s) => s.rooms),
  store(DIRECT_CONVERSATION_STORE, (s) => s.directConversations),
  store(USER_DIRECTORY, (s) => s.users),
];

export const STORE_TOKENS = [MESSAGE_STORE, ROOM_STORE, DIRECT_CONVERSATION_STORE, USER_DIRECTORY];

/**
 * The default stores on a DataSource that has the library's entities and migrations. Every writer of
 * one DataSource must share its WriteQueue (on SQLite, overlapping transactions fail).
 */
export function typeOrmStorage(dataSource: DataSource, writes = new WriteQueue(dataSource)): RealtimeStorage {
  return {
    messages: new TypeOrmMessageStore(dataSource, writes),
    rooms: new TypeOrmRoomStore(dataSource, writes),
    directConversations: new TypeOrmDirectConversationStore(dataSource),
    users: new TypeOrmUserDirectory(dataSource, writes),
  };
}
