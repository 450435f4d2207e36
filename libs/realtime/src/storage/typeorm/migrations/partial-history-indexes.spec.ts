import type { DataSource } from 'typeorm';
import { MessageEntity } from '../entities/message.entity';
import { memoryDataSource } from '../memory-data-source.helper-spec';

interface PlanRow {
  detail: string;
}

/**
 * SQLite's plan of TypeORM's history query for one conversation (the page and the after_id catch-up,
 * both in commit order: by seq since ConversationSequence).
 */
async function plan(dataSource: DataSource, where: 'roomId' | 'dmKey', afterSeq?: number): Promise<string> {
  let query = dataSource
    .getRepository(MessageEntity)
    .createQueryBuilder('m')
    .where(`m.${where} = :value`, { value: where === 'roomId' ? 1 : '1:2' });
  if (afterSeq !== undefined) query = query.andWhere('m.seq > :afterSeq', { afterSeq });
  const [sql, parameters] = query.orderBy('m.seq', 'DESC').limit(50).getQueryAndParameters();
  const rows = await dataSource.query<PlanRow[]>(`EXPLAIN QUERY PLAN ${sql}`, parameters);
  return rows.map((row) => row.detail).join(' | ');
}

describe('migration PartialHistoryIndexes', () => {
  let dataSource: DataSource;

  beforeEach(async () => {
    dataSource = await memoryDataSource();
  });
  afterEach(async () => {
    await dataSource.destroy();
  });

  async function indexSql(): Promise<Record<string, string>> {
    const rows = await dataSource.query<Array<{ name: string; sql: string }>>(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'rt_messages_%_history'`,
    );
    return Object.fromEntries(rows.map((row) => [row.name, row.sql]));
  }

  it('leaves direct messages out of the room index and room messages out of the direct one', async () => {
    const sql = await indexSql();
    expect(sql.rt_messages_room_history).toMatch(/WHERE "room_id" IS NOT NULL$/);
    expect(sql.rt_messages_dm_history).toMatch(/WHERE "dm_key" IS NOT NULL$/);
  });

  it('keeps history served by the indexes, in commit order, without a sort', async () => {
    for (const where of ['roomId', 'dmKey'] as const) {
      const index = where === 'roomId' ? 'rt_messages_room_history' : 'rt_messages_dm_history';
      for (const afterSeq of [undefined, 10]) {
        const detail = await plan(dataSource, where, afterSeq);
        expect(detail).toContain(`USING INDEX ${index}`);
        expect(detail).not.toContain('TEMP B-TREE');
      }
    }
  });

  it('reverts to full indexes and applies again', async () => {
    // ConversationSequence came after it: reverted first (back to partial indexes on id).
    await dataSource.undoLastMigration();
    await dataSource.undoLastMigration();
    const full = await indexSql();
    expect(full.rt_messages_room_history).not.toContain('WHERE');
    expect(full.rt_messages_dm_history).not.toContain('WHERE');
    await dataSource.runMigrations();
    expect((await indexSql()).rt_messages_room_history).toMatch(/WHERE "room_id" IS NOT NULL$/);
  });
});
