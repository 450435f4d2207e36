// LogStore that also keeps each app's buffer in the library's database (`stream.persist`), so the
// backlog survives a restart. Reads stay in memory (the ring is loaded at start); writes go to the
// database in order, batched, after the entries were sent. A failed write is retried with backoff
// and never dropped silently: at shutdown what is still unwritten is written or reported.
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { LogEntry } from '../../protocol';
import { LogEntryEntity } from './entities/log-entry.entity';
import type { WriteQueue } from './write-transaction';
import { InMemoryLogStore, type LogOrigin, type LogStore } from '../../stream/log-store';

/** Rows per INSERT (7 parameters each, well under SQLite's and PostgreSQL's limits). */
const INSERT_CHUNK = 500;
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

export class PersistentLogStore implements LogStore, OnApplicationShutdown {
  private readonly logger = new Logger('LogStream');
  private readonly memory: InMemoryLogStore;
  private queue: LogEntry[] = [];
  private running: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
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
    this.queue.push(...entries);
    this.kick();
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
    if (this.running || this.retryTimer || this.queue.length === 0) return;
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.queue.length);
      try {
        await this.writes.transaction((manager) => this.write(manager, batch));
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
