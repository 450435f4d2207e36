// A server a spec starts as a child process: killed if the test process exits first, its last
// output lines kept for failure messages, stopped with SIGTERM then SIGKILL after a grace period.
import type { ChildProcess } from 'child_process';

const OUTPUT_LINES = 200;

export interface SupervisedProcess {
  readonly child: ChildProcess;
  /** Whether it has exited (or was killed). */
  exited(): boolean;
  /** The error `spawn` reported (e.g. the binary is missing), if any. */
  spawnError(): Error | undefined;
  /** Its last output lines, stdout and stderr together. */
  output(): string;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. Safe twice. */
  stop(): Promise<void>;
  /** SIGKILL at once; resolves once it has exited. */
  kill(): Promise<void>;
}

export function supervise(child: ChildProcess, graceMs: number): SupervisedProcess {
  const lines: string[] = [];
  let spawnError: Error | undefined;
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const untilExit = (): Promise<void> =>
    exited() ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
  const reap = (): void => {
    if (!exited()) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > OUTPUT_LINES) lines.splice(0, lines.length - OUTPUT_LINES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('error', (error) => (spawnError = error));
  return {
    child,
    exited,
    spawnError: () => spawnError,
    output: () => lines.join('\n'),
    async stop() {
      if (exited()) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill('SIGTERM');
      await untilExit();
      clearTimeout(timer);
    },
    async kill() {
      if (exited()) return;
      child.kill('SIGKILL');
      await untilExit();
    },
  };
}
