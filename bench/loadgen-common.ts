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
