// Numbers each conversation's messages in commit order (SQLite and PostgreSQL): `seq` on rt_messages,
// drawn from `last_seq` of the room or direct-message thread in the insert's transaction. Ids come
// from one sequence drawn before commit, so with concurrent writers (two nodes, a PostgreSQL pool) a
// smaller id can commit after a larger one and a catch-up by `after_id` would skip it; seq cannot.
//
// Existing messages are numbered in id order, the order history showed them in until then. History
// is then served by (conversation, seq): the history indexes move from id to seq, and are unique, so
// that two messages can never share a place in one conversation. Every row is rewritten, once, at
// the first start after the upgrade (on SQLite the table is rebuilt, as it cannot make a column NOT
// NULL in place); writes to rt_messages wait meanwhile, so on a large shared database upgrade the
// nodes in a quiet moment.
import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { DIRECT_MESSAGES_ONLY } from './1732300000003-index-direct-conversations';
import { ROOM_MESSAGES_ONLY } from './1732300000004-partial-history-indexes';

const HISTORY_INDEXES = ['rt_messages_room_history', 'rt_messages_dm_history'];
/** Numbers the messages of each conversation (a room, or a pair: the other key is null) by id. */
const SEQ_BY_ID = 'ROW_NUMBER() OVER (PARTITION BY "room_id", "dm_key" ORDER BY "id")';

export class ConversationSequence1732300000005 implements MigrationInterface {
  name = 'ConversationSequence1732300000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    const messages = tableSql(queryRunner, 'rt_messages');
    const rooms = tableSql(queryRunner, 'rt_rooms');
    const threads = tableSql(queryRunner, 'rt_dm_threads');
    for (const counter of [rooms, threads]) {
      await queryRunner.query(`ALTER TABLE ${counter} ADD COLUMN "last_seq" integer NOT NULL DEFAULT 0`);
    }
    if (queryRunner.connection.driver.options.type === 'postgres') {
      await queryRunner.query(`ALTER TABLE ${messages} ADD COLUMN "seq" integer`);
      await queryRunner.query(
        `UPDATE ${messages} SET "seq" = numbered."seq" ` +
          `FROM (SELECT "id", ${SEQ_BY_ID} AS "seq" FROM ${messages}) AS numbered ` +
          `WHERE ${messages}."id" = numbered."id"`,
      );
      await queryRunner.query(`ALTER TABLE ${messages} ALTER COLUMN "seq" SET NOT NULL`);
      for (const name of HISTORY_INDEXES) await queryRunner.dropIndex('rt_messages', name);
    } else {
      await rebuildSqliteMessagesWithSeq(queryRunner);
    }
    await createHistoryIndexes(queryRunner, 'seq');
    // Each counter continues from its conversation's newest message (a lookup in the new indexes).
    await queryRunner.query(
      `UPDATE ${rooms} SET "last_seq" = ` +
        `COALESCE((SELECT MAX(m."seq") FROM ${messages} m WHERE m."room_id" = ${rooms}."id"), 0)`,
    );
    await queryRunner.query(
      `UPDATE ${threads} SET "last_seq" = ` +
        `COALESCE((SELECT MAX(m."seq") FROM ${messages} m WHERE m."dm_key" = ${threads}."dm_key"), 0)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of HISTORY_INDEXES) await queryRunner.dropIndex('rt_messages', name);
    // SQLite (3.35 and later, as bundled) drops a column in place when no index or constraint uses it.
    await queryRunner.query(`ALTER TABLE ${tableSql(queryRunner, 'rt_messages')} DROP COLUMN "seq"`);
    await createHistoryIndexes(queryRunner, 'id');
    for (const counter of ['rt_rooms', 'rt_dm_threads']) {
      await queryRunner.query(`ALTER TABLE ${tableSql(queryRunner, counter)} DROP COLUMN "last_seq"`);
    }
  }
}

/** A table's name as SQL, in the connection's schema on PostgreSQL (`database.schema`). */
function tableSql(queryRunner: QueryRunner, table: string): string {
  const { driver } = queryRunner.connection;
  const schema = driver.options.type === 'postgres' ? driver.schema : undefined;
  return schema === undefined ? driver.escape(table) : `${driver.escape(schema)}.${driver.escape(table)}`;
}

/** The partial history indexes, on (conversation, `order`): unique on seq, plain on id (before it). */
async function createHistoryIndexes(queryRunner: QueryRunner, order: 'seq' | 'id'): Promise<void> {
  const unique = order === 'seq';
  await queryRunner.createIndex(
    'rt_messages',
    new TableIndex({
      name: 'rt_messages_room_history',
      columnNames: ['room_id', order],
      where: ROOM_MESSAGES_ONLY,
      isUnique: unique,
    }),
  );
  await queryRunner.createIndex(
    'rt_messages',
    new TableIndex({
      name: 'rt_messages_dm_history',
      columnNames: ['dm_key', order],
      where: DIRECT_MESSAGES_ONLY,
      isUnique: unique,
    }),
  );
}

/**
 * SQLite adds a NOT NULL column only with a default, and a default would let a message without a
 * place in its conversation be stored. So the table is rebuilt once, the documented way (a new table,
 * the rows copied with their seq, the old one dropped, the new one renamed), keeping every column,
 * the foreign key, the indexes other than history's, and the AUTOINCREMENT counter: ids of deleted
 * newest messages are not given again. No table references rt_messages, so dropping the old one
 * deletes nothing elsewhere.
 */
async function rebuildSqliteMessagesWithSeq(queryRunner: QueryRunner): Promise<void> {
  const old = await queryRunner.getTable('rt_messages');
  if (old === undefined) throw new Error('rt_messages is missing: the earlier migrations did not run');
  const next = old.clone();
  next.name = 'rt_messages_next';
  next.indices = [];
  next.addColumn(new TableColumn({ name: 'seq', type: 'integer', isNullable: false }));
  await queryRunner.createTable(next);
  const columns = old.columns.map((column) => `"${column.name}"`).join(', ');
  await queryRunner.query(
    `INSERT INTO "rt_messages_next" (${columns}, "seq") SELECT ${columns}, ${SEQ_BY_ID} FROM "rt_messages"`,
  );
  const [counter] = (await queryRunner.query(
    `SELECT "seq" FROM "sqlite_sequence" WHERE "name" = 'rt_messages'`,
  )) as Array<{ seq: number }>;
  await queryRunner.query(`DROP TABLE "rt_messages"`);
  await queryRunner.query(`ALTER TABLE "rt_messages_next" RENAME TO "rt_messages"`);
  if (counter !== undefined) {
    await queryRunner.query(`DELETE FROM "sqlite_sequence" WHERE "name" = 'rt_messages'`);
    await queryRunner.query(`INSERT INTO "sqlite_sequence" ("name", "seq") VALUES ('rt_messages', ?)`, [
      counter.seq,
    ]);
  }
  // Taken before creating any: createIndex adds to the table TypeORM caches, which is `old`.
  const kept = old.indices.filter((index) => !HISTORY_INDEXES.includes(index.name ?? ''));
  for (const index of kept) await queryRunner.createIndex('rt_messages', index.clone());
}
