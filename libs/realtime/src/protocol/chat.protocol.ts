// Chat wire contract (Socket.IO chat): event names and payloads. Additions are marked.
import type { RealtimeErrorPayload } from './error-codes';

/** Client → server `message`. */
export interface ChatMessageInput {
  message: string;
  /** `roomId` picks the room (default: the lobby room); `replyTo` names an existing message id. */
  context?: { roomId?: string; replyTo?: string | number; [extra: string]: unknown };
}

/** Server → client `message`. `context.roomId` is always set (addition); `userId`, `username` name the sender. */
export interface ChatMessage {
  id: string;
  message: string;
  /** ISO 8601. */
  timestamp: string;
  context?: Record<string, unknown>;
  userId: string;
  username: string;
}

/** Server → client `userTyping`. */
export interface UserTypingPayload {
  userId: string;
  username: string;
  isTyping: boolean;
}

/** Server → client `userStatus`. */
export interface UserStatusPayload {
  userId: string;
  username: string;
  isOnline: boolean;
  /** ISO 8601, for users who are offline. */
  lastSeen?: string;
}

/** Acknowledgement of `message`: the stored id, or the error. */
export type ChatMessageAck = { id: string } | { error: RealtimeErrorPayload };

/** Addition: client → server `join` / `leave` `{ roomId }`; ack `{ roomId, joined }`. */
export interface ChatJoinInput {
  roomId: string;
}
export interface ChatJoinAck {
  roomId: string;
  joined: boolean;
}

/** Addition: client → server `onlineUsers` with an ack: who is online, and who was seen lately. */
export interface OnlineUsersPayload {
  users: UserStatusPayload[];
}

/**
 * Addition: client → server `authRefresh` `{ token }` with an ack, on the default namespace (the chat
 * and the events API share the socket): a fresh token of the same user (`sub`) and `appId` claim; the
 * socket keeps its rooms. Refused: ack `{ error }` AUTH_FAILED with `details.reason: 'refresh_refused'`
 * (and the `error` event), the socket goes on with its current token. Send it before that token
 * expires (at its expiry the socket is disconnected).
 */
export interface AuthRefreshInput {
  token: string;
}
/** Addition: what `authRefresh` acknowledges: the user, and the new token's expiry (ISO 8601; null without `exp`). */
export interface AuthRefreshResult {
  userId: string;
  expiresAt: string | null;
}
export type AuthRefreshAck = AuthRefreshResult | { error: RealtimeErrorPayload };

export const ChatEvent = {
  message: 'message',
  typing: 'typing',
  join: 'join',
  leave: 'leave',
  onlineUsers: 'onlineUsers',
  authRefresh: 'authRefresh',
  userTyping: 'userTyping',
  userStatus: 'userStatus',
  error: 'error',
} as const;

/** Server → client events of the chat, for typed Socket.IO clients. */
export interface ChatServerToClientEvents {
  message: (message: ChatMessage) => void;
  userTyping: (payload: UserTypingPayload) => void;
  userStatus: (payload: UserStatusPayload) => void;
  error: (error: RealtimeErrorPayload) => void;
}

/** Client → server events of the chat, for typed Socket.IO clients. */
export interface ChatClientToServerEvents {
  message: (input: ChatMessageInput, ack?: (answer: ChatMessageAck) => void) => void;
  typing: (isTyping: boolean) => void;
  join: (input: ChatJoinInput, ack?: (answer: ChatJoinAck | { error: RealtimeErrorPayload }) => void) => void;
  leave: (
    input: ChatJoinInput,
    ack?: (answer: ChatJoinAck | { error: RealtimeErrorPayload }) => void,
  ) => void;
  onlineUsers: (ack: (answer: OnlineUsersPayload) => void) => void;
  authRefresh: (input: AuthRefreshInput, ack?: (answer: AuthRefreshAck) => void) => void;
}
