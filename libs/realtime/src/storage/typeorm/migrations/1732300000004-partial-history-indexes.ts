// The history indexes hold only the messages they serve: a room message has no dm_key and a direct
// message no room_id, and a full index stored an entry for that NULL too, one more B-tree page
// written (and one more WAL frame on SQLite) for every message. `room_id = ?` and `dm_key = ?` imply
// IS NOT NULL, so SQLite and PostgreSQL use the partial indexes for the same queries. The rebuild
// reads the whole table once, at the first start after the upgrade; meanwhile writes to rt_messages
// wait (PostgreSQL builds the indexes inside the migration's transaction, not CONCURRENTLY), so on
// a large shared database upgrade the nodes in a quiet moment.
import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

export const ROOM_MESSAGES_ONLY = '"room_id" IS NOT NULL';

export class PartialHistoryIndexes1732300000004 implements MigrationInterface {
  name = 'PartialHistoryIndexes1732300000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.replace(queryRunner, { room: ROOM_MESSAGES_ONLY, dm: '"dm_key" IS NOT NULL' });
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.replace(queryRunner, { room: undefined, dm: undefined });
  }

  private async replace(
    queryRunner: QueryRunner,
    where: { room: string | undefined; dm: string | undefined },
  ): Promise<void> {
    await queryRunner.dropIndex('rt_messages', 'rt_messages_room_history');
    await queryRunner.dropIndex('rt_messages', 'rt_messages_dm_history');
    await queryRunner.createIndex(
      'rt_messages',
      new TableIndex({ name: 'rt_messages_room_history', columnNames: ['room_id', 'id'], where: where.room }),
    );
    await queryRunner.createIndex(
      'rt_messages',
      new TableIndex({ name: 'rt_messages_dm_history', columnNames: ['dm_key', 'id'], where: where.dm }),
    );
  }
}
