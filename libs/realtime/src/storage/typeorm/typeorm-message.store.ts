// MessageStore on the library's TypeORM connection: all the message SQL. Storing a message is the
// hot path, so its SQL is built once: save() (and even the insert query builder) rebuild the SQL and
// a change set on every message, costing several times the insert itself. Embedded SQLite: one
// synchronous transaction on prepared statements, in turn with the library's other writers; other
// databases: the same statements through TypeORM's transaction.
//
// Reading a history page is the other hot path (a reader scrolling back, a client catching up):
// on SQLite its two queries are prepared statements too, and the rows are converted column by column
// by the driver, as TypeORM's find() converts them. find() built the query and an entity per row
// every time: about 160 KB allocated per 50-row page (a scavenge every ~100 pages, which made the
// history benchmark's p99) and most of the page's CPU.
//
// Order within a conversation: the insert first takes the conversation's next `seq` from its counter
// row (`last_seq + 1 … RETURNING`), then stores the message with it. On PostgreSQL that UPDATE locks
// the row until commit, so the writers of one conversation commit one after the other, in seq order:
// no seq becomes visible before a smaller one, and history and catch-up read by seq.
import type { DataSource, FindOptionsWhere } from 'typeorm';
import { MoreThan } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { QueryResult } from 'typeorm/query-runner/QueryResult';
import { DmThreadEntity } from './entities/dm-thread.entity';
import { MessageEntity } from './entities/message.entity';
import { RoomEntity } from './entities/room.entity';
import type {
  ConversationRef,
  DeletedUserMessages,
  MessagePruneRequest,
  MessageRecord,
  MessageRow,
  MessageStore,
} from '../realtime-storage.interface';
import { TypeOrmMessageDeletion } from './typeorm-message-deletion';
import { nativeSqlite, PreparedStatements, type WriteQueue } from './write-transaction';

/** The id in the row an `INSERT … RETURNING id` gave back. */
function insertedId(row: unknown): number {
  const id = (row as { id?: number | bigint | string } | undefined)?.id;
  if (id === undefined) throw new Error('INSERT of a message returned no id');
  return Number(id);
}

/** The seq the counter row gave (`RETURNING last_seq`); none: the room does not exist (any more). */
function takenSeq(seq: unknown, conversation: unknown): number {
  if (seq === undefined || seq === null)
    throw new Error(`no conversation ${String(conversation)} to number a message in`);
  return Number(seq);
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
  private roomSeqSql: string | null = null;
  private messageInsert: { sql: string; sqliteSql: string; columns: ColumnMetadata[] } | null = null;
  private dmSeqSql: string | null = null;
  /** History reads' SQLite statements by read and kind of conversation (readSqlFor). */
  private readonly readSql = new Map<string, string>();
  private readonly statements = new PreparedStatements();
  private readonly deletion: TypeOrmMessageDeletion;

  constructor(
    private readonly dataSource: DataSource,
    private readonly writes: WriteQueue,
  ) {
    this.deletion = new TypeOrmMessageDeletion(dataSource, writes);
  }

  insert(message: MessageRecord): Promise<number> {
    const counter =
      message.roomId !== null
        ? { sql: this.nextRoomSeqSql(), key: message.roomId as unknown }
        : { sql: this.nextDirectSeqSql(), key: message.dmKey as unknown };
    // The record has the entity's property names; the generated id is not among the insert's
    // columns, and the seq (the last one) is filled in once the counter gave it.
    const values = this.insertValues(message);
    const seqSlot = values.length - 1;
    const { sql: insertSql, sqliteSql } = this.insertMessageSql();
    const db = nativeSqlite(this.dataSource);
    if (db !== null) {
      // The counter's statement returns the bare last_seq (pluck): no row object per message.
      const nextSeq = this.statements.get(db, counter.sql, true);
      const insert = this.statements.get(db, sqliteSql);
      return this.writes.sqliteTransaction(db, () => {
        values[seqSlot] = takenSeq(nextSeq.get(counter.key), counter.key);
        return Number(insert.run(...values).lastInsertRowid);
      });
    }
    return this.writes.transaction(async (manager) => {
      // Structured: PostgreSQL answers an UPDATE with [rows, count] and an INSERT with rows.
      const counted = (await manager.queryRunner!.query(counter.sql, [counter.key], true)) as QueryResult<{
        last_seq?: number | string;
      }>;
      values[seqSlot] = takenSeq(counted.records[0]?.last_seq, counter.key);
      const rows = await manager.query<unknown[]>(insertSql, values);
      return insertedId(rows[0]);
    });
  }

  exists(id: number, conversation: ConversationRef): Promise<boolean> {
    return this.dataSource.getRepository(MessageEntity).exists({ where: { id, ...whereOf(conversation) } });
  }

  async count(conversation: ConversationRef): Promise<number> {
    const db = nativeSqlite(this.dataSource);
    if (db !== null) {
      const { sql, key } = this.readSqlFor('count', conversation);
      return Number(this.statements.get(db, sql, true).get(key) ?? 0);
    }
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
    const db = nativeSqlite(this.dataSource);
    if (db !== null) {
      const { sql, key } = this.readSqlFor('newest', conversation);
      const raw = this.statements.get(db, sql).all(key, limit, offset) as Array<Record<string, unknown>>;
      const { columns } = this.dataSource.getMetadata(MessageEntity);
      const rows = new Array<MessageRow>(raw.length);
      // Newest first from the index; the page is oldest first.
      for (let index = 0; index < raw.length; index++)
        rows[raw.length - 1 - index] = this.hydrated(raw[index]!, columns);
      return rows;
    }
    const rows = await this.dataSource
      .getRepository(MessageEntity)
      .find({ where: whereOf(conversation), order: { seq: 'DESC' }, skip: offset, take: limit });
    return rows.reverse().map(toRow);
  }

  async after(conversation: ConversationRef, afterId: number, limit: number): Promise<MessageRow[]> {
    const messages = this.dataSource.getRepository(MessageEntity);
    const where = whereOf(conversation);
    // The anchor's place (a primary-key lookup); ids start at 1, so 0 names none.
    const anchor =
      afterId > 0
        ? await messages.findOne({ select: { id: true, seq: true }, where: { id: afterId, ...where } })
        : null;
    const rows = await messages.find({
      // An id that names no message of the conversation (0, another conversation's, a removed
      // one) has no place: the messages with a greater id, still in commit order.
      where: anchor === null ? { ...where, id: MoreThan(afterId) } : { ...where, seq: MoreThan(anchor.seq) },
      order: { seq: 'ASC' },
      take: limit,
    });
    return rows.map(toRow);
  }

  prune(request: MessagePruneRequest): Promise<number> {
    return this.deletion.prune(request);
  }

  deleteUserData(userId: string, options: { batchSize: number }): Promise<DeletedUserMessages> {
    return this.deletion.deleteUserData(userId, options);
  }

  /**
   * The INSERT's values, converted by the driver as TypeORM would convert them, and a last slot for
   * the seq, set inside the transaction (sized once: no array growth per message).
   */
  private insertValues(row: MessageRecord): unknown[] {
    const { driver } = this.dataSource;
    const { columns } = this.insertMessageSql();
    const values = new Array<unknown>(columns.length + 1);
    for (let index = 0; index < columns.length; index++) {
      const column = columns[index] as ColumnMetadata;
      values[index] = driver.preparePersistentValue(column.getEntityValue(row, true), column);
    }
    return values;
  }

  /**
   * A history read's SQLite statement for the conversation's kind (built once per read and kind) and
   * the conversation's key to bind first.
   */
  private readSqlFor(read: 'newest' | 'count', conversation: ConversationRef): { sql: string; key: unknown } {
    const byRoom = 'roomId' in conversation;
    const key = byRoom ? conversation.roomId : conversation.dmKey;
    const name = `${read}:${byRoom ? 'room' : 'direct'}`;
    let sql = this.readSql.get(name);
    if (sql === undefined) {
      sql = read === 'newest' ? this.newestSql(byRoom) : this.countSql(byRoom);
      this.readSql.set(name, sql);
    }
    return { sql, key };
  }

  /** A conversation's newest messages from `offset` on, newest first, every column by database name. */
  private newestSql(byRoom: boolean): string {
    const { driver } = this.dataSource;
    const metadata = this.dataSource.getMetadata(MessageEntity);
    const column = (property: string): string =>
      driver.escape(metadata.findColumnWithPropertyName(property)!.databaseName);
    return (
      `SELECT ${metadata.columns.map((c) => driver.escape(c.databaseName)).join(', ')} ` +
      `FROM ${driver.escape(metadata.tableName)} WHERE ${column(byRoom ? 'roomId' : 'dmKey')} = ? ` +
      `ORDER BY ${column('seq')} DESC LIMIT ? OFFSET ?`
    );
  }

  /** A conversation's message count, from its counter row. */
  private countSql(byRoom: boolean): string {
    const { driver } = this.dataSource;
    const metadata = this.dataSource.getMetadata(byRoom ? RoomEntity : DmThreadEntity);
    const column = (property: string): string =>
      driver.escape(metadata.findColumnWithPropertyName(property)!.databaseName);
    return (
      `SELECT ${column('messageCount')} FROM ${driver.escape(metadata.tableName)} ` +
      `WHERE ${column(byRoom ? 'id' : 'dmKey')} = ?`
    );
  }

  /** A raw row as find() would give it: each column converted by the driver (and its transformer). */
  private hydrated(raw: Record<string, unknown>, columns: readonly ColumnMetadata[]): MessageRow {
    const { driver } = this.dataSource;
    const entity = {} as Record<string, unknown>;
    for (const column of columns) {
      entity[column.propertyName] = driver.prepareHydratedValue(raw[column.databaseName], column);
    }
    return toRow(entity as unknown as MessageEntity);
  }

  private insertMessageSql(): { sql: string; sqliteSql: string; columns: ColumnMetadata[] } {
    if (this.messageInsert === null) {
      const { driver } = this.dataSource;
      const metadata = this.dataSource.getMetadata(MessageEntity);
      const seq = metadata.findColumnWithPropertyName('seq')!;
      const columns = metadata.columns.filter((column) => !column.isGenerated && column !== seq);
      const id = driver.escape(metadata.findColumnWithPropertyName('id')!.databaseName);
      const names = [...columns, seq].map((column) => driver.escape(column.databaseName));
      const insert =
        `INSERT INTO ${driver.escape(metadata.tableName)} (${names.join(', ')}) ` +
        `VALUES (${names.map((_, index) => driver.createParameter(`p${index}`, index)).join(', ')})`;
      this.messageInsert = {
        sql: `${insert} RETURNING ${id}`,
        // The id is the rowid: better-sqlite3 reports it, and RETURNING would cost a result table.
        sqliteSql: insert,
        columns,
      };
    }
    return this.messageInsert;
  }

  /**
   * A room's next seq, counting the message: `last_seq + 1` and `message_count + 1` of its row,
   * returning the new last_seq (SQL built once: the query builder costs more than the update).
   */
  private nextRoomSeqSql(): string {
    if (this.roomSeqSql === null) {
      const { driver } = this.dataSource;
      const metadata = this.dataSource.getMetadata(RoomEntity);
      const count = driver.escape(metadata.findColumnWithPropertyName('messageCount')!.databaseName);
      const last = driver.escape(metadata.findColumnWithPropertyName('lastSeq')!.databaseName);
      const id = driver.escape(metadata.findColumnWithPropertyName('id')!.databaseName);
      this.roomSeqSql =
        `UPDATE ${driver.escape(metadata.tableName)} SET ${last} = ${last} + 1, ${count} = ${count} + 1 ` +
        `WHERE ${id} = ${driver.createParameter('id', 0)} RETURNING ${last}`;
    }
    return this.roomSeqSql;
  }

  /**
   * A direct conversation's next seq, counting the message, creating its thread row at 1 if missing
   * (one upsert returning the new last_seq, as SQL built once; SQLite and PostgreSQL share the syntax).
   */
  private nextDirectSeqSql(): string {
    if (this.dmSeqSql === null) {
      const { driver } = this.dataSource;
      const metadata = this.dataSource.getMetadata(DmThreadEntity);
      const table = driver.escape(metadata.tableName);
      const key = driver.escape(metadata.findColumnWithPropertyName('dmKey')!.databaseName);
      const count = driver.escape(metadata.findColumnWithPropertyName('messageCount')!.databaseName);
      const last = driver.escape(metadata.findColumnWithPropertyName('lastSeq')!.databaseName);
      this.dmSeqSql =
        `INSERT INTO ${table} (${key}, ${count}, ${last}) VALUES (${driver.createParameter('key', 0)}, 1, 1) ` +
        `ON CONFLICT (${key}) DO UPDATE SET ${count} = ${table}.${count} + 1, ${last} = ${table}.${last} + 1 ` +
        `RETURNING ${last}`;
    }
    return this.dmSeqSql;
  }
}
