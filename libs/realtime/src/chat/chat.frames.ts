// Maps a stored message to the chat's `message` payload.
import type { ChatMessage } from '../protocol';
import type { StoredMessage } from '../conversations/conversation.types';

export function toChatMessage(message: StoredMessage): ChatMessage {
  const context: Record<string, unknown> = { ...(message.context ?? {}) };
  if (message.room !== null) context.roomId = message.room;
  if (message.replyTo !== null) context.replyTo = String(message.replyTo);
  return {
    id: String(message.id),
    message: message.content,
    timestamp: new Date(message.createdAt).toISOString(),
    context,
    userId: message.senderId,
    username: message.senderUsername,
  };
}
