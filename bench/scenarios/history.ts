// The `history` group: room_history through MessagesService (limit 50, newest pages) on a big SQLite room.
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import * as hdr from 'hdr-histogram-js';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { MessagesService, REALTIME_CONNECTION, RealtimeModule, type RealtimeIdentity } from 'nest-realtime';
import type { DataSource } from 'typeorm';

export interface HistoryResult {
  messages: number;
  /** Timed queries, after `warmupQueries` untimed ones. */
  queries: number;
  /** Absent in results files from before the warm-up. */
  warmupQueries?: number;
  limit: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  seedSeconds: number;
}

interface SqliteHandle {
  prepare(sql: string): { run(...params: unknown[]): unknown };
  transaction(fn: () => void): () => void;
  pragma(source: string): unknown;
}

/** Whether a table has a column (the schema of the tree being measured, e.g. `seq` since migration 5). */
function hasColumn(db: SqliteHandle, table: string, column: string): boolean {
  const columns = db.pragma(`table_info(${table})`) as Array<{ name: string }>;
  return columns.some((c) => c.name === column);
}

/** Queries run before the timed ones. */
const WARMUP_QUERIES = 500;

export async function runHistoryBenchmark(messages: number, queries: number): Promise<HistoryResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rt-bench-history-'));
  @Module({
    imports: [
      RealtimeModule.forRoot({
        auth: { secret: 'benchmark-secret-0123456789abcdef' },
        database: { type: 'sqlite', path: join(dir, 'realtime.sqlite') },
        rooms: { initial: [{ name: 'big' }] },
      }),
    ],
  })
  class HistoryBenchModule {}
  const app = await NestFactory.createApplicationContext(HistoryBenchModule, { logger: false });
  try {
    await app.init();
    const dataSource = app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION));
    const [room] = await dataSource.query<Array<{ id: number }>>(
      `SELECT id FROM rt_rooms WHERE name = 'big'`,
    );
    const seedStart = performance.now();
    const db = (dataSource.driver as unknown as { databaseConnection: SqliteHandle }).databaseConnection;
    // Messages are numbered within their conversation (`seq`, the room's `last_seq`) where the schema
    // has it: the room's history is then read by it, as the library stores them.
    const numbered = hasColumn(db, 'rt_messages', 'seq');
    const insert = db.prepare(
      `INSERT INTO rt_messages (room_id, dm_key, sender_id, sender_username, recipient_id, content, message_type, created_at${numbered ? ', seq' : ''})
       VALUES (?, NULL, ?, ?, NULL, ?, 'text', ?${numbered ? ', ?' : ''})`,
    );
    const base = Date.now() - messages;
    db.transaction(() => {
      for (let i = 0; i < messages; i += 1) {
        const row = [room!.id, String(i % 500), `user${i % 500}`, `message ${i}`, base + i];
        insert.run(...(numbered ? [...row, i + 1] : row));
      }
    })();
    db.prepare(`UPDATE rt_rooms SET message_count = ? WHERE id = ?`).run(messages, room!.id);
    if (hasColumn(db, 'rt_rooms', 'last_seq')) {
      db.prepare(`UPDATE rt_rooms SET last_seq = ? WHERE id = ?`).run(messages, room!.id);
    }
    // The bulk insert leaves the whole table in the WAL. Checkpoint it as part of seeding, as
    // SQLite's automatic checkpoint did inside the COMMIT before the library moved checkpoints to a
    // worker; otherwise the worker copies ~100 MB during the measured queries.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const service = app.get(MessagesService);
    const reader: RealtimeIdentity = {
      userId: '1',
      username: 'reader',
      roles: [],
      isAdmin: false,
      appId: null,
      page: null,
      expiresAt: null,
    };
    const histogram = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 60_000_000,
      numberOfSignificantValueDigits: 3,
    });
    const limit = 50;
    // Untimed first: the first few hundred calls run while V8 still compiles the path (TypeORM's
    // query building, the driver's row mapping), as every other scenario's warm-up leaves out.
    const warmup = Math.min(WARMUP_QUERIES, queries);
    for (let q = 0; q < warmup + queries; q += 1) {
      // The newest twenty pages, where a chat's readers are.
      const offset = Math.floor(Math.random() * 20) * limit;
      const started = performance.now();
      const page = await service.roomHistory(reader, 'big', { limit, offset });
      if (q >= warmup) histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
      if (page.messages.length !== limit || page.total !== messages)
        throw new Error('history returned a wrong page');
    }
    return {
      messages,
      queries,
      warmupQueries: warmup,
      limit,
      p50Ms: histogram.getValueAtPercentile(50) / 1000,
      p99Ms: histogram.getValueAtPercentile(99) / 1000,
      maxMs: histogram.maxValue / 1000,
      seedSeconds,
    };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
