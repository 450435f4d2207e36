// RealtimeModule: one import gives a Nest host authenticated Socket.IO and raw ws transports, the
// events API, and the storage behind them.
import { Module, type DynamicModule } from '@nestjs/common';
import { AdminEvents } from './events/admin-events.service';
import { EventsManager } from './events/events-manager.service';
import { ModuleEvents } from './events/module-events.service';
import { RealtimeApi } from './events/realtime-api.service';
import { UserEvents } from './events/user-events.service';
import { ConversationBus } from './conversations/conversation-bus';
import { DirectConversationsService } from './conversations/direct-conversations.service';
import { MessagesService } from './conversations/messages.service';
import { MessageRetention } from './conversations/message-retention.service';
import { RealtimeUserData } from './conversations/realtime-user-data.service';
import { RealtimeRateLimiter } from './conversations/realtime-rate-limiter.service';
import { RealtimeThrottleGuard } from './conversations/realtime-throttle.guard';
import { RoomDirectory } from './conversations/room-directory.service';
import { RealtimeAuthGuard } from './core/auth/realtime-auth.guard';
import { RealtimeRolesGuard } from './core/auth/realtime-roles.guard';
import { TokenVerifier } from './core/auth/token-verifier.service';
import { ConnectionRegistry } from './core/connection-registry.service';
import { TransportCounters } from './core/metrics/transport-counters.service';
import { StorageFaultLog } from './core/filters/storage-fault-log';
import { ClientAddressLimits } from './core/transport/client-address-limits.service';
import { ConnectionLifecycle } from './core/transport/connection-lifecycle.service';
import { ConnectionLiveness } from './core/transport/connection-liveness';
import { ShutdownCoordinator } from './core/transport/shutdown-coordinator';
import { SocketIoServerRef } from './core/transport/socket-io-server.ref';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, OPTIONS_TYPE } from './realtime-module.definition';
import { ASYNC_KEYS, assertKnownKeys, FOR_ROOT_KEYS } from './realtime-option-keys';
import type { RealtimeModuleOptions } from './realtime.options';
import { DeploymentPresence } from './core/scale-out/deployment-presence.service';
import { redisClientsProvider, RedisShutdown } from './core/scale-out/redis-clients.provider';
import { SqliteCheckpointer } from './storage/typeorm/sqlite-checkpointer.service';
import { RoomsMonitor } from './rooms/rooms-monitor.service';

const SERVICES = [
  TokenVerifier,
  TransportCounters,
  // The exception filters' log of database outages (a host's gateway binding them resolves it too).
  StorageFaultLog,
  ConnectionRegistry,
  DeploymentPresence,
  SocketIoServerRef,
  ConnectionLifecycle,
  RealtimeAuthGuard,
  RealtimeRolesGuard,
  EventsManager,
  ModuleEvents,
  UserEvents,
  AdminEvents,
  RealtimeApi,
  ConversationBus,
  // One instance for the messages and the host's own buckets (MessageRateLimiter is its other name).
  RealtimeRateLimiter,
  RealtimeThrottleGuard,
  RoomDirectory,
  MessagesService,
  DirectConversationsService,
  RealtimeUserData,
  // Its shutdown() runs the graceful shutdown before the host's own hooks (see its JSDoc).
  ShutdownCoordinator,
];

@Module({
  // ConnectionLiveness is the adapter's (found with app.get), not the host's: not exported.
  // RoomsMonitor sits here, not with the rooms feature: the Prometheus exposition injects it either way.
  providers: [
    ...SERVICES,
    ConnectionLiveness,
    ClientAddressLimits,
    redisClientsProvider,
    RedisShutdown,
    SqliteCheckpointer,
    RoomsMonitor,
    MessageRetention,
  ],
  exports: SERVICES,
})
export class RealtimeModule extends ConfigurableModuleClass {
  /** The options and the extras in one object; a misspelt key stops the boot, naming it. */
  static override forRoot(options: RealtimeModuleForRootOptions): DynamicModule {
    assertKnownKeys(options, FOR_ROOT_KEYS, '');
    return super.forRoot(options);
  }

  /** The factory's result is checked like forRoot's options when it resolves. */
  static override forRootAsync(options: RealtimeModuleAsyncOptions): DynamicModule {
    assertKnownKeys(options, ASYNC_KEYS, '');
    return super.forRootAsync(options);
  }
}

/** What `RealtimeModule.forRoot` takes: the options and the static extras. */
export type RealtimeModuleForRootOptions = typeof OPTIONS_TYPE;
/** What `RealtimeModule.forRootAsync` takes: `imports`, `inject`, one of `useFactory` / `useClass` / `useExisting`, and the extras. */
export type RealtimeModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;

/** A class given to `forRootAsync({ useClass })` or `useExisting`. */
export interface RealtimeOptionsFactory {
  createRealtimeOptions(): RealtimeModuleOptions | Promise<RealtimeModuleOptions>;
}
