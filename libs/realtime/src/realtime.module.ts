// RealtimeModule: one import gives a Nest host authenticated Socket.IO and raw ws transports, the
// seed 002 events API, and the storage behind them.
import { Module } from '@nestjs/common';
import { AdminEvents } from './events/admin-events.service';
import { EventsManager } from './events/events-manager.service';
import { ModuleEvents } from './events/module-events.service';
import { RealtimeApi } from './events/realtime-api.service';
import { UserEvents } from './events/user-events.service';
import { ConversationBus } from './conversations/conversation-bus';
import { DirectConversationsService } from './conversations/direct-conversations.service';
import { MessagesService } from './conversations/messages.service';
import { MessageRateLimiter } from './conversations/rate-limiter.service';
import { RoomsService } from './conversations/rooms.service';
import { RealtimeAuthGuard } from './core/auth/realtime-auth.guard';
import { TokenVerifier } from './core/auth/token-verifier.service';
import { ConnectionRegistry } from './core/connection-registry.service';
import { TransportCounters } from './core/metrics/transport-counters.service';
import { ConnectionLifecycle } from './core/transport/connection-lifecycle.service';
import { SocketIoServerRef } from './core/transport/socket-io-server.ref';
import { ConfigurableModuleClass } from './realtime-module.definition';
import { redisClientsProvider, RedisShutdown } from './core/scale-out/redis-clients.provider';
import { SqliteCheckpointer } from './storage/sqlite-checkpointer.service';
import { TypeOrmUserDirectory } from './storage/typeorm-user-directory.service';
import { USER_DIRECTORY } from './storage/user-directory.interface';

const SERVICES = [
  TokenVerifier,
  TransportCounters,
  ConnectionRegistry,
  SocketIoServerRef,
  ConnectionLifecycle,
  RealtimeAuthGuard,
  EventsManager,
  ModuleEvents,
  UserEvents,
  AdminEvents,
  RealtimeApi,
  ConversationBus,
  MessageRateLimiter,
  RoomsService,
  MessagesService,
  DirectConversationsService,
];

@Module({
  providers: [
    ...SERVICES,
    redisClientsProvider,
    RedisShutdown,
    SqliteCheckpointer,
    { provide: USER_DIRECTORY, useClass: TypeOrmUserDirectory },
  ],
  exports: [...SERVICES, USER_DIRECTORY],
})
export class RealtimeModule extends ConfigurableModuleClass {}
