// A node of a multi-node deployment: the sample app as a real child process (so that a spec can
// `kill -9` it), configured through its environment as in production. The sample and the library
// are transpiled once per content (each file on its own, decorator metadata included, as ts-node's
// transpile-only mode does) into .tmp/sample-node/<hash>/, and every node runs that JavaScript:
// 1-2 s to boot (the transpiling, when the sources changed, about 2 s once) instead of 3-5 s under
// ts-node, which transpiles everything again in every process.
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'fs';
import { get } from 'http';
import { freePort } from './free-port';
import { supervise } from './supervised-process';
import { dirname, join, relative } from 'path';
import * as ts from 'typescript';
import { TEST_SECRET } from './sample-app';

const ROOT = join(__dirname, '..', '..');
const SOURCE_DIRS = ['apps/sample/src', 'libs/realtime/src'];
/** Inside the repository (gitignored), so that the compiled files resolve packages from node_modules. */
const OUT = join(ROOT, '.tmp/sample-node');
const SPEC = /\.(e2e-spec|helper-spec|spec)\.ts$/;

export interface SampleNodeOptions {
  /** NODE_NAME, shown by GET /health. */
  name: string;
  /** Port on 127.0.0.1; a free one when not given. */
  port?: number;
  /** Environment of the node on top of the test defaults (JWT_SECRET, HOST, PORT, STREAM_PORT=off). */
  env?: Record<string, string>;
  /** Bound on the boot, up to the first healthy GET /health. @default 30000 */
  bootTimeoutMs?: number;
  /**
   * Working directory of the node: the sample serves the web pages of `dist/sample-web` under it
   * (the repository root, after `npm run build:web`, for browser tests). @default the build folder
   */
  cwd?: string;
}

export interface SampleNode {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:PORT`, as HAProxy's server lines want it. */
  readonly address: string;
  /** Milliseconds from spawn to the first healthy GET /health. */
  readonly bootMs: number;
  /** The node's last lines of output (stdout and stderr), for failure messages. */
  output(): string;
  /** `kill -9`: no shutdown hook runs, connections drop, nothing is cleaned up in Redis. */
  kill(): Promise<void>;
  /** SIGTERM (the sample closes the app), SIGKILL if it is still running after 10 s. Safe twice. */
  stop(): Promise<void>;
  /**
   * SIGTERM, and how the node exited (the sample exits 0 once the app is closed), SIGKILL if it is
   * still running after `killAfterMs`; `ms` from the signal to the exit.
   */
  terminate(killAfterMs?: number): Promise<SampleNodeExit>;
}

export interface SampleNodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
}

interface Build {
  entry: string;
  tsconfig: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !SPEC.test(entry.name)
      ? [path]
      : [];
  });
}

function compilerOptions(): { options: ts.CompilerOptions; paths: ts.MapLike<string[]> } {
  const file = join(ROOT, 'tsconfig.json');
  const read = ts.readConfigFile(file, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT);
  return {
    options: {
      ...parsed.options,
      sourceMap: false,
      inlineSourceMap: false,
      declaration: false,
      noEmit: false,
    },
    paths: parsed.options.paths ?? {},
  };
}

/**
 * Transpiles the sample and the library into a folder named after their sources (reused while they
 * do not change; written elsewhere first and renamed into place, so concurrent runs never see half
 * of it), with a tsconfig mapping `nest-realtime` onto the compiled library for tsconfig-paths.
 */
export function buildSampleNode(): Build {
  const files = SOURCE_DIRS.flatMap((dir) => sources(join(ROOT, dir))).sort();
  const hash = createHash('sha256');
  const contents = new Map<string, string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    contents.set(file, text);
    hash.update(`${relative(ROOT, file)}\0${text}\0`);
  }
  hash.update(readFileSync(join(ROOT, 'tsconfig.json')));
  const dir = join(OUT, hash.digest('hex').slice(0, 16));
  const build = { entry: join(dir, 'apps/sample/src/main.js'), tsconfig: join(dir, 'tsconfig.json') };
  if (existsSync(build.tsconfig)) return build;

  const { options, paths } = compilerOptions();
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  for (const [file, text] of contents) {
    const output = ts.transpileModule(text, { compilerOptions: options, fileName: file });
    const target = join(staging, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output.outputText);
  }
  writeFileSync(join(staging, 'tsconfig.json'), JSON.stringify({ compilerOptions: { baseUrl: '.', paths } }));
  try {
    renameSync(staging, dir);
  } catch (error) {
    // Another run put the same build in place first.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(build.tsconfig)) throw error;
  }
  pruneOldBuilds(dir);
  return build;
}

/** Builds of older sources, left by earlier runs; an hour is far longer than any run uses one. */
function pruneOldBuilds(keep: string): void {
  const before = Date.now() - 60 * 60_000;
  for (const entry of readdirSync(OUT)) {
    const path = join(OUT, entry);
    const modified = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (path !== keep && modified < before) rmSync(path, { recursive: true, force: true });
  }
}

/** GET /health on 127.0.0.1:port: the node's name when it answers 200, else undefined. */
function healthyName(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/health', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(undefined);
        try {
          resolve((JSON.parse(body) as { node?: string }).node);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Starts a node and resolves once its GET /health answers 200 with its name. */
export async function startSampleNode(options: SampleNodeOptions): Promise<SampleNode> {
  const build = buildSampleNode();
  const port = options.port ?? (await freePort());
  const timeoutMs = options.bootTimeoutMs ?? 30_000;
  const started = Date.now();
  const child = spawn(process.execPath, ['-r', require.resolve('tsconfig-paths/register'), build.entry], {
    cwd: options.cwd ?? dirname(build.tsconfig),
    env: {
      // Only what a node needs: nothing of the developer's environment (a REDIS_URL…) leaks in.
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TZ: 'UTC',
      NO_COLOR: '1',
      TS_NODE_PROJECT: build.tsconfig,
      JWT_SECRET: TEST_SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      STREAM_PORT: 'off',
      NODE_NAME: options.name,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Should the test process end without stopping it, the node goes with it.
  const node = supervise(child, 10_000);
  const { output, stop } = node;

  for (;;) {
    if (node.spawnError() || node.exited()) {
      throw new Error(
        `node ${options.name} exited during boot (${node.spawnError()?.message ?? child.exitCode ?? child.signalCode})\n${output()}`,
      );
    }
    if (Date.now() - started > timeoutMs) {
      await stop();
      throw new Error(`node ${options.name} not healthy on port ${port} within ${timeoutMs} ms\n${output()}`);
    }
    const name = await healthyName(port);
    if (name === options.name) break;
    if (name !== undefined) {
      await stop();
      throw new Error(`port ${port} answers as node ${name}, not ${options.name} (port taken?)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const bootMs = Date.now() - started;
  return {
    name: options.name,
    port,
    address: `127.0.0.1:${port}`,
    bootMs,
    output,
    stop,
    kill: node.kill,
    async terminate(killAfterMs = 30_000) {
      const signalledAt = Date.now();
      const exit = node.exited()
        ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
        : new Promise<Omit<SampleNodeExit, 'ms'>>((resolve) =>
            child.once('exit', (code, signal) => resolve({ code, signal })),
          );
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      child.kill('SIGTERM');
      const status = await exit;
      clearTimeout(timer);
      return { ...status, ms: Date.now() - signalledAt };
    },
  };
}
