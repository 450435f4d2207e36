// Migration ConversationSequence on SQLite: a database written before it (rooms, direct messages,
// a deleted newest message) gets each conversation's messages numbered in id order, counters that
// continue from them, and a rebuilt rt_messages that keeps its rows, ids, foreign key, other indexes
// and AUTOINCREMENT counter. PostgreSQL runs the same numbering (test/catch-up-order.e2e-spec.ts).
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataSource } from 'typeorm';
import { REALTIME_MIGRATIONS } from '.';
import { REALTIME_ENTITIES } from '../realtime-typeorm.options';
import { TypeOrmMessageStore } from '../typeorm-message.store';
import { WriteQueue } from '../write-transaction';

const BEFORE = REALTIME_MIGRATIONS.findIndex((migration) =>
  migration.name.startsWith('ConversationSequence'),
);

function open(path: string, migrations: typeof REALTIME_MIGRATIONS): Promise<DataSource> {
  return new DataSource({
    type: 'better-sqlite3',
    database: path,
    entities: REALTIME_ENTITIES,
    migrations,
    migrationsRun: true,
  }).initialize();
}

describe('migration ConversationSequence (SQLite)', () => {
  let dir: string;
  let dataSource: DataSource;

  /** Message ids by what they are, as the earlier schema stored them. */
  const ids: Record<string, number> = {};

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rt-seq-migration-'));
    const path = join(dir, 'realtime.sqlite');
    const before = await open(path, REALTIME_MIGRATIONS.slice(0, BEFORE));
    await before.query(`INSERT INTO rt_rooms (name, message_count) VALUES ('one', 3), ('two', 1)`);
    await before.query(`INSERT INTO rt_dm_threads (dm_key, message_count) VALUES ('a|b', 2), ('a|c', 1)`);
    const store = async (name: string, roomId: number | null, dmKey: string | null): Promise<void> => {
      await before.query(
        `INSERT INTO rt_messages (room_id, dm_key, sender_id, sender_username, recipient_id, content, message_type, created_at)
         VALUES (?, ?, 'a', 'alice', ?, ?, 'text', 1700000000000)`,
        [roomId, dmKey, dmKey === null ? null : dmKey.slice(2), name],
      );
      ids[name] = Number(
        (await before.query<Array<{ id: number }>>('SELECT max(id) AS id FROM rt_messages'))[0]?.id,
      );
    };
    // Interleaved: ids grow across conversations, seq counts within each.
    await store('one-1', 1, null);
    await store('ab-1', null, 'a|b');
    await store('one-2', 1, null);
    await store('two-1', 2, null);
    await store('ac-1', null, 'a|c');
    await store('ab-2', null, 'a|b');
    await store('one-3', 1, null);
    await store('gone', 2, null);
    await before.query(`DELETE FROM rt_messages WHERE id = ?`, [ids.gone]);
    await before.destroy();
    dataSource = await open(path, REALTIME_MIGRATIONS);
  });

  afterEach(async () => {
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('numbers each conversation in id order and continues its counter from there', async () => {
    const rows = await dataSource.query<Array<{ content: string; id: number; seq: number }>>(
      'SELECT content, id, seq FROM rt_messages ORDER BY id',
    );
    expect(rows.map((row) => [row.content, row.id, row.seq])).toEqual([
      ['one-1', ids['one-1'], 1],
      ['ab-1', ids['ab-1'], 1],
      ['one-2', ids['one-2'], 2],
      ['two-1', ids['two-1'], 1],
      ['ac-1', ids['ac-1'], 1],
      ['ab-2', ids['ab-2'], 2],
      ['one-3', ids['one-3'], 3],
    ]);
    expect(await dataSource.query('SELECT name, message_count, last_seq FROM rt_rooms ORDER BY id')).toEqual([
      { name: 'one', message_count: 3, last_seq: 3 },
      { name: 'two', message_count: 1, last_seq: 1 },
    ]);
    expect(await dataSource.query('SELECT dm_key, last_seq FROM rt_dm_threads ORDER BY dm_key')).toEqual([
      { dm_key: 'a|b', last_seq: 2 },
      { dm_key: 'a|c', last_seq: 1 },
    ]);

    // The next messages continue each conversation, with ids above every id ever given (the
    // deleted newest one included).
    const messages = new TypeOrmMessageStore(dataSource, new WriteQueue(dataSource));
    const record = {
      senderId: 'a',
      senderUsername: 'alice',
      recipientId: null,
      content: 'new',
      messageType: 'text' as const,
      mediaUrl: null,
      mediaType: null,
      duration: null,
      replyTo: null,
      context: null,
      createdAt: 1700000000001,
    };
    const inTwo = await messages.insert({ ...record, roomId: 2, dmKey: null });
    expect(inTwo).toBeGreaterThan(ids.gone as number);
    const inAb = await messages.insert({ ...record, roomId: null, dmKey: 'a|b', recipientId: 'b' });
    expect(
      await dataSource.query('SELECT id, seq FROM rt_messages WHERE id IN (?, ?) ORDER BY id', [inTwo, inAb]),
    ).toEqual([
      { id: inTwo, seq: 2 },
      { id: inAb, seq: 3 },
    ]);
    expect((await messages.after({ roomId: 2 }, ids['two-1'] as number, 10)).map((m) => m.id)).toEqual([
      inTwo,
    ]);
    expect((await messages.after({ dmKey: 'a|b' }, ids['ab-1'] as number, 10)).map((m) => m.id)).toEqual([
      ids['ab-2'],
      inAb,
    ]);
  });

  it('rebuilds rt_messages with seq NOT NULL, keeping the foreign key and the other indexes', async () => {
    const columns = await dataSource.query<Array<{ name: string; notnull: number }>>(
      `PRAGMA table_info('rt_messages')`,
    );
    expect(columns.find((column) => column.name === 'seq')).toMatchObject({ notnull: 1 });
    const [table] = await dataSource.query<Array<{ sql: string }>>(
      `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'rt_messages'`,
    );
    expect(table?.sql).toContain('"id" integer PRIMARY KEY AUTOINCREMENT NOT NULL');
    expect(
      await dataSource.query(
        `SELECT "table", "from", "to", on_delete FROM pragma_foreign_key_list('rt_messages')`,
      ),
    ).toEqual([{ table: 'rt_rooms', from: 'room_id', to: 'id', on_delete: 'CASCADE' }]);
    const indexes = await dataSource.query<Array<{ name: string; sql: string }>>(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rt_messages' ORDER BY name`,
    );
    expect(indexes.map((index) => [index.name, index.sql.replace(/^.* ON "rt_messages" /, '')])).toEqual([
      ['rt_messages_dm_history', '("dm_key", "seq") WHERE "dm_key" IS NOT NULL'],
      ['rt_messages_dm_recipient', '("recipient_id", "id") WHERE "dm_key" IS NOT NULL'],
      ['rt_messages_dm_sender', '("sender_id", "id") WHERE "dm_key" IS NOT NULL'],
      ['rt_messages_room_history', '("room_id", "seq") WHERE "room_id" IS NOT NULL'],
    ]);
    expect(
      indexes.filter((index) => index.sql.startsWith('CREATE UNIQUE INDEX')).map((index) => index.name),
    ).toEqual(['rt_messages_dm_history', 'rt_messages_room_history']);

    // A message without a place, or with a taken one, is refused.
    const insert = (seq: number | null) =>
      dataSource.query(
        `INSERT INTO rt_messages (room_id, sender_id, sender_username, content, message_type, created_at, seq)
         VALUES (1, 'a', 'alice', 'x', 'text', 1, ?)`,
        [seq],
      );
    await expect(insert(null)).rejects.toThrow(/NOT NULL constraint failed: rt_messages.seq/);
    await expect(insert(3)).rejects.toThrow(/UNIQUE constraint failed/);
  });

  it('reverts to history by id without seq or last_seq, and applies again', async () => {
    await dataSource.undoLastMigration();
    const names = async (table: string) =>
      (await dataSource.query<Array<{ name: string }>>(`PRAGMA table_info('${table}')`)).map((c) => c.name);
    expect(await names('rt_messages')).not.toContain('seq');
    expect(await names('rt_rooms')).not.toContain('last_seq');
    expect(await names('rt_dm_threads')).not.toContain('last_seq');
    const [history] = await dataSource.query<Array<{ sql: string }>>(
      `SELECT sql FROM sqlite_master WHERE name = 'rt_messages_room_history'`,
    );
    expect(history?.sql).toMatch(/^CREATE INDEX .*\("room_id", "id"\) WHERE "room_id" IS NOT NULL$/);
    expect(await dataSource.query('SELECT count(*) AS n FROM rt_messages')).toEqual([{ n: 7 }]);

    await dataSource.runMigrations();
    expect(await dataSource.query(`SELECT seq FROM rt_messages WHERE id = ?`, [ids['one-3']])).toEqual([
      { seq: 3 },
    ]);
  });
});
