// Creates rooms, memberships, direct-message threads and messages (SQLite and PostgreSQL).
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

export class CreateConversations1732300000001 implements MigrationInterface {
  name = 'CreateConversations1732300000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const increment = { isPrimary: true, isGenerated: true, generationStrategy: 'increment' as const };
    await queryRunner.createTable(
      new Table({
        name: 'rt_rooms',
        columns: [
          { name: 'id', type: 'integer', ...increment },
          { name: 'name', type: 'varchar', length: '64', isUnique: true },
          { name: 'is_private', type: 'boolean', default: false },
          { name: 'message_count', type: 'integer', default: 0 },
          { name: 'created_by', type: 'varchar', length: '64', isNullable: true },
          {
            name: 'created_at',
            type: postgres ? 'timestamptz' : 'datetime',
            default: postgres ? 'now()' : "(datetime('now'))",
          },
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: 'rt_memberships',
        columns: [
          { name: 'room_id', type: 'integer', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'joined_at', type: 'bigint' },
        ],
        foreignKeys: [
          {
            columnNames: ['room_id'],
            referencedTableName: 'rt_rooms',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: 'rt_dm_threads',
        columns: [
          { name: 'dm_key', type: 'varchar', length: '140', isPrimary: true },
          { name: 'message_count', type: 'integer', default: 0 },
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: 'rt_messages',
        columns: [
          { name: 'id', type: 'integer', ...increment },
          { name: 'room_id', type: 'integer', isNullable: true },
          { name: 'dm_key', type: 'varchar', length: '140', isNullable: true },
          { name: 'sender_id', type: 'varchar', length: '64' },
          { name: 'sender_username', type: 'varchar', length: '64' },
          { name: 'recipient_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'content', type: 'text' },
          { name: 'message_type', type: 'varchar', length: '16' },
          { name: 'media_url', type: 'varchar', length: '2048', isNullable: true },
          { name: 'media_type', type: 'varchar', length: '128', isNullable: true },
          { name: 'duration', type: postgres ? 'double precision' : 'real', isNullable: true },
          { name: 'reply_to', type: 'integer', isNullable: true },
          { name: 'context', type: 'text', isNullable: true },
          { name: 'created_at', type: 'bigint' },
        ],
        foreignKeys: [
          {
            columnNames: ['room_id'],
            referencedTableName: 'rt_rooms',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
      true,
    );
    // History reads the newest messages of one room / one pair: (conversation, id) serves both the
    // page and the after_id catch-up without a sort.
    await queryRunner.createIndex(
      'rt_messages',
      new TableIndex({ name: 'rt_messages_room_history', columnNames: ['room_id', 'id'] }),
    );
    await queryRunner.createIndex(
      'rt_messages',
      new TableIndex({ name: 'rt_messages_dm_history', columnNames: ['dm_key', 'id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('rt_messages', true);
    await queryRunner.dropTable('rt_dm_threads', true);
    await queryRunner.dropTable('rt_memberships', true);
    await queryRunner.dropTable('rt_rooms', true);
  }
}
