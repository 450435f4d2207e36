// For specs: a stored text message of room "general" from alice; each spec sets what it checks.
import type { StoredMessage } from './conversation.types';

export function storedMessage(overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id: 1,
    room: 'general',
    senderId: '1',
    senderUsername: 'alice',
    recipientId: null,
    content: 'hello',
    messageType: 'text',
    mediaUrl: null,
    mediaType: null,
    duration: null,
    replyTo: null,
    context: null,
    createdAt: 0,
    ...overrides,
  };
}
