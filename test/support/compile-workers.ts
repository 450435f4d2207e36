// Jest global setup: the library starts its worker threads from compiled files (`new Worker(file)`),
// which tsc emits next to the services in every build but which do not exist beside the TypeScript
// sources jest runs. This compiles every `*.worker.ts` of the library with esbuild (one file each, as
// CommonJS for Node) into one folder and names it in NEST_REALTIME_COMPILED_WORKERS_DIR, which the
// services' resolver (compiledWorkerPath) read when no compiled worker lies beside them.
// The folder is named after the compiled code, so concurrent jest runs share it or use their own;
// it is written elsewhere first and renamed into place, so no run sees a half-written worker.
import { createHash } from 'crypto';
import { buildSync } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'fs';
import { basename, join, relative } from 'path';
import { COMPILED_WORKERS_DIR_ENV } from '../../libs/realtime/src/storage/typeorm/compiled-worker';

const ROOT = join(__dirname, '../..');
const LIBRARY = join(ROOT, 'libs/realtime/src');
/** Inside the repository (gitignored), so that a worker's package imports resolve from node_modules. */
const OUT = join(ROOT, '.tmp/compiled-workers');

function workerSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return workerSources(path);
    return entry.name.endsWith('.worker.ts') ? [path] : [];
  });
}

/** Compiles the library's workers; returns the folder holding them (`<name>.worker.js`). */
export function compileWorkers(): string {
  const compiled = new Map<string, string>();
  for (const source of workerSources(LIBRARY)) {
    const name = basename(source).replace(/\.ts$/, '.js');
    if (compiled.has(name))
      throw new Error(`two workers compile to ${name}: worker file names must be unique`);
    const result = buildSync({
      entryPoints: [source],
      bundle: false,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]?.text ?? '';
    // Not bundled: a worker loads only builtins and packages, never the library's other files.
    const local = /\brequire\(\s*["'](\.[^"']*)["']\s*\)/.exec(code);
    if (local)
      throw new Error(`${relative(ROOT, source)} loads ${local[1]}: a worker may import only types locally`);
    compiled.set(name, code);
  }
  const hash = createHash('sha256');
  for (const [name, code] of [...compiled].sort()) hash.update(`${name}\0${code}\0`);
  const dir = join(OUT, hash.digest('hex').slice(0, 16));
  if (!existsSync(dir)) {
    const staging = `${dir}.${process.pid}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    for (const [name, code] of compiled) writeFileSync(join(staging, name), code);
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another run renamed the same compiled code into place first.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(dir)) throw error;
    }
  }
  return dir;
}

export default function globalSetup(): void {
  process.env[COMPILED_WORKERS_DIR_ENV] = compileWorkers();
}
