// Deleting messages on the library's TypeORM connection, for TypeOrmMessageStore: retention (`prune`)
// and a user's messages (`deleteUserData`). Each batch deletes at most `batchSize` messages by primary
// key in one write transaction (in turn with the other writers on SQLite) that also takes them off
// their conversation's `message_count`, counted from the rows the DELETE returned, so that two nodes
// pruning at once never count a message twice. Between batches the event loop gets a turn: inserts
// and deliveries go on. `last_seq` is never lowered: a conversation's numbering goes on from its
// newest message, and catch-up by after_id finds its place among the messages that stay. (Deleting a
// user's direct conversation deletes its counter row with its last message: nothing is left to place.)
//
// Reads use the existing indexes: the primary key (age, walked from the oldest id: messages are stored
// as they are created), (room_id, seq) and (dm_key, seq) (the count cap, a direct conversation), the
// direct messages' (sender_id, id) and (recipient_id, id). Room messages have no index by sender (it
// would cost every message one more index write, for a rare call): a user's are found by a scan of
// the primary key in windows of SCAN_WINDOW ids, a turn between windows.
import { Between, IsNull, LessThan, MoreThan, Not, type DataSource, type EntityManager } from 'typeorm';
import type { QueryResult } from 'typeorm/query-runner/QueryResult';
import { isDirectConversationOf, nextTurn } from '../batched-deletes';
import type {
  ConversationRef,
  DeletedUserMessages,
  MessagePruneRequest,
} from '../realtime-storage.interface';
import { DmThreadEntity } from './entities/dm-thread.entity';
import { MessageEntity } from './entities/message.entity';
import { RoomEntity } from './entities/room.entity';
import type { WriteQueue } from './write-transaction';

/** Ids per statement of the scan for a user's room messages. */
const SCAN_WINDOW = 10_000;
/** Rooms or direct conversations over the cap read per statement. */
const CONVERSATIONS_PAGE = 200;

interface DeletedRow {
  room_id: number | string | null;
  dm_key: string | null;
}

/** `LIKE` pattern text matching `value` literally (escape character `\`). */
function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}

export class TypeOrmMessageDeletion {
  constructor(
    private readonly dataSource: DataSource,
    private readonly writes: WriteQueue,
  ) {}

  private get messages() {
    return this.dataSource.getRepository(MessageEntity);
  }

  async prune(request: MessagePruneRequest): Promise<number> {
    let deleted = 0;
    if (request.olderThan !== null) deleted += await this.pruneByAge(request.olderThan, request);
    if (request.keepPerConversation !== null && !request.signal?.aborted) {
      deleted += await this.pruneByCount(request.keepPerConversation, request);
    }
    return deleted;
  }

  async deleteUserData(userId: string, { batchSize }: { batchSize: number }): Promise<DeletedUserMessages> {
    let messages = 0;
    let directConversations = 0;
    for (const dmKey of await this.directConversationsOf(userId)) {
      const gone = await this.deleteDirectConversation(dmKey, batchSize);
      messages += gone.messages;
      if (gone.existed) directConversations += 1;
      await nextTurn();
    }
    messages += await this.deleteRoomMessagesOf(userId, batchSize);
    return { messages, directConversations };
  }

  /**
   * Walks from the oldest id and deletes the messages created before `olderThan`, stopping at the
   * first batch that holds a younger one (ids follow creation: what comes after it is younger still).
   */
  private async pruneByAge(olderThan: number, { batchSize, signal }: MessagePruneRequest): Promise<number> {
    let deleted = 0;
    let afterId = 0;
    while (!signal?.aborted) {
      const rows = await this.messages.find({
        select: { id: true, createdAt: true },
        where: { id: MoreThan(afterId) },
        order: { id: 'ASC' },
        take: batchSize,
      });
      const expired = rows.filter((row) => row.createdAt < olderThan).map((row) => row.id);
      if (expired.length > 0) deleted += await this.deleteBatch(expired);
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < batchSize || expired.length < rows.length) break;
      afterId = last.id;
      await nextTurn();
    }
    return deleted;
  }

  /** Keeps the newest `keep` messages of each room and direct conversation counted above `keep`. */
  private async pruneByCount(keep: number, request: MessagePruneRequest): Promise<number> {
    let deleted = 0;
    const rooms = this.dataSource.getRepository(RoomEntity);
    for (let afterId = 0; !request.signal?.aborted;) {
      const page = await rooms.find({
        select: { id: true },
        where: { id: MoreThan(afterId), messageCount: MoreThan(keep) },
        order: { id: 'ASC' },
        take: CONVERSATIONS_PAGE,
      });
      for (const room of page) {
        if (request.signal?.aborted) break;
        deleted += await this.trim({ roomId: room.id }, keep, request);
      }
      const last = page[page.length - 1];
      if (last === undefined || page.length < CONVERSATIONS_PAGE) break;
      afterId = last.id;
    }
    const threads = this.dataSource.getRepository(DmThreadEntity);
    for (let afterKey = ''; !request.signal?.aborted;) {
      const page = await threads.find({
        select: { dmKey: true },
        where: { dmKey: MoreThan(afterKey), messageCount: MoreThan(keep) },
        order: { dmKey: 'ASC' },
        take: CONVERSATIONS_PAGE,
      });
      for (const thread of page) {
        if (request.signal?.aborted) break;
        deleted += await this.trim({ dmKey: thread.dmKey }, keep, request);
      }
      const last = page[page.length - 1];
      if (last === undefined || page.length < CONVERSATIONS_PAGE) break;
      afterKey = last.dmKey;
    }
    return deleted;
  }

  /** Deletes the messages of one conversation placed before its newest `keep`, oldest first. */
  private async trim(
    conversation: ConversationRef,
    keep: number,
    { batchSize, signal }: MessagePruneRequest,
  ): Promise<number> {
    const where = 'roomId' in conversation ? { roomId: conversation.roomId } : { dmKey: conversation.dmKey };
    const [oldestKept] = await this.messages.find({
      select: { seq: true },
      where,
      order: { seq: 'DESC' },
      skip: keep - 1,
      take: 1,
    });
    if (oldestKept === undefined) return 0;
    let deleted = 0;
    while (!signal?.aborted) {
      const rows = await this.messages.find({
        select: { id: true },
        where: { ...where, seq: LessThan(oldestKept.seq) },
        order: { seq: 'ASC' },
        take: batchSize,
      });
      if (rows.length > 0) deleted += await this.deleteBatch(rows.map((row) => row.id));
      await nextTurn();
      if (rows.length < batchSize) break;
    }
    return deleted;
  }

  /** The keys of the user's direct conversations: with messages, or only a counter row left. */
  private async directConversationsOf(userId: string): Promise<string[]> {
    const keys = new Set<string>();
    const literal = likeLiteral(userId);
    const threads = await this.dataSource
      .getRepository(DmThreadEntity)
      .createQueryBuilder('thread')
      .select('thread.dmKey', 'dm_key')
      .where(`thread.dmKey LIKE :lower ESCAPE '\\' OR thread.dmKey LIKE :higher ESCAPE '\\'`, {
        lower: `${literal}|%`,
        higher: `%|${literal}`,
      })
      .getRawMany<{ dm_key: string }>();
    // A key found by its text alone is ambiguous when an id holds '|' ("a|b" and "c" make "a|b|c",
    // which also reads as "a" and "b|c"): only a key of exactly two ids is taken from it. The keys
    // of the user's own messages below are exact.
    for (const row of threads) if (row.dm_key.split('|').length === 2) keys.add(row.dm_key);
    for (const column of ['senderId', 'recipientId'] as const) {
      const rows = await this.messages
        .createQueryBuilder('m')
        .select('DISTINCT m.dmKey', 'dm_key')
        .where('m.dmKey IS NOT NULL')
        .andWhere(`m.${column} = :userId`, { userId })
        .getRawMany<{ dm_key: string }>();
      for (const row of rows) keys.add(row.dm_key);
    }
    // LIKE ignores case on SQLite: only the keys that name exactly this user.
    return [...keys].filter((key) => isDirectConversationOf(key, userId));
  }

  /**
   * Deletes a direct conversation's messages in batches, then its counter row with what is left, in
   * one transaction that takes the row first: a message being stored meanwhile commits before, and
   * goes too (on PostgreSQL the DELETE waits for its lock, and the next statement sees it).
   */
  private async deleteDirectConversation(
    dmKey: string,
    batchSize: number,
  ): Promise<{ messages: number; existed: boolean }> {
    let messages = 0;
    for (;;) {
      const rows = await this.messages.find({
        select: { id: true },
        where: { dmKey },
        order: { seq: 'ASC' },
        take: batchSize,
      });
      if (rows.length < batchSize) break;
      messages += await this.deleteBatch(rows.map((row) => row.id));
      await nextTurn();
    }
    return this.writes.transaction(async (manager) => {
      const thread = await manager.delete(DmThreadEntity, { dmKey });
      const rest = await manager.delete(MessageEntity, { dmKey });
      messages += rest.affected ?? 0;
      return { messages, existed: (thread.affected ?? 0) > 0 || messages > 0 };
    });
  }

  /** The user's room messages, found window by window of ids. */
  private async deleteRoomMessagesOf(userId: string, batchSize: number): Promise<number> {
    const newest = await this.messages
      .createQueryBuilder('m')
      .select('MAX(m.id)', 'id')
      .getRawOne<{ id: number | string | null }>();
    const maxId = Number(newest?.id ?? 0);
    let deleted = 0;
    for (let from = 1; from <= maxId; from += SCAN_WINDOW) {
      const rows = await this.messages.find({
        select: { id: true },
        where: { id: Between(from, from + SCAN_WINDOW - 1), senderId: userId, roomId: Not(IsNull()) },
        order: { id: 'ASC' },
      });
      for (let start = 0; start < rows.length; start += batchSize) {
        deleted += await this.deleteBatch(rows.slice(start, start + batchSize).map((row) => row.id));
        await nextTurn();
      }
      await nextTurn();
    }
    return deleted;
  }

  /** Deletes these messages and takes those it deleted off their conversations' counts. */
  private deleteBatch(ids: number[]): Promise<number> {
    return this.writes.transaction(async (manager) => {
      const metadata = manager.connection.getMetadata(MessageEntity);
      const { driver } = manager.connection;
      const column = (property: string): string =>
        driver.escape(metadata.findColumnWithPropertyName(property)!.databaseName);
      const [sql, parameters] = manager
        .createQueryBuilder()
        .delete()
        .from(MessageEntity)
        .where(`${column('id')} IN (:...ids)`, { ids })
        .getQueryAndParameters();
      // RETURNING (SQLite 3.35+, PostgreSQL): only the rows this statement deleted are counted off.
      const result = (await manager.queryRunner!.query(
        `${sql} RETURNING ${column('roomId')} AS "room_id", ${column('dmKey')} AS "dm_key"`,
        parameters,
        true,
      )) as QueryResult<DeletedRow>;
      const rows = result.records;
      const rooms = new Map<number, number>();
      const threads = new Map<string, number>();
      for (const row of rows) {
        if (row.room_id !== null) rooms.set(Number(row.room_id), (rooms.get(Number(row.room_id)) ?? 0) + 1);
        else if (row.dm_key !== null) threads.set(row.dm_key, (threads.get(row.dm_key) ?? 0) + 1);
      }
      await this.uncount(manager, RoomEntity, 'id', rooms);
      await this.uncount(manager, DmThreadEntity, 'dmKey', threads);
      return rows.length;
    });
  }

  /** `message_count -= n` for each conversation, in one UPDATE per table. */
  private async uncount<K extends number | string>(
    manager: EntityManager,
    entity: typeof RoomEntity | typeof DmThreadEntity,
    keyProperty: 'id' | 'dmKey',
    counts: ReadonlyMap<K, number>,
  ): Promise<void> {
    if (counts.size === 0) return;
    const metadata = manager.connection.getMetadata(entity);
    const { driver } = manager.connection;
    const key = driver.escape(metadata.findColumnWithPropertyName(keyProperty)!.databaseName);
    const count = driver.escape(metadata.findColumnWithPropertyName('messageCount')!.databaseName);
    const parameters: Record<string, K | number> = {};
    const cases = [...counts]
      .map(([conversation, deleted], index) => {
        parameters[`key${index}`] = conversation;
        parameters[`deleted${index}`] = deleted;
        return `WHEN :key${index} THEN CAST(:deleted${index} AS integer)`;
      })
      .join(' ');
    await manager
      .createQueryBuilder()
      .update(entity)
      .set({ messageCount: () => `${count} - CASE ${key} ${cases} ELSE 0 END` })
      .where(`${key} IN (:...keys)`, { keys: [...counts.keys()] })
      .setParameters(parameters)
      .execute();
  }
}
