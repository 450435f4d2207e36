// A storage held in memory, for tests and for hosts that want no database: everything is lost when
// the process ends, and nothing is shared between nodes. `inMemoryStorage()` gives the whole set for
// the `storage` option; the same contract suite runs against it and the TypeORM stores.
import { RealtimeErrorCode } from '../../protocol';
import { RealtimeError } from '../../core/errors/realtime-error';
import type {
  DirectConversationsPage,
  DirectConversationsQuery,
} from '../../conversations/conversation.types';
import { InMemoryLogStore } from '../../stream/log-store';
import type {
  ConversationRef,
  DeletedUserMessages,
  DirectConversationStore,
  MessagePruneRequest,
  MessageRecord,
  MessageRow,
  MessageStore,
  RealtimeStorage,
  RoomRecord,
  RoomStore,
} from '../realtime-storage.interface';
import type { RealtimeUser, RegisterUserInput, UserDirectory } from '../user-directory.interface';
import { checkRegistration } from '../user-registration';
import { isDirectConversationOf, nextTurn } from '../batched-deletes';

function keyOf(conversation: ConversationRef): string {
  return 'roomId' in conversation ? `room:${conversation.roomId}` : `dm:${conversation.dmKey}`;
}

const DM_PREFIX = 'dm:';

/**
 * Whether a stored conversation is a direct one of `userId`: its messages name the user (exact); with
 * none left, its key does, taken only when it holds two ids ("a|b" and "c" make "a|b|c", which also
 * reads as "a" and "b|c").
 */
function isDirectOf(key: string, rows: readonly MessageRow[], userId: string): boolean {
  if (!key.startsWith(DM_PREFIX)) return false;
  const first = rows[0];
  if (first !== undefined) return first.senderId === userId || first.recipientId === userId;
  const pair = key.slice(DM_PREFIX.length);
  return pair.split('|').length === 2 && isDirectConversationOf(pair, userId);
}

export class InMemoryMessageStore implements MessageStore {
  private lastId = 0;
  /**
   * Each conversation's messages in commit order. An insert takes its id and its place in one
   * synchronous step, so commit order is also id order here and a binary search by id finds a place.
   */
  private readonly conversations = new Map<string, MessageRow[]>();
  /** Direct conversations of each user: the other user and the newest message id. */
  readonly peers = new Map<string, Map<string, number>>();

  insert(message: MessageRecord): Promise<number> {
    const row: MessageRow = { ...message, id: ++this.lastId };
    const key = keyOf(message.roomId !== null ? { roomId: message.roomId } : { dmKey: message.dmKey ?? '' });
    let rows = this.conversations.get(key);
    if (rows === undefined) {
      rows = [];
      this.conversations.set(key, rows);
    }
    rows.push(row);
    if (message.roomId === null && message.recipientId !== null) {
      this.notePeer(message.senderId, message.recipientId, row.id);
      this.notePeer(message.recipientId, message.senderId, row.id);
    }
    return Promise.resolve(row.id);
  }

  exists(id: number, conversation: ConversationRef): Promise<boolean> {
    return Promise.resolve(this.find(this.rowsOf(conversation), id) !== undefined);
  }

  count(conversation: ConversationRef): Promise<number> {
    return Promise.resolve(this.rowsOf(conversation).length);
  }

  newest(conversation: ConversationRef, offset: number, limit: number): Promise<MessageRow[]> {
    const rows = this.rowsOf(conversation);
    const end = Math.max(rows.length - offset, 0);
    return Promise.resolve(rows.slice(Math.max(end - limit, 0), end).map((row) => ({ ...row })));
  }

  after(conversation: ConversationRef, afterId: number, limit: number): Promise<MessageRow[]> {
    const rows = this.rowsOf(conversation);
    // After the anchor's place; an id that names no message here: the first with a greater id (in
    // an array in id order, both are the first row whose id is above afterId).
    const start = this.firstAbove(rows, afterId);
    return Promise.resolve(rows.slice(start, start + limit).map((row) => ({ ...row })));
  }

  async prune(request: MessagePruneRequest): Promise<number> {
    let deleted = 0;
    for (const [key, rows] of [...this.conversations]) {
      if (request.signal?.aborted) break;
      // The oldest end only, as the TypeORM store: what stays is the conversation's newest run.
      let drop = 0;
      if (request.olderThan !== null) {
        while (drop < rows.length && (rows[drop] as MessageRow).createdAt < request.olderThan) drop += 1;
      }
      if (request.keepPerConversation !== null) {
        drop = Math.max(drop, rows.length - request.keepPerConversation);
      }
      if (drop <= 0) continue;
      const gone = rows.splice(0, drop);
      deleted += gone.length;
      if (rows.length === 0) this.forgetConversation(key, gone);
      await nextTurn();
    }
    return deleted;
  }

  async deleteUserData(userId: string): Promise<DeletedUserMessages> {
    let messages = 0;
    let directConversations = 0;
    for (const [key, rows] of [...this.conversations]) {
      if (isDirectOf(key, rows, userId)) {
        messages += rows.length;
        directConversations += 1;
        this.conversations.delete(key);
      } else {
        // The user's room messages (no other direct conversation holds any), in place and in order:
        // a prune in progress holds this array.
        let kept = 0;
        for (const row of rows) if (row.senderId !== userId) rows[kept++] = row;
        messages += rows.length - kept;
        rows.length = kept;
      }
    }
    // The user's list of conversations, and the user in the lists of their peers.
    for (const peer of this.peers.get(userId)?.keys() ?? []) this.peers.get(peer)?.delete(userId);
    this.peers.delete(userId);
    await nextTurn();
    return { messages, directConversations };
  }

  /** A direct conversation retention emptied leaves its users' lists, as the TypeORM store's does. */
  private forgetConversation(key: string, rows: MessageRow[]): void {
    const first = rows[0];
    if (!key.startsWith(DM_PREFIX) || first === undefined || first.recipientId === null) return;
    this.peers.get(first.senderId)?.delete(first.recipientId);
    this.peers.get(first.recipientId)?.delete(first.senderId);
  }

  private rowsOf(conversation: ConversationRef): MessageRow[] {
    return this.conversations.get(keyOf(conversation)) ?? [];
  }

  private find(rows: MessageRow[], id: number): MessageRow | undefined {
    const index = this.firstAbove(rows, id - 1);
    return rows[index]?.id === id ? rows[index] : undefined;
  }

  /** Index of the first row whose id is above `id` (binary search: the rows are in id order). */
  private firstAbove(rows: MessageRow[], id: number): number {
    let low = 0;
    let high = rows.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((rows[middle] as MessageRow).id <= id) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private notePeer(userId: string, peer: string, id: number): void {
    let peers = this.peers.get(userId);
    if (peers === undefined) {
      peers = new Map();
      this.peers.set(userId, peers);
    }
    peers.set(peer, id);
  }
}

export class InMemoryRoomStore implements RoomStore {
  private lastId = 0;
  private readonly rooms = new Map<string, RoomRecord>();
  private readonly members = new Map<number, Map<string, number>>();

  findByName(name: string): Promise<RoomRecord | null> {
    const room = this.rooms.get(name);
    return Promise.resolve(room === undefined ? null : { ...room });
  }

  async create(room: { name: string; isPrivate: boolean; createdBy: string | null }): Promise<RoomRecord> {
    if (this.rooms.has(room.name)) throw new Error(`room "${room.name}" exists`);
    const record: RoomRecord = { id: ++this.lastId, ...room };
    this.rooms.set(room.name, record);
    return { ...record };
  }

  list(): Promise<RoomRecord[]> {
    return Promise.resolve([...this.rooms.values()].sort((a, b) => a.id - b.id).map((room) => ({ ...room })));
  }

  count(): Promise<number> {
    return Promise.resolve(this.rooms.size);
  }

  addMember(roomId: number, userId: string, at: number): Promise<void> {
    let members = this.members.get(roomId);
    if (members === undefined) {
      members = new Map();
      this.members.set(roomId, members);
    }
    members.set(userId, at);
    return Promise.resolve();
  }

  removeMember(roomId: number, userId: string): Promise<void> {
    this.members.get(roomId)?.delete(userId);
    return Promise.resolve();
  }

  isMember(roomId: number, userId: string): Promise<boolean> {
    return Promise.resolve(this.members.get(roomId)?.has(userId) === true);
  }

  deleteUserData(userId: string): Promise<number> {
    let memberships = 0;
    for (const members of this.members.values()) if (members.delete(userId)) memberships += 1;
    for (const room of this.rooms.values()) if (room.createdBy === userId) room.createdBy = null;
    return Promise.resolve(memberships);
  }
}

export class InMemoryDirectConversationStore implements DirectConversationStore {
  constructor(private readonly messages: InMemoryMessageStore) {}

  list(userId: string, query: DirectConversationsQuery): Promise<DirectConversationsPage> {
    const matching = [...(this.messages.peers.get(userId) ?? new Map<string, number>())]
      .filter(([, lastId]) => query.afterId === undefined || lastId > query.afterId)
      .filter(([, lastId]) => query.beforeId === undefined || lastId < query.beforeId)
      .sort((a, b) => b[1] - a[1]);
    return Promise.resolve({
      conversations: matching.slice(0, query.limit).map(([withUserId, lastId]) => ({ withUserId, lastId })),
      hasMore: matching.length > query.limit,
    });
  }
}

export class InMemoryUserDirectory implements UserDirectory {
  private lastSeq = 0;
  private readonly byId = new Map<string, RealtimeUser>();

  async register(input: RegisterUserInput): Promise<RealtimeUser> {
    checkRegistration(input);
    const existing =
      (input.id !== undefined ? this.byId.get(input.id) : undefined) ??
      [...this.byId.values()].find((user) => user.username === input.username);
    if (existing) {
      if (input.id !== undefined && existing.id !== input.id) {
        throw new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, 'Username already taken', {
          field: 'username',
        });
      }
      if (input.roles !== undefined) existing.roles = input.roles;
      if (input.email !== undefined) existing.email = input.email;
      return { ...existing };
    }
    // No id from the host: the registration number becomes the public, numeric user id.
    const user: RealtimeUser = {
      id: input.id ?? String(++this.lastSeq),
      username: input.username,
      email: input.email ?? null,
      roles: input.roles ?? [],
      createdAt: new Date(),
      lastSeenAt: null,
    };
    if (input.id !== undefined) this.lastSeq += 1;
    this.byId.set(user.id, user);
    return { ...user };
  }

  findById(id: string): Promise<RealtimeUser | null> {
    const user = this.byId.get(id);
    return Promise.resolve(user === undefined ? null : { ...user });
  }

  findByUsername(username: string): Promise<RealtimeUser | null> {
    const user = [...this.byId.values()].find((candidate) => candidate.username === username);
    return Promise.resolve(user === undefined ? null : { ...user });
  }

  markSeen(id: string, at: number): Promise<void> {
    const user = this.byId.get(id);
    if (user !== undefined) user.lastSeenAt = at;
    return Promise.resolve();
  }

  recentlySeen(limit: number): Promise<RealtimeUser[]> {
    if (limit <= 0) return Promise.resolve([]);
    const seen = [...this.byId.values()]
      .filter((user) => user.lastSeenAt !== null)
      .sort((a, b) => (b.lastSeenAt ?? 0) - (a.lastSeenAt ?? 0));
    return Promise.resolve(seen.slice(0, limit).map((user) => ({ ...user })));
  }

  count(): Promise<number> {
    return Promise.resolve(this.byId.size);
  }

  deleteUserData(id: string): Promise<boolean> {
    return Promise.resolve(this.byId.delete(id));
  }
}

/** Every store in memory; `logBufferSize` bounds each app's log backlog (`stream.bufferSize`). */
export function inMemoryStorage(logBufferSize = 1000): RealtimeStorage {
  const messages = new InMemoryMessageStore();
  return {
    messages,
    rooms: new InMemoryRoomStore(),
    directConversations: new InMemoryDirectConversationStore(messages),
    users: new InMemoryUserDirectory(),
    logs: new InMemoryLogStore(logBufferSize),
  };
}
