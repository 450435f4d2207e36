// For specs that drive a MessageStore directly: a text message record; each spec sets what it checks.
import type { MessageRecord } from 'nest-realtime';

export function messageRecord(overrides: Partial<MessageRecord> = {}): MessageRecord {
  return {
    roomId: null,
    dmKey: null,
    senderId: '1',
    senderUsername: 'one',
    recipientId: null,
    content: 'hello',
    messageType: 'text',
    mediaUrl: null,
    mediaType: null,
    duration: null,
    replyTo: null,
    context: null,
    createdAt: 1_700_000_000_123,
    ...overrides,
  };
}
