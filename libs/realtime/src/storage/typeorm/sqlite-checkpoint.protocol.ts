// What SqliteCheckpointer (the main thread) and its checkpoint worker (sqlite-checkpoint.worker.ts)
// pass each other: the worker's settings (workerData) and the messages both ways. Types only, so the
// worker's compiled file loads nothing of the library.

/** One PASSIVE checkpoint's result, as SQLite reports it. */
export interface CheckpointResult {
  /** 1 when the checkpoint could not run at all (another checkpoint or a lock). */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames of the WAL copied into the database. */
  checkpointed: number;
}

/** The worker's `workerData`. */
export interface CheckpointWorkerSettings {
  /** The better-sqlite3 module the worker loads (the path the library's own `require` resolves). */
  modulePath: string;
  /** The database file. */
  file: string;
  intervalMs: number;
  /** The worker thread's nice value (Linux sets it per thread; 0 leaves it as it is). */
  niceness: number;
}

/** Worker → service. */
export type CheckpointWorkerMessage =
  | { kind: 'ready' }
  | { kind: 'checkpoint'; result: CheckpointResult }
  | { kind: 'error'; message: string }
  | { kind: 'warning'; message: string };

/** Service → worker: stop checkpointing, close the connection and exit. */
export type CheckpointWorkerCommand = { kind: 'stop' };
