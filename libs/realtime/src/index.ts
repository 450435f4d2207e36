// Public API of nest-realtime. Nothing else is exported.
export {
  RealtimeModule,
  type RealtimeModuleAsyncOptions,
  type RealtimeModuleForRootOptions,
  type RealtimeOptionsFactory,
} from './realtime.module';
export { MODULE_OPTIONS_TOKEN as REALTIME_MODULE_OPTIONS } from './realtime-module.definition';
export { RealtimeSetupError } from './core/transport/adapter-check.service';
export { REALTIME_OPTIONS, REALTIME_CONNECTION } from './realtime.constants';
export {
  DEFAULT_LIMITS,
  DEFAULT_SQLITE_PATH,
  REALTIME_DEFAULTS,
  RealtimeOptionsError,
  resolveRealtimeOptions,
  type RealtimeAuthOptions,
  type RealtimeChatOptions,
  type RealtimeCompressionOptions,
  type RealtimeDatabaseOptions,
  type RealtimeDefaults,
  type RealtimeEventsOptions,
  type RealtimeHttpRoutes,
  type RealtimeJwtAlgorithm,
  type RealtimeRateLimitRecord,
  type RealtimeRateLimitStorage,
  type RealtimeLimitOptions,
  type RealtimeModuleExtras,
  type RealtimeModuleOptions,
  type RealtimePathOptions,
  type RealtimeRateLimitOptions,
  type RealtimeRedisOptions,
  type RealtimeRetentionOptions,
  type RealtimeRoomsOptions,
  type RealtimeSocketIoOptions,
  type RealtimeStreamOptions,
  type ResolvedRealtimeOptions,
} from './realtime.options';
export * from './protocol';
export { RealtimeError } from './core/errors/realtime-error';
export type { RealtimeIdentity } from './core/auth/realtime-identity';
export { ConnectedUser } from './core/auth/connected-user.decorator';
export { RealtimeAuthGuard } from './core/auth/realtime-auth.guard';
export { RealtimeRolesGuard } from './core/auth/realtime-roles.guard';
export { RealtimeRoles } from './core/auth/realtime-roles.decorator';
export {
  RealtimeRateLimiter,
  type RealtimeRateLimitBucket,
  type RealtimeRateLimitVerdict,
  type RealtimeRateLimitWindow,
} from './conversations/realtime-rate-limiter.service';
export { RealtimeThrottle } from './conversations/realtime-throttle.decorator';
export { RealtimeThrottleGuard } from './conversations/realtime-throttle.guard';
export { TokenVerifier } from './core/auth/token-verifier.service';
export {
  ConnectionRegistry,
  type ConnectionChange,
  type RealtimeTransport,
} from './core/connection-registry.service';
export { RealtimeAdapter, type RealtimeSocketData } from './core/transport/realtime.adapter';
export { TransportCounters, type TransportCounterSnapshot } from './core/metrics/transport-counters.service';
export {
  RealtimeGateway,
  type RealtimeGatewayOptions,
  type RealtimePathRef,
  type RealtimeWsGatewayOptions,
} from './core/transport/realtime-gateway.decorator';
export { RawWsConnection } from './core/transport/raw-ws-connection';
export { WsConnection } from './core/transport/ws-connection.decorator';
export { RawWsServer } from './core/transport/raw-ws-server';
export type { DirectFrameHandler } from './core/transport/direct-frame-route';
export { ConnectionLifecycle } from './core/transport/connection-lifecycle.service';
export { dataEnvelopeCodec, type FrameCodec } from './core/transport/frame-codec';
export { RealtimeWsExceptionFilter } from './core/filters/realtime-ws-exception.filter';
export { RealtimeIoExceptionFilter } from './core/filters/realtime-io-exception.filter';
export { createRealtimeValidationPipe } from './core/realtime-validation.pipe';
export { InputLimitsPipe } from './core/input-limits.pipe';
export { EventsManager, type EventPayload } from './events/events-manager.service';
export { ModuleEvents } from './events/module-events.service';
export {
  InjectModuleStateSource,
  MODULE_STATE_SOURCE,
  type ModuleStateSource,
} from './events/module-state-source';
export { UserEvents } from './events/user-events.service';
export { AdminEvents } from './events/admin-events.service';
export { RealtimeApi } from './events/realtime-api.service';
export { ChatService } from './chat/chat.service';
export { PresenceService } from './chat/presence.service';
export { RoomDirectory } from './conversations/room-directory.service';
export {
  InjectRoomPolicy,
  PROVISIONAL_ROOM_ID,
  ROOM_POLICY,
  type RoomAction,
  type RoomPolicy,
} from './conversations/room-policy';
export { MessagesService } from './conversations/messages.service';
export { DirectConversationsService } from './conversations/direct-conversations.service';
export { RealtimeUserData, type DeletedUserData } from './conversations/realtime-user-data.service';
export {
  ShutdownCoordinator,
  SHUTDOWN_CLOSE_REASON,
  type ShutdownPhase,
} from './core/transport/shutdown-coordinator';
export { ConversationBus } from './conversations/conversation-bus';
export { RoomMembersRegistry } from './rooms/room-members.registry';
export type {
  ConversationEvent,
  DirectConversationSummary,
  DirectConversationsPage,
  DirectConversationsQuery,
  HistoryPage,
  HistoryQuery,
  MessageKind,
  NewMessage,
  RoomSummary,
  StoredMessage,
} from './conversations/conversation.types';
export { fanOut } from './core/transport/fan-out';
export { EncodedTextFrame } from './core/transport/text-frame';
export { LogStreamService } from './stream/log-stream.service';
export { RealtimeLogger, type RealtimeLoggerOptions } from './stream/realtime-logger.service';
export { StreamPortListener } from './stream/stream-port.listener';
export { MetricsSampler } from './stream/metrics-sampler.service';
export { payloadEnvelopeCodec } from './stream/payload-envelope.codec';
export {
  LOG_STORE,
  InjectLogStore,
  InMemoryLogStore,
  type LogStore,
  type LogOrigin,
} from './stream/log-store';
export { PersistentLogStore } from './storage/typeorm/persistent-log-store';
export {
  USER_DIRECTORY,
  InjectUserDirectory,
  type RealtimeUser,
  type RegisterUserInput,
  type UserDirectory,
} from './storage/user-directory.interface';
export {
  DIRECT_CONVERSATION_STORE,
  InjectDirectConversationStore,
  InjectMessageStore,
  InjectRoomStore,
  MESSAGE_STORE,
  ROOM_STORE,
  type ConversationRef,
  type DeletedUserMessages,
  type DirectConversationStore,
  type MessagePruneRequest,
  type MessageRecord,
  type MessageRow,
  type MessageStore,
  type RealtimeStorage,
  type RoomRecord,
  type RoomStore,
} from './storage/realtime-storage.interface';
export {
  InMemoryDirectConversationStore,
  InMemoryMessageStore,
  InMemoryRoomStore,
  InMemoryUserDirectory,
  inMemoryStorage,
} from './storage/memory/in-memory-storage';
export { REALTIME_DATA_SOURCE, typeOrmStorage } from './storage/storage.providers';
