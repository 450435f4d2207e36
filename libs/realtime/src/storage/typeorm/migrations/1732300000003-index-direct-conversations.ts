// Indexes direct messages by sender and by recipient (SQLite and PostgreSQL), for the list of a
// user's direct conversations (`dm_conversations`).
import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Partial: room messages (no dm_key) are left out of both indexes. */
export const DIRECT_MESSAGES_ONLY = '"dm_key" IS NOT NULL';

export class IndexDirectConversations1732300000003 implements MigrationInterface {
  name = 'IndexDirectConversations1732300000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'rt_messages',
      new TableIndex({
        name: 'rt_messages_dm_sender',
        columnNames: ['sender_id', 'id'],
        where: DIRECT_MESSAGES_ONLY,
      }),
    );
    await queryRunner.createIndex(
      'rt_messages',
      new TableIndex({
        name: 'rt_messages_dm_recipient',
        columnNames: ['recipient_id', 'id'],
        where: DIRECT_MESSAGES_ONLY,
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('rt_messages', 'rt_messages_dm_recipient');
    await queryRunner.dropIndex('rt_messages', 'rt_messages_dm_sender');
  }
}
