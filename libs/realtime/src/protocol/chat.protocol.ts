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

export const ChatEvent = {
  message: 'message',
  typing: 'typing',
  join: 'join',
  leave: 'leave',
  onlineUsers: 'onlineUsers',
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
}
