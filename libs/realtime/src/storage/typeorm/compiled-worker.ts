// Where a worker thread's compiled file is. tsc emits `x.worker.js` next to the service that starts
// it (the package, `nest build`, the bench build); runs from TypeScript sources have none there.
import { existsSync } from 'fs';
import { join } from 'path';

// A folder of compiled workers for runs from TypeScript sources (set by jest's setup, test/support/compile-workers.ts).
export const COMPILED_WORKERS_DIR_ENV = 'NEST_REALTIME_COMPILED_WORKERS_DIR';

/**
 * `fileName` next to `dir`, else in `$NEST_REALTIME_COMPILED_WORKERS_DIR`. Throws, naming the paths
 * tried, when neither exists: a missing worker is a broken build, not a reason to run without it.
 */
export function compiledWorkerPath(
  dir: string,
  fileName: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const tried = [join(dir, fileName)];
  const compiled = env[COMPILED_WORKERS_DIR_ENV];
  if (compiled) tried.push(join(compiled, fileName));
  const found = tried.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      `the worker file ${fileName} is missing (tried ${tried.join(', ')}): the library's build (tsc) ` +
        `emits it next to the service that starts it; running from TypeScript sources, set ` +
        `${COMPILED_WORKERS_DIR_ENV} to a folder holding the compiled workers`,
    );
  }
  return found;
}
