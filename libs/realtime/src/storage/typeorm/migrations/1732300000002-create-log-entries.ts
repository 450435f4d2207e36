// Creates the table of persisted log entries (log stream, `stream.persist`), SQLite and PostgreSQL.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

export class CreateLogEntries1732300000002 implements MigrationInterface {
  name = 'CreateLogEntries1732300000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'rt_log_entries',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'app_id', type: 'text' },
          { name: 'timestamp', type: 'bigint' },
          { name: 'level', type: 'text' },
          { name: 'message', type: 'text' },
          { name: 'metadata', type: 'text', isNullable: true },
          { name: 'user_id', type: 'text' },
        ],
      }),
      true,
    );
    // The backlog reads the newest entries of one app; trimming deletes its oldest.
    await queryRunner.createIndex(
      'rt_log_entries',
      new TableIndex({ name: 'rt_log_entries_app', columnNames: ['app_id', 'id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('rt_log_entries', true);
  }
}
