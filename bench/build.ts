// The benchmark's servers and load generators run as compiled JavaScript, the way a host app runs
// in production (`node dist/...`), not under ts-node: ts-node's register hook loads Node's `repl`
// and with it `domain`, which wraps every EventEmitter.emit, and installs source-map support.
// Each file is transpiled on its own (as ts-node's transpile-only mode does, decorator metadata
// included) into a directory inside the repository, so that node_modules resolve as from source.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { basename, dirname, join, relative } from 'path';
import * as ts from 'typescript';

/** What the servers and generators import: the bench itself, the sample app and the libraries. */
const SOURCE_DIRS = ['bench', 'apps/sample/src', 'libs/realtime/src', 'libs/realtime-client/src'];
const SPEC = /\.(e2e-spec|helper-spec|spec)\.ts$/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !SPEC.test(entry.name)
      ? [path]
      : [];
  });
}

function readConfig(root: string): { config: { config?: unknown }; compilerOptions: ts.CompilerOptions } {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const compilerOptions: ts.CompilerOptions = {
    ...parsed.options,
    sourceMap: false,
    inlineSourceMap: false,
    declaration: false,
    noEmit: false,
  };
  return { config, compilerOptions };
}

/** Where the library looks for its compiled workers when none lies beside its (TypeScript) sources. */
export const COMPILED_WORKERS_DIR_ENV = 'NEST_REALTIME_COMPILED_WORKERS_DIR';

/**
 * The library starts its worker threads from compiled files (`x.worker.js` beside the service), which
 * runs from TypeScript sources (the orchestrator's in-process history scenario, `--from-source`) lack:
 * transpiles every `*.worker.ts` of the libraries into `dir`, flat. Returns how many there were.
 */
export function buildWorkers(root: string, dir: string): number {
  const { compilerOptions } = readConfig(root);
  let count = 0;
  for (const lib of SOURCE_DIRS.filter((d) => d.startsWith('libs/') && existsSync(join(root, d)))) {
    for (const file of sources(join(root, lib)).filter((f) => f.endsWith('.worker.ts'))) {
      const output = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, basename(file).replace(/\.ts$/, '.js')), output.outputText);
      count += 1;
    }
  }
  return count;
}

/**
 * Transpiles the sources under `root` into `outDir` (same layout) and writes a tsconfig there whose
 * path aliases point at the compiled libraries, for `tsconfig-paths/register` (TS_NODE_PROJECT).
 * Returns that tsconfig's path.
 */
export function buildBench(root: string, outDir: string): string {
  const { config, compilerOptions } = readConfig(root);
  let count = 0;
  for (const dir of SOURCE_DIRS) {
    // An older tree (`--baseline`) may lack one of them, e.g. the client library.
    if (!existsSync(join(root, dir))) continue;
    for (const file of sources(join(root, dir))) {
      const output = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
      const target = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, output.outputText);
      count += 1;
    }
  }
  if (count === 0) throw new Error(`no sources found under ${root}`);
  const paths = (config.config as { compilerOptions?: { paths?: Record<string, string[]> } }).compilerOptions
    ?.paths;
  const tsconfig = join(outDir, 'tsconfig.json');
  writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { baseUrl: '.', paths: paths ?? {} } }, null, 2));
  return tsconfig;
}
