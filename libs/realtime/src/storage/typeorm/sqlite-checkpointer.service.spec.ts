// SqliteCheckpointer on a real SQLite file: automatic checkpoints off on the library's connection,
// the WAL copied into the database by the worker, automatic checkpoints back when the worker fails,
// and a clean close; the worker that runs is the compiled sqlite-checkpoint.worker.js (jest's setup,
// test/support/compile-workers.ts, compiles it: there is none beside the sources), and a missing one
// fails the boot.
import { Logger } from '@nestjs/common';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataSource } from 'typeorm';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import { LogEntryEntity } from './entities/log-entry.entity';
import { REALTIME_MIGRATIONS } from './migrations';
import { REALTIME_ENTITIES } from './realtime-typeorm.options';
import { nativeSqlite, type NativeSqlite } from './write-transaction';
import { COMPILED_WORKERS_DIR_ENV } from './compiled-worker';
import {
  CHECKPOINT_NICENESS,
  CHECKPOINT_WORKER_FILE,
  checkpointWorkerPath,
  DEFAULT_WAL_AUTOCHECKPOINT,
  SqliteCheckpointer,
  type CheckpointResult,
} from './sqlite-checkpointer.service';

describe('SqliteCheckpointer', () => {
  let dir: string;
  let file: string;
  let dataSource: DataSource;
  let db: NativeSqlite;

  const optionsFor = (path: string): ResolvedRealtimeOptions =>
    ({ database: { type: 'sqlite', path, checkpointIntervalMs: 50 }, storage: null }) as Pick<
      ResolvedRealtimeOptions,
      'database' | 'storage'
    > as ResolvedRealtimeOptions;

  const autocheckpoint = (): unknown => db.pragma('wal_autocheckpoint', { simple: true });

  /** A checkpoint that ran and copied every frame of the WAL it saw. */
  function isComplete(result: CheckpointResult | undefined): boolean {
    return result !== undefined && result.busy === 0 && result.log > 0 && result.checkpointed === result.log;
  }

  async function writeEntries(count: number, prefix: string): Promise<void> {
    const rows = Array.from({ length: count }, (_, i) =>
      Object.assign(new LogEntryEntity(), {
        id: `${prefix}-${i}`,
        appId: 'app',
        timestamp: i,
        level: 'info',
        message: 'm'.repeat(1000),
        metadata: null,
        userId: 'u',
      }),
    );
    for (const row of rows) await dataSource.getRepository(LogEntryEntity).insert(row);
  }

  /** This process's threads by nice value (Linux: /proc; elsewhere none are listed). */
  function threadNiceness(): Map<number, number> {
    const byThread = new Map<number, number>();
    if (!existsSync('/proc/self/task')) return byThread;
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        // Fields after the command name: state is the 3rd field of the line, nice the 19th.
        byThread.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
      } catch {
        // The thread ended while being listed.
      }
    }
    return byThread;
  }

  const threadsAt = (niceness: number): number[] =>
    [...threadNiceness()].filter(([, nice]) => nice === niceness).map(([tid]) => tid);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rt-checkpoint-'));
    file = join(dir, 'realtime.sqlite');
    dataSource = await new DataSource({
      type: 'better-sqlite3',
      database: file,
      entities: REALTIME_ENTITIES,
      migrations: REALTIME_MIGRATIONS,
      migrationsRun: true,
      prepareDatabase: (database: { pragma(source: string): unknown }) => {
        database.pragma('journal_mode = WAL');
        database.pragma('synchronous = NORMAL');
      },
    }).initialize();
    db = nativeSqlite(dataSource)!;
  });

  afterEach(async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns automatic checkpoints off and copies the WAL into the database from its worker', async () => {
    const checkpointer = new SqliteCheckpointer(dataSource, optionsFor(file));
    await checkpointer.onApplicationBootstrap();
    try {
      expect(checkpointer.running).toBe(true);
      expect(autocheckpoint()).toBe(0);
      // The worker thread runs the compiled worker, not TypeScript through a loader or an eval'd string.
      const workerFile = checkpointer.workerFile;
      expect(workerFile).toBe(checkpointWorkerPath());
      expect(workerFile).toMatch(/[\\/]sqlite-checkpoint\.worker\.js$/);
      expect(existsSync(workerFile!)).toBe(true);
      expect(readFileSync(workerFile!, 'utf8')).toContain('wal_checkpoint(PASSIVE)');
      const sizeBefore = statSync(file).size;
      await writeEntries(300, 'a');
      // 300 one-kilobyte rows: far more WAL frames than the database file held before. A checkpoint
      // that ran while the rows were being written reports a complete copy of a shorter WAL, so
      // wait (a bounded number of checkpoints) for one that leaves them all in the file.
      const target = sizeBefore + 200 * 1024;
      let result: CheckpointResult | undefined;
      for (let i = 0; i < 50 && !(isComplete(result) && statSync(file).size > target); i += 1) {
        result = await checkpointer.nextCheckpoint();
      }
      expect(isComplete(result)).toBe(true);
      expect(statSync(file).size).toBeGreaterThan(target);
      expect(await dataSource.getRepository(LogEntryEntity).count()).toBe(300);
    } finally {
      await checkpointer.onModuleDestroy();
    }
  });

  it('stops its worker on shutdown: the database then closes and removes its WAL file', async () => {
    const checkpointer = new SqliteCheckpointer(dataSource, optionsFor(file));
    await checkpointer.onApplicationBootstrap();
    await writeEntries(20, 'b');
    await checkpointer.nextCheckpoint();
    await checkpointer.onModuleDestroy();
    expect(checkpointer.running).toBe(false);
    await dataSource.destroy();
    // SQLite removes the WAL when its last connection closes: the worker's is closed too.
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('turns automatic checkpoints back on when the worker fails', async () => {
    const checkpointer = new SqliteCheckpointer(dataSource, optionsFor(file));
    // Boot waits for the worker: it resolves once the worker failed and the fallback is in place.
    await checkpointer.start({
      modulePath: join(dir, 'no-such-driver.js'),
      file,
      intervalMs: 50,
      niceness: CHECKPOINT_NICENESS,
    });
    expect(checkpointer.running).toBe(false);
    expect(autocheckpoint()).toBe(DEFAULT_WAL_AUTOCHECKPOINT);
    await writeEntries(5, 'c');
    expect(await dataSource.getRepository(LogEntryEntity).count()).toBe(5);
  });

  it('runs its worker thread, and only that thread, at the lowest priority on Linux', async () => {
    const before = threadsAt(CHECKPOINT_NICENESS);
    const checkpointer = new SqliteCheckpointer(dataSource, optionsFor(file));
    await checkpointer.onApplicationBootstrap();
    try {
      await writeEntries(5, 'd');
      await checkpointer.nextCheckpoint();
      const lowered = threadsAt(CHECKPOINT_NICENESS).filter((tid) => !before.includes(tid));
      expect(lowered).toHaveLength(process.platform === 'linux' ? 1 : 0);
      if (process.platform === 'linux') {
        expect(threadNiceness().get(process.pid)).toBe(0);
        expect(lowered[0]).not.toBe(process.pid);
      }
    } finally {
      await checkpointer.onModuleDestroy();
    }
    expect(threadsAt(CHECKPOINT_NICENESS).filter((tid) => !before.includes(tid))).toEqual([]);
  });

  it('keeps checkpointing, with a warning, when its priority cannot be changed', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const checkpointer = new SqliteCheckpointer(dataSource, optionsFor(file));
    try {
      // Out of the range of nice values: os.setPriority throws in the worker.
      await checkpointer.start({
        modulePath: require.resolve('better-sqlite3'),
        file,
        intervalMs: 50,
        niceness: 99,
      });
      await writeEntries(5, 'e');
      const result = await checkpointer.nextCheckpoint();
      expect(checkpointer.running).toBe(true);
      expect(result.busy).toBe(0);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^the checkpoint worker keeps its priority: /));
    } finally {
      await checkpointer.onModuleDestroy();
      warn.mockRestore();
    }
  });

  it('fails the boot, naming the paths it tried, when the compiled worker is missing', async () => {
    expect(() => checkpointWorkerPath(dir, {})).toThrow(join(dir, CHECKPOINT_WORKER_FILE));
    const empty = join(dir, 'no-workers');
    expect(() => checkpointWorkerPath(dir, { [COMPILED_WORKERS_DIR_ENV]: empty })).toThrow(
      `tried ${join(dir, CHECKPOINT_WORKER_FILE)}, ${join(empty, CHECKPOINT_WORKER_FILE)}`,
    );
    // Through the service: here no compiled worker lies beside the sources, only in the setup's folder.
    const compiled = process.env[COMPILED_WORKERS_DIR_ENV];
    process.env[COMPILED_WORKERS_DIR_ENV] = empty;
    try {
      const checkpointer = new SqliteCheckpointer(dataSource, optionsFor(file));
      await expect(checkpointer.onApplicationBootstrap()).rejects.toThrow(
        `${join(__dirname, CHECKPOINT_WORKER_FILE)}, ${join(empty, CHECKPOINT_WORKER_FILE)}`,
      );
      expect(checkpointer.running).toBe(false);
      expect(autocheckpoint()).toBe(DEFAULT_WAL_AUTOCHECKPOINT);
    } finally {
      if (compiled === undefined) delete process.env[COMPILED_WORKERS_DIR_ENV];
      else process.env[COMPILED_WORKERS_DIR_ENV] = compiled;
    }
  });

  it('runs no worker for an in-memory database', async () => {
    const checkpointer = new SqliteCheckpointer(dataSource, optionsFor(':memory:'));
    await checkpointer.onApplicationBootstrap();
    expect(checkpointer.running).toBe(false);
  });
});
