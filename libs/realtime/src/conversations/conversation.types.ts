// Transport-free shapes of the conversation layer (rooms and direct messages).

export const MESSAGE_KINDS = ['text', 'image', 'audio', 'reaction'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** What every message holds, whichever conversation it belongs to. */
export interface MessageFields {
  senderId: string;
  senderUsername: string;
  /** Recipient of a direct message, null for room messages. */
  recipientId: string | null;
  content: string;
  messageType: MessageKind;
  mediaUrl: string | null;
  mediaType: string | null;
  duration: number | null;
  replyTo: number | null;
  context: Record<string, unknown> | null;
  /** Epoch milliseconds. */
  createdAt: number;
}

/** A message as stored; the gateways map it to their wire format. */
export interface StoredMessage extends MessageFields {
  id: number;
  /** Room name for room messages, null for direct messages. */
  room: string | null;
}

/** What a sender gives; fields are already type-checked by the gateway's DTO. */
export interface NewMessage {
  content: string;
  messageType?: MessageKind;
  mediaUrl?: string;
  mediaType?: string;
  duration?: number;
  replyTo?: number;
  context?: Record<string, unknown>;
}

export interface HistoryQuery {
  /** Page size, 1..limits.maxHistoryLimit. */
  limit: number;
  /** Messages skipped from the newest. */
  offset: number;
  /** When set: the messages after this id, oldest first (catch-up after a reconnection). */
  afterId?: number;
}

export interface HistoryPage {
  /** Oldest first. */
  messages: StoredMessage[];
  /** Messages in the conversation. */
  total: number;
  /** Older messages exist beyond this page (with after_id: newer ones beyond it). */
  hasMore: boolean;
}

export interface RoomSummary {
  id: number;
  name: string;
  isPrivate: boolean;
}

/**
 * Where a message was posted from, when the poster gave a request id: the sending connection (opaque
 * here; the transport that posted recognises its own) and the id to echo on that connection's copy.
 * It exists only on the node that stored the message: the bus never relays it.
 */
export interface MessageOrigin {
  readonly connection: object;
  readonly ref: string;
}

/** What the bus carries after a message was stored; `origin` only on the storing node, only with a ref. */
export type ConversationEvent =
  | { kind: 'room'; room: string; message: StoredMessage; origin?: MessageOrigin }
  | { kind: 'direct'; message: StoredMessage; origin?: MessageOrigin };

/** Which direct conversations of a user to list (see DirectConversationsService). */
export interface DirectConversationsQuery {
  /** Only conversations with a message whose id is above this. */
  afterId?: number;
  /** Only conversations whose newest message id is below this (next page). */
  beforeId?: number;
  /** Most conversations returned. */
  limit: number;
}

/** A direct conversation of a user: the other user and the newest message id. */
export interface DirectConversationSummary {
  withUserId: string;
  lastId: number;
}

export interface DirectConversationsPage {
  /** Newest lastId first. */
  conversations: DirectConversationSummary[];
  /** More conversations match beyond this page. */
  hasMore: boolean;
}
