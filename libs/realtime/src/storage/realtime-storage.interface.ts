// The storage seam: the stores the conversation rules need, each an interface with an injection
// token, like @nestjs/throttler's ThrottlerStorage. The default implementation is TypeORM
// (storage/typeorm/: SQLite by default, PostgreSQL by option); storage/memory/ holds an in-memory one;
// a host gives its own through the `storage` option. The rules (validation, access, rate limits,
// publishing) stay in the services and never see SQL.
import { Inject } from '@nestjs/common';
import type {
  DirectConversationsPage,
  DirectConversationsQuery,
  MessageFields,
} from '../conversations/conversation.types';
import type { LogStore } from '../stream/log-store';
import type { UserDirectory } from './user-directory.interface';

/** The conversation a message belongs to: a room, or the direct conversation of two users. */
export type ConversationRef = { roomId: number } | { dmKey: string };

/** A message to store (its id is given by the store). */
export interface MessageRecord extends MessageFields {
  roomId: number | null;
  dmKey: string | null;
}

/** A stored message. */
export interface MessageRow extends MessageRecord {
  id: number;
}

/** What `MessageStore.prune` deletes (`rooms.retention`). */
export interface MessagePruneRequest {
  /** Messages created before this epoch ms are deleted; null: none for its age. */
  olderThan: number | null;
  /** Only the newest this many messages of each conversation are kept; null: no cap. */
  keepPerConversation: number | null;
  /** Most messages deleted in one statement; the store lets other work run between batches. */
  batchSize: number;
  /** Once aborted (shutdown), the store stops after the batch in progress. */
  signal?: AbortSignal;
}

/** What `MessageStore.deleteUserData` deleted. */
export interface DeletedUserMessages {
  /** Messages deleted: the user's room messages and every message of their direct conversations. */
  messages: number;
  /** Direct conversations of the user deleted, each with both users' messages. */
  directConversations: number;
}

/**
 * Messages and their history. Ids are positive and unique in the store; they are not an order:
 * with concurrent writers, a smaller id can be stored after a larger one. Within a conversation the
 * store keeps its messages in commit order, and `after` returns them in that order, gap-free: a
 * client that pages with the id of the last message it got never misses one that another writer
 * stored meanwhile.
 */
export interface MessageStore {
  /**
   * Stores a message and counts it in its conversation, in one write; returns its id. The message
   * takes the next place in its conversation's commit order: no message stored after it is returned
   * by `after` or `newest` before it (a store with concurrent writers serialises the writers of one
   * conversation, e.g. by locking its counter row until commit).
   */
  insert(message: MessageRecord): Promise<number>;
  /** Whether the message `id` exists in that conversation. */
  exists(id: number, conversation: ConversationRef): Promise<boolean>;
  /** Messages stored in the conversation. */
  count(conversation: ConversationRef): Promise<number>;
  /**
   * The newest `limit` messages, in commit order, after skipping `offset` from the newest, returned
   * oldest first.
   */
  newest(conversation: ConversationRef, offset: number, limit: number): Promise<MessageRow[]>;
  /**
   * The first `limit` messages committed after the message `afterId` of that conversation, in commit
   * order. An `afterId` that names no message of the conversation (0, another conversation's, a
   * removed one) has no place in it: then the messages with an id above it, in commit order.
   */
  after(conversation: ConversationRef, afterId: number, limit: number): Promise<MessageRow[]>;
  /**
   * Retention: deletes the oldest messages of each conversation, those created before `olderThan` and
   * those past the newest `keepPerConversation`, at most `batchSize` per statement with a turn of the
   * event loop between batches; returns how many it deleted. Only the oldest end of a conversation
   * goes: what stays is a run of its newest messages, in the same order, `count` counting them. A
   * conversation's numbering never restarts (a store that draws places from a counter keeps it), so
   * `after` goes on from any message that stays. Idempotent: several nodes may run it at once.
   * Optional so that stores written before it keep working; `rooms.retention` needs it.
   */
  prune?(request: MessagePruneRequest): Promise<number>;
  /**
   * Deletes what this store holds of a user: their room messages, and their direct conversations
   * with every message of them (the other user's too), at most `batchSize` per statement. Optional
   * (see `RealtimeUserData`, which refuses without it).
   */
  deleteUserData?(userId: string, options: { batchSize: number }): Promise<DeletedUserMessages>;
}

export interface RoomRecord {
  id: number;
  name: string;
  isPrivate: boolean;
  createdBy: string | null;
}

/** Rooms and their members. */
export interface RoomStore {
  findByName(name: string): Promise<RoomRecord | null>;
  /**
   * Creates a room; a room of that name exists already: the store's error (the caller checks first,
   * and on a race with another node reads the room again).
   */
  create(room: { name: string; isPrivate: boolean; createdBy: string | null }): Promise<RoomRecord>;
  /** Every room, by id. */
  list(): Promise<RoomRecord[]>;
  /**
   * Rooms in the store, asked before a room is created on first use (`rooms.maxRooms`). Optional so
   * that stores written before it keep working; without it, rooms created on first use are not capped.
   */
  count?(): Promise<number>;
  /** Adds (or keeps) a member; `at` is epoch milliseconds. */
  addMember(roomId: number, userId: string, at: number): Promise<void>;
  removeMember(roomId: number, userId: string): Promise<void>;
  isMember(roomId: number, userId: string): Promise<boolean>;
  /**
   * Deletes the user's memberships and forgets them as the creator of rooms (`createdBy` becomes
   * null; the rooms stay); returns the memberships deleted. Optional (see `RealtimeUserData`).
   */
  deleteUserData?(userId: string): Promise<number>;
}

/** The direct conversations of a user, by their newest message. */
export interface DirectConversationStore {
  list(userId: string, query: DirectConversationsQuery): Promise<DirectConversationsPage>;
}

/**
 * A whole storage, given through the `storage` option in place of the default TypeORM one. `logs` is
 * needed only with `stream.persist` (without it the log backlog is kept in memory).
 */
export interface RealtimeStorage {
  messages: MessageStore;
  rooms: RoomStore;
  directConversations: DirectConversationStore;
  users: UserDirectory;
  logs?: LogStore;
}

export const MESSAGE_STORE = Symbol('MESSAGE_STORE');
export const ROOM_STORE = Symbol('ROOM_STORE');
export const DIRECT_CONVERSATION_STORE = Symbol('DIRECT_CONVERSATION_STORE');

export const InjectMessageStore = (): ParameterDecorator => Inject(MESSAGE_STORE);
export const InjectRoomStore = (): ParameterDecorator => Inject(ROOM_STORE);
export const InjectDirectConversationStore = (): ParameterDecorator => Inject(DIRECT_CONVERSATION_STORE);
