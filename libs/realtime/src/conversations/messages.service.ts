// The one set of message rules for every transport: validation (types, media, length, reply
// target), per-user rate limits, persistence before anything is delivered, history paging.
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, MoreThan, type EntityManager, type FindOptionsWhere } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { RealtimeErrorCode } from '../protocol';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeError } from '../core/errors/realtime-error';
import { REALTIME_CONNECTION, REALTIME_OPTIONS } from '../realtime.constants';
import {
  nativeSqlite,
  sqliteWriteTransaction,
  writeTransaction,
  type NativeSqlite,
  type NativeSqliteStatement,
} from '../storage/write-transaction';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { DmThreadEntity } from '../storage/entities/dm-thread.entity';
import { MessageEntity } from '../storage/entities/message.entity';
import { RoomEntity } from '../storage/entities/room.entity';
import { InjectUserDirectory, type UserDirectory } from '../storage/user-directory.interface';
import { ConversationBus } from './conversation-bus';
import {
  MESSAGE_KINDS,
  type HistoryPage,
  type HistoryQuery,
  type MessageKind,
  type NewMessage,
  type StoredMessage,
} from './conversation.types';
import { MessageRateLimiter } from './rate-limiter.service';
import { RoomsService } from './rooms.service';

const MAX_REACTION_LENGTH = 32;
const MAX_CONTEXT_BYTES = 4096;
const MAX_AUDIO_SECONDS = 3600;

export function dmKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function toStored(row: MessageEntity, room: string | null): StoredMessage {
  return {
    id: row.id,
    room,
    senderId: row.senderId,
    senderUsername: row.senderUsername,
    recipientId: row.recipientId,
    content: row.content,
    messageType: row.messageType as MessageKind,
    mediaUrl: row.mediaUrl,
    mediaType: row.mediaType,
    duration: row.duration,
    replyTo: row.replyTo,
    context: row.context,
    createdAt: row.createdAt,
  };
}

function newMessageRow(
  sender: RealtimeIdentity,
  input: NewMessage,
  kind: MessageKind,
  target: { roomId: number | null; dmKey: string | null; recipientId: string | null },
): MessageEntity {
  // A literal of one fixed shape, not an entity instance: the row is only read (insert values, the
  // stored message), and `new MessageEntity()` followed by an assign defined fourteen fields and
  // then changed the object's shape on every message.
  return {
    id: 0,
    roomId: target.roomId,
    dmKey: target.dmKey,
    senderId: sender.userId,
    senderUsername: sender.username,
    recipientId: target.recipientId,
    content: input.content,
    messageType: kind,
    mediaUrl: input.mediaUrl ?? null,
    mediaType: input.mediaType ?? null,
    duration: input.duration ?? null,
    replyTo: input.replyTo ?? null,
    context: input.context ?? null,
    createdAt: Date.now(),
  };
}

/** The id in the row an `INSERT … RETURNING id` gave back. */
function insertedId(row: unknown): number {
  const id = (row as { id?: number | bigint | string } | undefined)?.id;
  if (id === undefined) throw new Error('INSERT of a message returned no id');
  return Number(id);
}

function invalid(field: string, message: string): RealtimeError {
  return RealtimeError.invalidFormat(message, { field });
}

/** A relative path ("/uploads/a.jpg") or an https URL. */
function isAllowedMediaUrl(value: string): boolean {
  if (value.length > 2048 || /\s/.test(value)) return false;
  if (value.startsWith('/') && !value.startsWith('//')) return true;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

@Injectable()
export class MessagesService {
  private roomCountSql: string | null = null;
  private messageInsert: { sql: string; sqliteSql: string; columns: ColumnMetadata[] } | null = null;
  private dmCountSql: string | null = null;
  /** Prepared statements by SQL, for the native connection `statementsOf`. */
  private readonly statements = new Map<string, NativeSqliteStatement>();
  private statementsOf: NativeSqlite | null = null;

  constructor(
    @InjectDataSource(REALTIME_CONNECTION) private readonly dataSource: DataSource,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    @InjectUserDirectory() private readonly users: UserDirectory,
    private readonly rooms: RoomsService,
    private readonly limiter: MessageRateLimiter,
    private readonly bus: ConversationBus,
  ) {}

  /** Validates, rate-limits, stores, then publishes a room message. Private rooms: members only. */
  async postToRoom(sender: RealtimeIdentity, roomName: string, input: NewMessage): Promise<StoredMessage> {
    const room = await this.rooms.requireSummary(roomName);
    await this.rooms.assertAccess(sender, room);
    const kind = this.validate(input);
    if (input.replyTo !== undefined) await this.assertReplyTarget(input.replyTo, { roomId: room.id });
    await this.limiter.consume(sender.userId);
    const row = newMessageRow(sender, input, kind, { roomId: room.id, dmKey: null, recipientId: null });
    row.id = await this.store(row, { sql: this.countRoomMessageSql(), param: room.id });
    const message = toStored(row, room.name);
    this.bus.publish({ kind: 'room', room: room.name, message });
    return message;
  }

  /** Validates, rate-limits, stores, then publishes a direct message. USER_NOT_FOUND for an unknown recipient. */
  async postDirect(sender: RealtimeIdentity, recipientId: string, input: NewMessage): Promise<StoredMessage> {
    const recipient = await this.users.findById(recipientId);
    if (!recipient)
      throw new RealtimeError(RealtimeErrorCode.USER_NOT_FOUND, 'User not found', { user_id: recipientId });
    const key = dmKey(sender.userId, recipientId);
    const kind = this.validate(input);
    if (input.replyTo !== undefined) await this.assertReplyTarget(input.replyTo, { dmKey: key });
    await this.limiter.consume(sender.userId);
    const row = newMessageRow(sender, input, kind, { roomId: null, dmKey: key, recipientId });
    row.id = await this.store(row, { sql: this.countDirectMessageSql(), param: key });
    const message = toStored(row, null);
    this.bus.publish({ kind: 'direct', message });
    return message;
  }

  async roomHistory(reader: RealtimeIdentity, roomName: string, query: HistoryQuery): Promise<HistoryPage> {
    const room = await this.rooms.require(roomName);
    await this.rooms.assertAccess(reader, room);
    return this.page({ roomId: room.id }, room.messageCount, query, room.name);
  }

  async dmHistory(reader: RealtimeIdentity, otherUserId: string, query: HistoryQuery): Promise<HistoryPage> {
    if (!(await this.users.findById(otherUserId))) {
      throw new RealtimeError(RealtimeErrorCode.USER_NOT_FOUND, 'User not found', { user_id: otherUserId });
    }
    const key = dmKey(reader.userId, otherUserId);
    const thread = await this.dataSource.getRepository(DmThreadEntity).findOne({ where: { dmKey: key } });
    return this.page({ dmKey: key }, thread?.messageCount ?? 0, query, null);
  }

  /** Checks a history query's numbers against the limits (INVALID_FORMAT naming the field). */
  checkHistoryQuery(query: HistoryQuery): void {
    const max = this.options.limits.maxHistoryLimit;
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > max) {
      throw RealtimeError.invalidFormat(`limit must be an integer from 1 to ${max}`, { field: 'limit', max });
    }
    if (!Number.isInteger(query.offset) || query.offset < 0) {
      throw invalid('offset', 'offset must be a non-negative integer');
    }
    if (query.afterId !== undefined && (!Number.isInteger(query.afterId) || query.afterId < 0)) {
      throw invalid('after_id', 'after_id must be a non-negative integer');
    }
  }

  private async page(
    where: FindOptionsWhere<MessageEntity>,
    total: number,
    query: HistoryQuery,
    room: string | null,
  ): Promise<HistoryPage> {
    this.checkHistoryQuery(query);
    const messages = this.dataSource.getRepository(MessageEntity);
    if (query.afterId !== undefined) {
      // Catch-up: the oldest messages newer than after_id, one more to know whether more follow.
      const rows = await messages.find({
        where: { ...where, id: MoreThan(query.afterId) },
        order: { id: 'ASC' },
        take: query.limit + 1,
      });
      const hasMore = rows.length > query.limit;
      return { messages: rows.slice(0, query.limit).map((row) => toStored(row, room)), total, hasMore };
    }
    const rows = await messages.find({ where, order: { id: 'DESC' }, skip: query.offset, take: query.limit });
    rows.reverse();
    return {
      messages: rows.map((row) => toStored(row, room)),
      total,
      hasMore: query.offset + rows.length < total,
    };
  }

  /** Semantic checks of a message (types come checked from the DTO); returns its kind. */
  private validate(input: NewMessage): MessageKind {
    const kind = input.messageType ?? 'text';
    if (!(MESSAGE_KINDS as readonly string[]).includes(kind)) {
      throw invalid('message_type', `message_type must be one of ${MESSAGE_KINDS.join(', ')}`);
    }
    if (typeof input.content !== 'string') throw invalid('content', 'content must be a string');
    const max = this.options.limits.maxMessageLength;
    if (input.content.length > max) {
      throw new RealtimeError(RealtimeErrorCode.MESSAGE_TOO_LONG, `Message longer than ${max} characters`, {
        max_length: max,
        length: input.content.length,
      });
    }
    switch (kind) {
      case 'text':
        if (input.content.trim() === '') throw invalid('content', 'content must not be empty');
        break;
      case 'image':
        this.checkMediaUrl(input.mediaUrl);
        if (typeof input.mediaType !== 'string' || !/^image\/[A-Za-z0-9.+-]+$/.test(input.mediaType)) {
          throw invalid('media_type', 'media_type must be an image/* type');
        }
        break;
      case 'audio':
        this.checkMediaUrl(input.mediaUrl);
        if (
          typeof input.duration !== 'number' ||
          !(input.duration > 0) ||
          input.duration > MAX_AUDIO_SECONDS
        ) {
          throw invalid(
            'duration',
            `duration must be a number of seconds above 0 and at most ${MAX_AUDIO_SECONDS}`,
          );
        }
        break;
      case 'reaction':
        if (input.replyTo === undefined) throw invalid('reply_to', 'a reaction needs reply_to');
        if (input.content.trim() === '' || input.content.length > MAX_REACTION_LENGTH) {
          throw invalid('content', `a reaction is 1-${MAX_REACTION_LENGTH} characters`);
        }
        break;
    }
    if (input.replyTo !== undefined && (!Number.isInteger(input.replyTo) || input.replyTo < 1)) {
      throw invalid('reply_to', 'reply_to must be a message id');
    }
    if (input.context !== undefined && Buffer.byteLength(JSON.stringify(input.context)) > MAX_CONTEXT_BYTES) {
      throw invalid('context', `context must serialise to at most ${MAX_CONTEXT_BYTES} bytes`);
    }
    return kind;
  }

  private checkMediaUrl(url: string | undefined): void {
    if (typeof url !== 'string' || !isAllowedMediaUrl(url)) {
      throw invalid('media_url', 'media_url must be a relative path or an https URL');
    }
  }

  private async assertReplyTarget(
    id: number,
    conversation: { roomId: number } | { dmKey: string },
  ): Promise<void> {
    const exists = await this.dataSource
      .getRepository(MessageEntity)
      .exists({ where: { id, ...conversation } });
    if (!exists) {
      throw RealtimeError.invalidFormat('reply_to names no message of this conversation', {
        field: 'reply_to',
        reply_to: id,
      });
    }
  }

  /** The INSERT's values, converted by the driver as TypeORM would convert them. */
  private insertValues(row: MessageEntity): unknown[] {
    const { driver } = this.dataSource;
    return this.insertMessageSql().columns.map(
      (column): unknown => driver.preparePersistentValue(column.getEntityValue(row, true), column) as unknown,
    );
  }

  /**
   * Stores a message and counts it in its conversation (`counter`, one statement with one parameter),
   * in one write transaction; returns the message id. The SQL is built once: save() (and even the
   * insert query builder) rebuild the SQL and a change set on every message, costing several times
   * the insert itself. Embedded SQLite: one synchronous transaction on prepared statements; other
   * databases: the same statements through TypeORM's transaction.
   */
  private store(row: MessageEntity, counter: { sql: string; param: unknown }): Promise<number> {
    const values = this.insertValues(row);
    const { sql: insertSql, sqliteSql } = this.insertMessageSql();
    const db = nativeSqlite(this.dataSource);
    if (db !== null) {
      const insert = this.prepared(db, sqliteSql);
      const count = this.prepared(db, counter.sql);
      return sqliteWriteTransaction(this.dataSource, db, () => {
        const id = Number(insert.run(...values).lastInsertRowid);
        count.run(counter.param);
        return id;
      });
    }
    return this.transaction(async (manager) => {
      const rows = await manager.query<unknown[]>(insertSql, values);
      await manager.query(counter.sql, [counter.param]);
      return insertedId(rows[0]);
    });
  }

  /** A statement prepared once on the native SQLite connection. */
  private prepared(db: NativeSqlite, sql: string): NativeSqliteStatement {
    if (this.statementsOf !== db) {
      this.statements.clear();
      this.statementsOf = db;
    }
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private insertMessageSql(): { sql: string; sqliteSql: string; columns: ColumnMetadata[] } {
    if (this.messageInsert === null) {
      const { driver } = this.dataSource;
      const metadata = this.dataSource.getMetadata(MessageEntity);
      const columns = metadata.columns.filter((column) => !column.isGenerated);
      const id = driver.escape(metadata.findColumnWithPropertyName('id')!.databaseName);
      const insert =
        `INSERT INTO ${driver.escape(metadata.tableName)} (${columns.map((c) => driver.escape(c.databaseName)).join(', ')}) ` +
        `VALUES (${columns.map((_, index) => driver.createParameter(`p${index}`, index)).join(', ')})`;
      this.messageInsert = {
        sql: `${insert} RETURNING ${id}`,
        // The id is the rowid: better-sqlite3 reports it, and RETURNING would cost a result table.
        sqliteSql: insert,
        columns,
      };
    }
    return this.messageInsert;
  }

  private transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return writeTransaction(this.dataSource, work);
  }

  /** `message_count + 1` of one room, as SQL built once: the query builder costs more than the update. */
  private countRoomMessageSql(): string {
    if (this.roomCountSql === null) {
      const { driver } = this.dataSource;
      const metadata = this.dataSource.getMetadata(RoomEntity);
      const count = driver.escape(metadata.findColumnWithPropertyName('messageCount')!.databaseName);
      const id = driver.escape(metadata.findColumnWithPropertyName('id')!.databaseName);
      this.roomCountSql = `UPDATE ${driver.escape(metadata.tableName)} SET ${count} = ${count} + 1 WHERE ${id} = ${driver.createParameter('id', 0)}`;
    }
    return this.roomCountSql;
  }

  /**
   * A direct conversation's `message_count + 1`, creating its thread row at 1 if missing (one upsert,
   * as SQL built once; SQLite and PostgreSQL share the syntax).
   */
  private countDirectMessageSql(): string {
    if (this.dmCountSql === null) {
      const { driver } = this.dataSource;
      const metadata = this.dataSource.getMetadata(DmThreadEntity);
      const table = driver.escape(metadata.tableName);
      const key = driver.escape(metadata.findColumnWithPropertyName('dmKey')!.databaseName);
      const count = driver.escape(metadata.findColumnWithPropertyName('messageCount')!.databaseName);
      this.dmCountSql =
        `INSERT INTO ${table} (${key}, ${count}) VALUES (${driver.createParameter('key', 0)}, 1) ` +
        `ON CONFLICT (${key}) DO UPDATE SET ${count} = ${table}.${count} + 1`;
    }
    return this.dmCountSql;
  }
}
