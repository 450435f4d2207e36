// What both load generators (room fan-out and log stream) share: the latency histogram, the bounded
// drain at the end of a measured window, and running as a child process of the orchestrator.
import { readFileSync } from 'fs';
import * as hdr from 'hdr-histogram-js';
import { now } from './bench-protocol';

/** Microseconds from 1 to 60 s, 3 significant digits. */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Waits (at most 2 s) for the deliveries still in flight. */
export async function drain(delivered: () => number, expected: number): Promise<void> {
  const until = now() + 2000;
  while (delivered() < expected && now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The longest a generator waits for the orchestrator to read the servers at a window mark. */
const WINDOW_READ_TIMEOUT_MS = 60_000;

/** What a generator and the orchestrator say about the measured window over IPC. */
export interface WindowMark {
  kind: 'window';
  phase: 'start' | 'end';
}

/** The orchestrator's answer to a window mark: the servers' usage at that mark has been read. */
export interface WindowRead {
  kind: 'window-read';
  phase: 'start' | 'end';
}

/**
 * Tells the orchestrator that the measured window starts or ends, so that it reads the servers' CPU
 * then. At the end, waits until it has: closing the connections before would charge their teardown
 * (a server's presence notices, its write errors) to the window whenever the server's usage request
 * queues behind the closes.
 */
export async function markWindow(phase: WindowMark['phase']): Promise<void> {
  if (process.send === undefined) return;
  const read = new Promise<void>((resolve) => {
    // Never for ever: the orchestrator gone, or its reading failed, the generator ends all the same.
    const done = (): void => {
      clearTimeout(timer);
      process.off('message', onMessage);
      process.off('disconnect', done);
      resolve();
    };
    const onMessage = (message: Partial<WindowRead>): void => {
      if (message.kind === 'window-read' && message.phase === phase) done();
    };
    const timer = setTimeout(done, WINDOW_READ_TIMEOUT_MS);
    process.on('message', onMessage);
    process.once('disconnect', done);
  });
  const mark: WindowMark = { kind: 'window', phase };
  process.send(mark);
  if (phase === 'end') await read;
}

/** Runs `run` on the spec file the orchestrator passes, prints the result as one JSON line, exits. */
export function runAsChild<S, R>(run: (spec: S) => Promise<R>): void {
  const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as S;
  run(spec)
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
