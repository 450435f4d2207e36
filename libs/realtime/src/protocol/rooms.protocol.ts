// Rooms wire contract of the raw WebSocket rooms and direct messages endpoint (`paths.rooms`):
// the frame types and the `data` of every inbound and outbound frame. Frames are `Envelope`s.
import type { Envelope } from './envelope';
import type { RealtimeErrorPayload } from './error-codes';

/** A user id on the wire: a number when the id is all digits (as in the seed), otherwise a string. */
export type WireUserId = number | string;

/** Message kinds of the rooms protocol. */
export type RoomsMessageType = 'text' | 'image' | 'audio' | 'reaction';

/** Client → server frame types. */
export const RoomsInbound = {
  JOIN_ROOM: 'join_room',
  /** Addition: stop receiving a room's messages on this connection. */
  LEAVE_ROOM: 'leave_room',
  ROOM_MESSAGE: 'room_message',
  DIRECT_MESSAGE: 'direct_message',
  ROOM_HISTORY: 'room_history',
  DM_HISTORY: 'dm_history',
  /** Addition: the direct conversations with messages after an id (catch-up of unknown peers). */
  DM_CONVERSATIONS: 'dm_conversations',
  PING: 'ping',
  /** Several inbound messages in one frame, handled in order, each answered. */
  MESSAGE_BATCH: 'message_batch',
  /** Addition: a fresh token for this connection, of the same user and app; the session is kept. */
  AUTH_REFRESH: 'auth_refresh',
} as const;
export type RoomsInboundType = (typeof RoomsInbound)[keyof typeof RoomsInbound];

/** Server → client frame types. */
export const RoomsOutbound = {
  JOIN_ROOM_ACK: 'join_room_ack',
  /** Addition: answer of `leave_room`. */
  LEAVE_ROOM_ACK: 'leave_room_ack',
  ROOM_MESSAGE: 'room_message',
  DIRECT_MESSAGE: 'direct_message',
  MESSAGE_HISTORY: 'message_history',
  /** Addition: answer of `dm_conversations`. */
  DM_CONVERSATIONS: 'dm_conversations',
  USER_CONNECTED: 'user_connected',
  USER_DISCONNECTED: 'user_disconnected',
  PONG: 'pong',
  ERROR: 'error',
  /** Several outbound frames coalesced for one client (connections opened with `?batch=1`). */
  MESSAGE_BATCH: 'message_batch',
  /** Addition: answer of `auth_refresh`, with the new expiry. */
  AUTH_REFRESH_ACK: 'auth_refresh_ack',
} as const;
export type RoomsOutboundType = (typeof RoomsOutbound)[keyof typeof RoomsOutbound];

/** Fields a message may carry besides its content (seed "Types de Messages Supportés"). */
export interface MessageBodyFields {
  content: string;
  /** @default 'text' */
  message_type?: RoomsMessageType;
  /** image and audio: a relative path or an https URL. */
  media_url?: string;
  /** image: an image/* MIME type. */
  media_type?: string;
  /** audio: seconds, above 0. */
  duration?: number;
  /** reaction: id of a message of the same room or direct conversation. */
  reply_to?: number;
}

// ---- Inbound `data` ----

export interface JoinRoomData {
  room: string;
}
export interface LeaveRoomData {
  room: string;
}
export interface RoomMessageData extends MessageBodyFields {
  room: string;
}
export interface DirectMessageData extends MessageBodyFields {
  /** A number or a string. */
  to_user_id: WireUserId;
}
/** History page: `limit` messages (1..limits.maxHistoryLimit, default 50) skipping `offset` from the newest. */
export interface HistoryRequestFields {
  /** @default 50 */
  limit?: number;
  /** @default 0 */
  offset?: number;
  /** Addition: the messages after this id, oldest first (catch-up after a reconnection); offset is ignored. */
  after_id?: number;
}
export interface RoomHistoryData extends HistoryRequestFields {
  room: string;
}
export interface DmHistoryData extends HistoryRequestFields {
  /** A number or a string. */
  with_user: WireUserId;
}
/**
 * Addition: the direct conversations of the connected user that have a message with id > `after_id`
 * (all of them when absent), newest first, at most `MAX_DM_CONVERSATIONS` per answer.
 */
export interface DmConversationsData {
  after_id?: number;
  /** Next page: only conversations whose newest message id is below this (the last `last_id` received). */
  before_id?: number;
}
export type PingData = Record<string, never>;
/**
 * Addition: a fresh token on an open connection, verified as at the handshake. It must name the same
 * user (`sub`) and the same `appId` claim; the connection keeps its rooms. Refused: `error`
 * AUTH_FAILED with `details.reason: 'refresh_refused'`, and the connection goes on with its current
 * token. Send it before that token expires (at its expiry the connection is closed, 4401).
 */
export interface AuthRefreshData {
  token: string;
}
/** One inner message of an inbound batch. */
export interface InboundBatchItem {
  type: Exclude<RoomsInboundType, 'message_batch'>;
  data?: unknown;
  /** Request id of this message (`REQUEST_REF`), echoed on its answer, its errors and the sender's copy. */
  ref?: string;
}
export interface InboundMessageBatchData {
  /** 1 to 50 messages. */
  messages: InboundBatchItem[];
}

// ---- Outbound `data` ----

export interface JoinRoomAckData {
  room: string;
  success: true;
  message: string;
}
export interface LeaveRoomAckData {
  room: string;
  success: true;
  message: string;
}
/** Optional fields of an outbound message, present only when set. */
export interface MessageMediaFields {
  media_url?: string;
  media_type?: string;
  duration?: number;
  reply_to?: number;
}
export interface RoomMessagePayload extends MessageMediaFields {
  id: number;
  room: string;
  user_id: WireUserId;
  username: string;
  content: string;
  message_type: RoomsMessageType;
  /** ISO 8601. */
  created_at: string;
}
export interface DirectMessagePayload extends MessageMediaFields {
  id: number;
  from_user_id: WireUserId;
  from_username: string;
  to_user_id: WireUserId;
  content: string;
  message_type: RoomsMessageType;
  /** ISO 8601. */
  created_at: string;
}
/** One message of a `message_history` page. */
export interface HistoryMessage extends MessageMediaFields {
  id: number;
  /** The sender. */
  user_id: WireUserId;
  username: string;
  /** Direct-message history only: the recipient. */
  to_user_id?: WireUserId;
  content: string;
  message_type: RoomsMessageType;
  created_at: string;
}
export interface MessageHistoryData {
  /** Room history: the room. */
  room?: string;
  /** Direct-message history: the other user. */
  with_user?: WireUserId;
  /** Oldest first. */
  messages: HistoryMessage[];
  /** Messages in the conversation. */
  total: number;
  /** Older messages exist beyond this page (with after_id: newer ones). */
  has_more: boolean;
}
/** One direct conversation of a `dm_conversations` answer. */
export interface DmConversationSummary {
  /** The other user. */
  with_user: WireUserId;
  /** Id of the newest message of the conversation. */
  last_id: number;
}
export interface DmConversationListData {
  /** Newest `last_id` first. */
  conversations: DmConversationSummary[];
  /** More conversations match: ask again with `before_id` = the last `last_id` of this answer. */
  has_more: boolean;
}
export interface PresenceData {
  user_id: WireUserId;
  username: string;
  room: string;
}
export interface PongData {
  /** ISO 8601 server time. */
  timestamp: string;
}
/** Addition: answer of `auth_refresh`. */
export interface AuthRefreshAckData {
  user_id: WireUserId;
  /** ISO 8601 expiry of the new token (the connection is closed then unless refreshed again); null without `exp`. */
  expires_at: string | null;
}
/** Outbound batch: complete frames (each with its own type, data and timestamp). */
export interface OutboundMessageBatchData {
  messages: Envelope[];
}

/** Server → client `data` by frame type. */
export interface RoomsServerFrames {
  join_room_ack: JoinRoomAckData;
  leave_room_ack: LeaveRoomAckData;
  room_message: RoomMessagePayload;
  direct_message: DirectMessagePayload;
  message_history: MessageHistoryData;
  dm_conversations: DmConversationListData;
  user_connected: PresenceData;
  user_disconnected: PresenceData;
  pong: PongData;
  error: RealtimeErrorPayload;
  message_batch: OutboundMessageBatchData;
  auth_refresh_ack: AuthRefreshAckData;
}

/** Client → server `data` by frame type. */
export interface RoomsClientFrames {
  join_room: JoinRoomData;
  leave_room: LeaveRoomData;
  room_message: RoomMessageData;
  direct_message: DirectMessageData;
  room_history: RoomHistoryData;
  dm_history: DmHistoryData;
  dm_conversations: DmConversationsData;
  ping: PingData;
  message_batch: InboundMessageBatchData;
  auth_refresh: AuthRefreshData;
}

/** Query parameter that opts a connection into outbound batching: `/ws/chat?token=…&batch=1`. */
export const ROOMS_BATCH_QUERY = 'batch';
/** Default page size of room_history / dm_history. */
export const DEFAULT_HISTORY_LIMIT = 50;
/** Most conversations in one `dm_conversations` answer. */
export const MAX_DM_CONVERSATIONS = 500;

/** Converts an internal (string) user id to its wire form: all-digit ids that round-trip become numbers. */
export function toWireUserId(id: string): WireUserId {
  if (!/^\d+$/.test(id)) return id;
  const asNumber = Number(id);
  return Number.isSafeInteger(asNumber) && String(asNumber) === id ? asNumber : id;
}

/** Converts a wire user id (number or string) to the internal string form. */
export function fromWireUserId(id: WireUserId): string {
  return typeof id === 'number' ? String(id) : id;
}

/** A room's name: 1 to 64 letters, digits, `_`, `.` or `-` (on the chat and on the rooms endpoint). */
export const ROOM_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
