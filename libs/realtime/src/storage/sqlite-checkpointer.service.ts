// WAL checkpoints of the embedded SQLite file, off the event loop. better-sqlite3 is synchronous: by
// default SQLite checkpoints inside the COMMIT that fills 1,000 WAL pages, copying the WAL into the
// database and syncing it on the thread that committed — 10 to 15 ms every ~150 one-kilobyte
// messages, during which no frame of any client is read or written. The library's connection has
// automatic checkpoints turned off; a worker thread with its own connection to the same file runs
// PASSIVE checkpoints (they never block the writer) on a timer. If the worker fails, automatic
// checkpoints are turned back on, so the WAL never grows without bound.
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
import { REALTIME_CONNECTION, REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { nativeSqlite, type NativeSqlite } from './write-transaction';

/** SQLite's default `wal_autocheckpoint`, restored when the worker is not running. */
export const DEFAULT_WAL_AUTOCHECKPOINT = 1000;

/** One PASSIVE checkpoint's result, as SQLite reports it. */
export interface CheckpointResult {
  /** 1 when the checkpoint could not run at all (another checkpoint or a lock). */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames of the WAL copied into the database. */
  checkpointed: number;
}

export interface CheckpointWorkerSettings {
  modulePath: string;
  file: string;
  intervalMs: number;
  /** The worker thread's nice value (Linux sets it per thread; 0 leaves it as it is). */
  niceness: number;
}

type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'checkpoint'; result: CheckpointResult }
  | { kind: 'error'; message: string }
  | { kind: 'warning'; message: string };

/**
 * Checkpoints are background work: on Linux the worker thread runs at the lowest priority, so that
 * the event loop is not delayed by a checkpoint when both want the same core.
 */
export const CHECKPOINT_NICENESS = 19;

/** Boot waits this long at most for the worker's connection. */
const WORKER_START_TIMEOUT_MS = 5000;

// Plain JavaScript run by the worker (eval), so that it needs no build step or loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const Database = require(workerData.modulePath);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
if (workerData.niceness !== 0) {
  try {
    require('os').setPriority(workerData.niceness);
  } catch (error) {
    parentPort.postMessage({ kind: 'warning', message: 'the checkpoint worker keeps its priority: ' + String(error && error.message || error) });
  }
}
parentPort.postMessage({ kind: 'ready' });
let stopped = false;
const tick = () => {
  if (stopped) return;
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ kind: 'checkpoint', result });
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: String(error && error.message || error) });
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
let timer = setTimeout(tick, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') {
    stopped = true;
    clearTimeout(timer);
    db.close();
    parentPort.close();
  }
});
`;

@Injectable()
export class SqliteCheckpointer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeStorage');
  private worker: Worker | null = null;
  private db: NativeSqlite | null = null;
  private last: CheckpointResult | null = null;
  private readonly listeners = new Set<(result: CheckpointResult) => void>();

  constructor(
    @InjectDataSource(REALTIME_CONNECTION) private readonly dataSource: DataSource,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  /** Boot completes with the worker's connection open (or with SQLite's own checkpoints back on). */
  async onApplicationBootstrap(): Promise<void> {
    const { database } = this.options;
    if (database.type !== 'sqlite' || database.path === ':memory:') return;
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
   * connection is open, or once it failed and SQLite's own checkpoints are back on.
   */
  start(settings: CheckpointWorkerSettings): Promise<void> {
    const db = nativeSqlite(this.dataSource);
    if (db === null || this.worker !== null) return Promise.resolve();
    this.db = db;
    let worker: Worker;
    try {
      // execArgv: [] so that the worker does not load the host's preloads (e.g. ts-node's compiler,
      // tens of megabytes) for a few lines of plain JavaScript.
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: settings, execArgv: [] });
    } catch (error) {
      this.fallBack(`the checkpoint worker did not start: ${(error as Error).message}`);
      return Promise.resolve();
    }
    db.pragma('wal_autocheckpoint = 0');
    this.worker = worker;
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
    worker.on('message', (message: WorkerMessage) => {
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
    worker.postMessage('stop');
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
