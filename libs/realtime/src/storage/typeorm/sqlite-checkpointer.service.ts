// WAL checkpoints of the embedded SQLite file, off the event loop. better-sqlite3 is synchronous: by
// default SQLite checkpoints inside the COMMIT that fills 1,000 WAL pages, copying the WAL into the
// database and syncing it on the thread that committed — 10 to 15 ms every ~150 one-kilobyte
// messages, during which no frame of any client is read or written. The library's connection has
// automatic checkpoints turned off; a worker thread with its own connection to the same file runs
// PASSIVE checkpoints (they never block the writer) on a timer. If the worker fails, automatic
// checkpoints are turned back on, so the WAL never grows without bound. The worker's code is
// sqlite-checkpoint.worker.ts, started from its compiled file (see `checkpointWorkerPath`).
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Worker } from 'worker_threads';
import { REALTIME_CONNECTION, REALTIME_OPTIONS } from '../../realtime.constants';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import { nativeSqlite, type NativeSqlite } from './write-transaction';
import { compiledWorkerPath } from './compiled-worker';
import type {
  CheckpointResult,
  CheckpointWorkerCommand,
  CheckpointWorkerMessage,
  CheckpointWorkerSettings,
} from './sqlite-checkpoint.protocol';

export type { CheckpointResult, CheckpointWorkerSettings } from './sqlite-checkpoint.protocol';

/** SQLite's default `wal_autocheckpoint`, restored when the worker is not running. */
export const DEFAULT_WAL_AUTOCHECKPOINT = 1000;

/**
 * Checkpoints are background work: on Linux the worker thread runs at the lowest priority, so that
 * the event loop is not delayed by a checkpoint when both want the same core.
 */
export const CHECKPOINT_NICENESS = 19;

/** Boot waits this long at most for the worker's connection. */
const WORKER_START_TIMEOUT_MS = 5000;

/** The worker's compiled file (sqlite-checkpoint.worker.ts), which tsc emits next to this file's. */
export const CHECKPOINT_WORKER_FILE = 'sqlite-checkpoint.worker.js';

/**
 * The checkpoint worker's compiled file: next to this module's, else in the folder of compiled
 * workers of a run from sources. Throws, naming the paths tried, when there is none.
 */
export function checkpointWorkerPath(dir: string = __dirname, env: NodeJS.ProcessEnv = process.env): string {
  return compiledWorkerPath(dir, CHECKPOINT_WORKER_FILE, env);
}

@Injectable()
export class SqliteCheckpointer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeStorage');
  private worker: Worker | null = null;
  private db: NativeSqlite | null = null;
  private last: CheckpointResult | null = null;
  private startedFile: string | null = null;
  private readonly listeners = new Set<(result: CheckpointResult) => void>();

  constructor(
    @InjectDataSource(REALTIME_CONNECTION) private readonly dataSource: DataSource | null,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  /** Boot completes with the worker's connection open (or with SQLite's own checkpoints back on). */
  async onApplicationBootstrap(): Promise<void> {
    const { database, storage } = this.options;
    // With the host's storage the library has no database of its own to checkpoint.
    if (storage !== null || database.type !== 'sqlite' || database.path === ':memory:') return;
    await this.start({
      modulePath: require.resolve('better-sqlite3'),
      file: database.path,
      intervalMs: database.checkpointIntervalMs,
      niceness: process.platform === 'linux' ? CHECKPOINT_NICENESS : 0,
    });
  }

  /** Whether the worker runs the checkpoints (else SQLite's automatic ones do). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** The compiled worker file the service last started, if any. */
  get workerFile(): string | null {
    return this.startedFile;
  }

  /** The last checkpoint the worker ran, if any. */
  get lastCheckpoint(): CheckpointResult | null {
    return this.last;
  }

  /** Resolves with the next checkpoint the worker runs. */
  nextCheckpoint(): Promise<CheckpointResult> {
    return new Promise((resolve) => {
      const listener = (result: CheckpointResult): void => {
        this.listeners.delete(listener);
        resolve(result);
      };
      this.listeners.add(listener);
    });
  }

  /**
   * Starts the worker (public for specs, which give it a broken driver path); resolves once its
   * connection is open, or once it failed and SQLite's own checkpoints are back on. Rejects when the
   * worker's compiled file is missing (see `checkpointWorkerPath`).
   */
  async start(settings: CheckpointWorkerSettings): Promise<void> {
    const db = this.dataSource === null ? null : nativeSqlite(this.dataSource);
    if (db === null || this.worker !== null) return;
    const file = checkpointWorkerPath();
    this.db = db;
    let worker: Worker;
    try {
      // execArgv: [] so that the worker does not load the host's preloads (e.g. ts-node's compiler,
      // tens of megabytes) for a few lines of compiled JavaScript.
      worker = new Worker(file, { workerData: settings, execArgv: [] });
    } catch (error) {
      this.fallBack(`the checkpoint worker did not start: ${(error as Error).message}`);
      return;
    }
    db.pragma('wal_autocheckpoint = 0');
    this.worker = worker;
    this.startedFile = file;
    worker.unref();
    let started: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, WORKER_START_TIMEOUT_MS);
      timer.unref();
      started = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    worker.on('message', (message: CheckpointWorkerMessage) => {
      if (message.kind === 'ready') {
        started();
        return;
      }
      if (message.kind === 'error') {
        this.logger.warn(`WAL checkpoint failed: ${message.message}`);
        return;
      }
      if (message.kind === 'warning') {
        this.logger.warn(message.message);
        return;
      }
      this.last = message.result;
      for (const listener of [...this.listeners]) listener(message.result);
    });
    worker.on('error', (error) => {
      this.fallBack(`the checkpoint worker failed: ${error.message}`);
      started();
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.fallBack(`the checkpoint worker exited with code ${code}`);
      started();
    });
    return ready;
  }

  async onModuleDestroy(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const stop: CheckpointWorkerCommand = { kind: 'stop' };
    worker.postMessage(stop);
    const timer = setTimeout(() => void worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }

  private fallBack(reason: string): void {
    this.worker = null;
    this.logger.warn(`${reason}; SQLite checkpoints the WAL itself again`);
    if (this.db?.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_WAL_AUTOCHECKPOINT}`);
  }
}
