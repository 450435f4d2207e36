// Creates rt_users (SQLite and PostgreSQL).
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

export class CreateUsers1732300000000 implements MigrationInterface {
  name = 'CreateUsers1732300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.createTable(
      new Table({
        name: 'rt_users',
        columns: [
          {
            name: 'seq',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'user_id', type: 'varchar', length: '64', isUnique: true },
          { name: 'username', type: 'varchar', length: '64', isUnique: true },
          { name: 'email', type: 'varchar', length: '255', isNullable: true },
          { name: 'roles', type: 'text' },
          {
            name: 'created_at',
            type: postgres ? 'timestamptz' : 'datetime',
            default: postgres ? 'now()' : "(datetime('now'))",
          },
          { name: 'last_seen_at', type: 'bigint', isNullable: true },
        ],
      }),
      true,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('rt_users', true);
  }
}
