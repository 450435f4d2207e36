// MessageStore on the library's TypeORM connection: all the message SQL. Storing a message is the
// hot path, so its SQL is built once: save() (and even the insert query builder) rebuild the SQL and
// a change set on every message, costing several times the insert itself. Embedded SQLite: one
// synchronous transaction on prepared statements, in turn with the library's other writers; other
// databases: the same statements through TypeORM's transaction.
import type { DataSource, FindOptionsWhere } from 'typeorm';
import { MoreThan } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { DmThreadEntity } from './entities/dm-thread.entity';
import { MessageEntity } from './entities/message.entity';
import { RoomEntity } from './entities/room.entity';
import type { ConversationRef, MessageRecord, MessageRow, MessageStore } from '../realtime-storage.interface';
import {
  nativeSqlite,
  type NativeSqlite,
  type NativeSqliteStatement,
  type WriteQueue,
} from './write-transaction';

/** The id in the row an `INSERT … RETURNING id` gave back. */
function insertedId(row: unknown): number {
  const id = (row as { id?: number | bigint | string } | undefined)?.id;
  if (id === undefined) throw new Error('INSERT of a message returned no id');
  return Number(id);
}

function toRow(entity: MessageEntity): MessageRow {
  return {
    id: entity.id,
    roomId: entity.roomId,
    dmKey: entity.dmKey,
    senderId: entity.senderId,
    senderUsername: entity.senderUsername,
    recipientId: entity.recipientId,
    content: entity.content,
    messageType: entity.messageType as MessageRow['messageType'],
    mediaUrl: entity.mediaUrl,
    mediaType: entity.mediaType,
    duration: entity.duration,
    replyTo: entity.replyTo,
    context: entity.context,
    createdAt: entity.createdAt,
  };
}

function whereOf(conversation: ConversationRef): FindOptionsWhere<MessageEntity> {
  return 'roomId' in conversation ? { roomId: conversation.roomId } : { dmKey: conversation.dmKey };
}

export class TypeOrmMessageStore implements MessageStore {
  private roomCountSql: string | null = null;
  private messageInsert: { sql: string; sqliteSql: string; columns: ColumnMetadata[] } | null = null;
  private dmCountSql: string | null = null;
  /** Prepared statements by SQL, for the native connection `statementsOf`. */
  private readonly statements = new Map<string, NativeSqliteStatement>();
  private statementsOf: NativeSqlite | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly writes: WriteQueue,
  ) {}

  insert(message: MessageRecord): Promise<number> {
    const counter =
      message.roomId !== null
        ? { sql: this.countRoomMessageSql(), param: message.roomId as unknown }
        : { sql: this.countDirectMessageSql(), param: message.dmKey as unknown };
    // The record has the entity's property names; the generated id is not among the insert's columns.
    const values = this.insertValues(message);
    const { sql: insertSql, sqliteSql } = this.insertMessageSql();
    const db = nativeSqlite(this.dataSource);
    if (db !== null) {
      const insert = this.prepared(db, sqliteSql);
      const count = this.prepared(db, counter.sql);
      return this.writes.sqliteTransaction(db, () => {
        const id = Number(insert.run(...values).lastInsertRowid);
        count.run(counter.param);
        return id;
      });
    }
    return this.writes.transaction(async (manager) => {
      const rows = await manager.query<unknown[]>(insertSql, values);
      await manager.query(counter.sql, [counter.param]);
      return insertedId(rows[0]);
    });
  }

  exists(id: number, conversation: ConversationRef): Promise<boolean> {
    return this.dataSource.getRepository(MessageEntity).exists({ where: { id, ...whereOf(conversation) } });
  }

  async count(conversation: ConversationRef): Promise<number> {
    if ('roomId' in conversation) {
      const room = await this.dataSource
        .getRepository(RoomEntity)
        .findOne({ where: { id: conversation.roomId } });
      return room?.messageCount ?? 0;
    }
    const thread = await this.dataSource
      .getRepository(DmThreadEntity)
      .findOne({ where: { dmKey: conversation.dmKey } });
    return thread?.messageCount ?? 0;
  }

  async newest(conversation: ConversationRef, offset: number, limit: number): Promise<MessageRow[]> {
    const rows = await this.dataSource
      .getRepository(MessageEntity)
      .find({ where: whereOf(conversation), order: { id: 'DESC' }, skip: offset, take: limit });
    return rows.reverse().map(toRow);
  }

  async after(conversation: ConversationRef, afterId: number, limit: number): Promise<MessageRow[]> {
    const rows = await this.dataSource.getRepository(MessageEntity).find({
      where: { ...whereOf(conversation), id: MoreThan(afterId) },
      order: { id: 'ASC' },
      take: limit,
    });
    return rows.map(toRow);
  }

  /** The INSERT's values, converted by the driver as TypeORM would convert them. */
  private insertValues(row: MessageRecord): unknown[] {
    const { driver } = this.dataSource;
    return this.insertMessageSql().columns.map(
      (column): unknown =>
        driver.preparePersistentValue(column.getEntityValue(row as MessageEntity, true), column) as unknown,
    );
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
