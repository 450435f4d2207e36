// LogStore that also keeps each app's buffer in the library's database (`stream.persist`), so the
// backlog survives a restart. Reads stay in memory (the ring is loaded at start); writes go to the
// database in order, after the entries were sent, batched: what is appended within WRITE_DELAY_MS
// is one transaction (flush() and shutdown write at once). A failed write is retried with backoff
// and never dropped silently: at shutdown what is still unwritten is written or reported.
// On the embedded SQLite a batch is one synchronous transaction on two statements prepared once:
// TypeORM's insert builder cost more than SQLite's own work (in a loop, batches of 10 entries took
// 49 µs of CPU per entry through TypeORM, 13 this way). Other databases go through TypeORM.
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { LogEntry } from '../../protocol';
import { LogEntryEntity } from './entities/log-entry.entity';
import {
  nativeSqlite,
  type NativeSqlite,
  type NativeSqliteStatement,
  type WriteQueue,
} from './write-transaction';
import { InMemoryLogStore, type LogOrigin, type LogStore } from '../../stream/log-store';

/** Rows per INSERT (7 parameters each, well under SQLite's and PostgreSQL's limits). */
const INSERT_CHUNK = 500;
/**
 * How long appended entries wait for others before they are written, in one transaction, outside
 * the tick that delivers them. In a loop on a WAL file database a transaction cost 12.7 µs of CPU
 * per entry in batches of 10, 5.4 in batches of 100, 4.7 in batches of 400; under the log stream
 * bench (a tick holds 10 to 40 entries) the writes went from 8.7 % of the server's CPU, inside the
 * delivering tick, to 5.3 % (perf, closed loop, two rounds each).
 */
const WRITE_DELAY_MS = 50;
/** Entries waiting that start a write at once, whatever the delay (a burst is not held in memory). */
const WRITE_AT_ONCE = 1000;
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 30_000;

function toRow(entry: LogEntry): LogEntryEntity {
  const row = new LogEntryEntity();
  row.id = entry.id;
  row.appId = entry.appId;
  row.timestamp = entry.timestamp;
  row.level = entry.level;
  row.message = entry.message;
  row.metadata = entry.metadata === undefined ? null : JSON.stringify(entry.metadata);
  row.userId = entry.userId;
  return row;
}

function toEntry(row: LogEntryEntity): LogEntry {
  return {
    id: row.id,
    timestamp: row.timestamp,
    level: row.level,
    message: row.message,
    ...(row.metadata === null ? {} : { metadata: JSON.parse(row.metadata) as unknown }),
    appId: row.appId,
    userId: row.userId,
  };
}

/** The native SQLite path's statements, prepared on one connection. */
interface NativeLogStatements {
  db: NativeSqlite;
  /** One row, its columns in the order `writeNative` binds them. */
  insert: NativeSqliteStatement;
  /** (appId, id): deletes an app's rows older than the oldest entry kept in memory. */
  trim: NativeSqliteStatement;
}

export class PersistentLogStore implements LogStore, OnApplicationShutdown {
  private readonly logger = new Logger('LogStream');
  private readonly memory: InMemoryLogStore;
  private native: NativeLogStatements | null = null;
  private queue: LogEntry[] = [];
  private running: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The write of what was appended within the delay; not unref'd: it ends within WRITE_DELAY_MS. */
  private writeTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closing = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly capacityPerApp: number,
    private readonly writes: WriteQueue,
  ) {
    this.memory = new InMemoryLogStore(capacityPerApp);
  }

  /** Loads the newest `capacityPerApp` stored entries of every app into memory. */
  async load(): Promise<void> {
    const repository = this.dataSource.getRepository(LogEntryEntity);
    const apps = await repository
      .createQueryBuilder('entry')
      .select('DISTINCT entry.appId', 'appId')
      .getRawMany<{ appId: string }>();
    for (const { appId } of apps) {
      const rows = await repository.find({
        where: { appId },
        order: { id: 'DESC' },
        take: this.capacityPerApp,
      });
      this.memory.append(appId, rows.reverse().map(toEntry));
    }
  }

  /** Remote entries (published on another node) are kept in memory only: their node writes them. */
  append(appId: string, entries: readonly LogEntry[], origin: LogOrigin = 'local'): void {
    this.memory.append(appId, entries);
    if (origin === 'remote') return;
    for (const entry of entries) this.queue.push(entry);
    if (this.closing || this.queue.length >= WRITE_AT_ONCE) this.kick();
    else this.writeTimer ??= setTimeout(() => this.kick(), WRITE_DELAY_MS);
  }

  recent(appId: string, limit: number): LogEntry[] {
    return this.memory.recent(appId, limit);
  }

  /**
   * Deletes the user's entries: once a write in progress has ended (it cannot store them after, nor
   * put them back in the queue on failure), from the queue, from memory and from the database.
   * Returns the entries deleted from the database (a scan of its bounded table) and from the queue
   * (memory holds a copy of those).
   */
  async deleteUserData(userId: string): Promise<number> {
    while (this.running) await this.running;
    const queued = this.queue.length;
    this.queue = this.queue.filter((entry) => entry.userId !== userId);
    const unwritten = queued - this.queue.length;
    await this.memory.deleteUserData(userId);
    const deleted = await this.writes.transaction((manager) => manager.delete(LogEntryEntity, { userId }));
    return unwritten + (deleted.affected ?? 0);
  }

  /** Entries appended but not yet written. */
  get unwritten(): number {
    return this.queue.length;
  }

  /** Resolves when everything appended so far is written, or a write has failed (retried later). */
  async flush(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  /** Runs after every beforeApplicationShutdown hook (the stream's last flush) and before TypeORM closes. */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    await this.flush();
    if (this.queue.length > 0) {
      this.logger.error(`${this.queue.length} log entries could not be written to the database`);
    }
  }

  private kick(): void {
    if (this.writeTimer) {
      clearTimeout(this.writeTimer);
      this.writeTimer = null;
    }
    if (this.running || this.retryTimer || this.queue.length === 0) return;
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.queue.length);
      try {
        await this.writeBatch(batch);
        this.failures = 0;
      } catch (error) {
        this.queue = this.newestPerApp([...batch, ...this.queue]);
        this.failures += 1;
        const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1));
        this.logger.error(
          `Writing ${batch.length} log entries failed; ${this.queue.length} kept` +
            (this.closing ? '' : ` for a retry in ${delay} ms`),
          error instanceof Error ? error.stack : String(error),
        );
        if (this.closing) return;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.kick();
        }, delay);
        this.retryTimer.unref();
        return;
      }
    }
  }

  /** One transaction: on the embedded SQLite, synchronous on prepared statements; else TypeORM's. */
  private writeBatch(batch: LogEntry[]): Promise<void> {
    const db = nativeSqlite(this.dataSource);
    if (db === null) return this.writes.transaction((manager) => this.write(manager, batch));
    // Prepared here, inside the caller's try: a missing table is a failed write, retried later.
    const statements = this.statementsOn(db);
    return this.writes.sqliteTransaction(db, () => this.writeNative(statements, batch));
  }

  /** As `write`, with the statements prepared once. */
  private writeNative({ insert, trim }: NativeLogStatements, batch: LogEntry[]): void {
    const rows = this.newestPerApp(batch);
    const apps = new Set<string>();
    for (const entry of rows) {
      insert.run(
        entry.id,
        entry.appId,
        entry.timestamp,
        entry.level,
        entry.message,
        entry.metadata === undefined ? null : JSON.stringify(entry.metadata),
        entry.userId,
      );
      apps.add(entry.appId);
    }
    // The memory holds the newest `capacityPerApp` entries: rows older than its oldest are past the
    // bound. Cheaper than `write`'s OFFSET, which walked the app's whole index on every batch.
    for (const appId of apps) {
      const oldest = this.memory.oldestKept(appId);
      if (oldest !== undefined) trim.run(appId, oldest.id);
    }
  }

  /** The native statements of this connection, built from the entity's metadata and prepared once. */
  private statementsOn(db: NativeSqlite): NativeLogStatements {
    if (this.native?.db === db) return this.native;
    const { driver } = this.dataSource;
    const metadata = this.dataSource.getMetadata(LogEntryEntity);
    const column = (property: keyof LogEntryEntity): string =>
      driver.escape(metadata.findColumnWithPropertyName(property)!.databaseName);
    const table = driver.escape(metadata.tableName);
    const columns = (['id', 'appId', 'timestamp', 'level', 'message', 'metadata', 'userId'] as const).map(
      column,
    );
    const [id, appId] = [column('id'), column('appId')];
    this.native = {
      db,
      insert: db.prepare(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      ),
      trim: db.prepare(`DELETE FROM ${table} WHERE ${appId} = ? AND ${id} < ?`),
    };
    return this.native;
  }

  /** Inserts the batch, then deletes what falls past the bound of each app it touched. */
  private async write(manager: EntityManager, batch: LogEntry[]): Promise<void> {
    const rows = this.newestPerApp(batch).map(toRow);
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      await manager.insert(LogEntryEntity, rows.slice(start, start + INSERT_CHUNK));
    }
    for (const appId of new Set(rows.map((row) => row.appId))) {
      const cutoff = await manager
        .createQueryBuilder(LogEntryEntity, 'entry')
        .select('entry.id', 'id')
        .where('entry.appId = :appId', { appId })
        .orderBy('entry.id', 'DESC')
        .offset(this.capacityPerApp - 1)
        .limit(1)
        .getRawOne<{ id: string }>();
      if (!cutoff) continue;
      await manager
        .createQueryBuilder()
        .delete()
        .from(LogEntryEntity)
        .where('app_id = :appId AND id < :id', { appId, id: cutoff.id })
        .execute();
    }
  }

  /** Only the newest `capacityPerApp` entries of each app would be kept: the others need no write. */
  private newestPerApp(entries: LogEntry[]): LogEntry[] {
    const seen = new Map<string, number>();
    const kept: LogEntry[] = [];
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const entry = entries[i]!;
      const count = seen.get(entry.appId) ?? 0;
      if (count >= this.capacityPerApp) continue;
      seen.set(entry.appId, count + 1);
      kept.push(entry);
    }
    return kept.reverse();
  }
}
