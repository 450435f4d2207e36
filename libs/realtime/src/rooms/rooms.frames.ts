// Wire mapping of the rooms protocol: stored messages, history pages and presence → frame payloads, and the
// serialised frames that the delivery writes (once per event, whatever the number of recipients).
import type {
  DirectConversationsPage,
  HistoryPage,
  StoredMessage,
} from '../conversations/conversation.types';
import {
  encodeEnvelope,
  RoomsOutbound,
  toWireUserId,
  type DirectMessagePayload,
  type DmConversationListData,
  type HistoryMessage,
  type MessageHistoryData,
  type MessageMediaFields,
  type PresenceData,
  type RoomMessagePayload,
  type WireUserId,
} from '../protocol';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';

/** The optional media/reply fields, present only when set (a text message stays as in the seed). */
function mediaFields(message: StoredMessage): MessageMediaFields {
  const fields: MessageMediaFields = {};
  if (message.mediaUrl !== null) fields.media_url = message.mediaUrl;
  if (message.mediaType !== null) fields.media_type = message.mediaType;
  if (message.duration !== null) fields.duration = message.duration;
  if (message.replyTo !== null) fields.reply_to = message.replyTo;
  return fields;
}

function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export function roomMessagePayload(message: StoredMessage, room: string): RoomMessagePayload {
  return {
    id: message.id,
    room,
    user_id: toWireUserId(message.senderId),
    username: message.senderUsername,
    content: message.content,
    message_type: message.messageType,
    ...mediaFields(message),
    created_at: isoTime(message.createdAt),
  };
}

export function directMessagePayload(message: StoredMessage): DirectMessagePayload {
  return {
    id: message.id,
    from_user_id: toWireUserId(message.senderId),
    from_username: message.senderUsername,
    to_user_id: toWireUserId(message.recipientId ?? ''),
    content: message.content,
    message_type: message.messageType,
    ...mediaFields(message),
    created_at: isoTime(message.createdAt),
  };
}

export function historyMessage(message: StoredMessage): HistoryMessage {
  const item: HistoryMessage = {
    id: message.id,
    user_id: toWireUserId(message.senderId),
    username: message.senderUsername,
    content: message.content,
    message_type: message.messageType,
    ...mediaFields(message),
    created_at: isoTime(message.createdAt),
  };
  if (message.recipientId !== null) item.to_user_id = toWireUserId(message.recipientId);
  return item;
}

/** `message_history` of a room (`room`) or of a direct conversation (`with_user`). */
export function historyPayload(
  page: HistoryPage,
  conversation: { room: string } | { with_user: WireUserId },
): MessageHistoryData {
  return {
    ...conversation,
    messages: page.messages.map(historyMessage),
    total: page.total,
    has_more: page.hasMore,
  };
}

/** `dm_conversations` answer: the other user of each conversation in wire form. */
export function dmConversationsPayload(page: DirectConversationsPage): DmConversationListData {
  return {
    conversations: page.conversations.map((c) => ({
      with_user: toWireUserId(c.withUserId),
      last_id: c.lastId,
    })),
    has_more: page.hasMore,
  };
}

export function presencePayload(
  user: Pick<RealtimeIdentity, 'userId' | 'username'>,
  room: string,
): PresenceData {
  return { user_id: toWireUserId(user.userId), username: user.username, room };
}

/** Serialised `room_message` frame; the envelope's user_id names the sender. */
export function serializeRoomMessage(message: StoredMessage, room: string): string {
  return encodeEnvelope(
    RoomsOutbound.ROOM_MESSAGE,
    roomMessagePayload(message, room),
    toWireUserId(message.senderId),
  );
}

/** Serialised `direct_message` frame; the envelope's user_id names the sender. */
export function serializeDirectMessage(message: StoredMessage): string {
  return encodeEnvelope(
    RoomsOutbound.DIRECT_MESSAGE,
    directMessagePayload(message),
    toWireUserId(message.senderId),
  );
}

/**
 * The sending connection's copy of a serialised message frame: the same frame with its request id.
 * `encodeEnvelope` writes `ref` last and a valid ref (`REQUEST_REF`) needs no escaping, so inserting
 * it before the closing brace gives the bytes that encoding with the ref would, without serialising
 * the message again.
 */
export function withRequestRef(serialized: string, ref: string): string {
  return `${serialized.slice(0, -1)},"ref":"${ref}"}`;
}

/** Serialised `user_connected` / `user_disconnected` frame. */
export function serializePresence(
  type: typeof RoomsOutbound.USER_CONNECTED | typeof RoomsOutbound.USER_DISCONNECTED,
  user: Pick<RealtimeIdentity, 'userId' | 'username'>,
  room: string,
): string {
  return encodeEnvelope(type, presencePayload(user, room));
}

/**
 * An outbound `message_batch` built from frames that are already serialised: string concatenation,
 * so a frame is never parsed or serialised again per recipient.
 */
export function concatBatch(serializedFrames: readonly string[], now = new Date()): string {
  return (
    `{"type":"${RoomsOutbound.MESSAGE_BATCH}","data":{"messages":[` +
    serializedFrames.join(',') +
    `]},"timestamp":"${now.toISOString()}"}`
  );
}
