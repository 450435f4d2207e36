// Public API of the nest-realtime client SDK (browser and Node). Wire types come from the server's
// own protocol module, re-exported here so that both sides compile against one definition.
export * from 'nest-realtime/protocol';
export {
  ConnectionState,
  CONNECTION_TRANSITIONS,
  ConnectionStateMachine,
  InvalidTransitionError,
} from './connection/connection-state';
export type { StateChange, TransitionDetails } from './connection/connection-state';
export { ExponentialBackoff, type BackoffOptions } from './connection/backoff';
export { ReconnectionManager } from './connection/reconnection-manager';
export { Heartbeat, type HeartbeatOptions } from './connection/heartbeat';
export { BoundedSendQueue, type QueuedSend } from './connection/send-queue';
export {
  ClientErrorCode,
  RealtimeClientError,
  SERVER_UNREACHABLE_MESSAGE,
} from './connection/realtime-client.error';
export {
  DEFAULT_RECONNECTION,
  type ConnectionOptions,
  type ReconnectionOptions,
  type TokenProvider,
} from './connection/connection.options';
export {
  ConnectionLifecycle,
  type TransportDriver,
  type LifecycleHooks,
} from './connection/connection-lifecycle';
export { ManagedClient } from './connection/managed-client';
export { TypedEmitter } from './connection/typed-emitter';
export {
  RoomsClient,
  type RoomsClientOptions,
  type RoomsClientEvents,
  type RoomsSyncReport,
} from './rooms/rooms-client';
export { resolveWebSocket } from './websocket/resolve-websocket';
export type { WebSocketConstructor, WebSocketLike } from './websocket/websocket.types';
export { ConnectionPool, type PoolableConnection } from './connection/connection-pool';
export {
  LogStreamClient,
  type LogStreamClientOptions,
  type LogStreamClientEvents,
  type LogStreamSyncReport,
} from './stream/log-stream-client';
export {
  ChatClient,
  type ChatClientOptions,
  type ChatClientEvents,
  type ChatSyncReport,
} from './socket-io/chat-client';
export type { ChatCatchUpOptions } from './socket-io/chat-history-catch-up';
export { RealtimeEventsClient, type RealtimeEventsClientOptions } from './socket-io/realtime-events-client';
export type { SocketIoOptions, RealtimeSocket } from './socket-io/socket-io-transport';
