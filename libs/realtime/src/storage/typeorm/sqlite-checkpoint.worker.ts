// The worker thread of SqliteCheckpointer (sqlite-checkpointer.service.ts): its own connection to the
// database file, PASSIVE checkpoints on a timer, at the priority the service asks for. It runs from
// its compiled file (sqlite-checkpoint.worker.js) and imports only Node's builtins and types: the
// driver is the better-sqlite3 module the service resolved (`modulePath`).
import { setPriority } from 'os';
import { parentPort, workerData, type MessagePort } from 'worker_threads';
import type {
  CheckpointResult,
  CheckpointWorkerCommand,
  CheckpointWorkerMessage,
  CheckpointWorkerSettings,
} from './sqlite-checkpoint.protocol';

/** The part of a better-sqlite3 connection the worker uses. */
interface CheckpointConnection {
  pragma(source: string): unknown;
  close(): unknown;
}

type SqliteDriver = new (file: string) => CheckpointConnection;

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function run(port: MessagePort, settings: CheckpointWorkerSettings): void {
  const post = (message: CheckpointWorkerMessage): void => port.postMessage(message);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require(settings.modulePath) as SqliteDriver;
  const db = new Database(settings.file);
  db.pragma('busy_timeout = 1000');
  if (settings.niceness !== 0) {
    try {
      // Linux: the calling thread only (the event loop keeps its priority).
      setPriority(settings.niceness);
    } catch (error) {
      post({ kind: 'warning', message: `the checkpoint worker keeps its priority: ${reason(error)}` });
    }
  }
  post({ kind: 'ready' });

  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    try {
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
      if (result === undefined) post({ kind: 'error', message: 'wal_checkpoint returned no row' });
      else post({ kind: 'checkpoint', result });
    } catch (error) {
      post({ kind: 'error', message: reason(error) });
    }
    timer = setTimeout(tick, settings.intervalMs);
  };
  let timer = setTimeout(tick, settings.intervalMs);

  port.on('message', (command: CheckpointWorkerCommand) => {
    if (command.kind !== 'stop') return;
    stopped = true;
    clearTimeout(timer);
    db.close();
    port.close();
  });
}

if (parentPort === null) {
  throw new Error('sqlite-checkpoint.worker runs as a worker thread (new Worker(file)), not as a module');
}
run(parentPort, workerData as CheckpointWorkerSettings);
