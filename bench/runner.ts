// The runner: spawning pinned server and generator processes, the measured window, interleaved rounds, medians.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { ServerMessage, ServerRequest, ServerUsage } from './bench-protocol';
import { buildBench, buildWorkers, COMPILED_WORKERS_DIR_ENV } from './build';
import type { WindowMark, WindowRead } from './loadgen-common';
import type { ServerName } from './targets';

/** This repository: the current tree, whose load generators every scenario uses. */
export const ROOT = join(__dirname, '..');

export const HAS_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

export type Runtime = 'compiled JavaScript' | 'ts-node';

/**
 * A source tree whose bench scripts (`bench/servers/x`, `bench/loadgen`) child processes run: the
 * current one, or with `--baseline` another commit's in a git worktree. Made by `prepareTree`.
 */
export interface ServerTree {
  root: string;
  /** The git ref it was checked out from; null for the current tree. */
  ref: string | null;
  nodeArgs: (script: string) => string[];
  env: NodeJS.ProcessEnv;
  /** The tree's library workers compiled into one folder (for runs from sources); null when it has none. */
  workersDir: string | null;
  cleanup: () => void;
}

/**
 * Compiled (bench/build.ts, into `<root>/.bench-build/run-<pid>` where node_modules resolve as from
 * source) or, with `fromSource`, ts-node on the sources.
 */
export function prepareTree(root: string, fromSource: boolean, ref: string | null = null): ServerTree {
  const outDir = join(root, '.bench-build', `run-${process.pid}`);
  // Compiled workers for what runs from TypeScript sources (see buildWorkers); none in older trees.
  const workersDir = join(outDir, 'workers');
  const workers = buildWorkers(root, workersDir) > 0 ? workersDir : null;
  const cleanup = () => rmSync(outDir, { recursive: true, force: true });
  if (fromSource) {
    return {
      workersDir: workers,
      root,
      ref,
      nodeArgs: (script) => [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        join(root, `${script}.ts`),
      ],
      env: {
        ...process.env,
        TS_NODE_PROJECT: join(root, 'tsconfig.json'),
        ...(workers ? { [COMPILED_WORKERS_DIR_ENV]: workers } : {}),
      },
      cleanup,
    };
  }
  const tsconfig = buildBench(root, outDir);
  return {
    workersDir: workers,
    root,
    ref,
    nodeArgs: (script) => ['-r', 'tsconfig-paths/register', join(outDir, `${script}.js`)],
    env: { ...process.env, TS_NODE_PROJECT: tsconfig },
    cleanup,
  };
}

let current: ServerTree | null = null;

/** Sets the current tree (once per run, before any scenario). */
export function useCurrentTree(tree: ServerTree): void {
  current = tree;
}

function currentTree(): ServerTree {
  if (!current) throw new Error('useCurrentTree() has not run');
  return current;
}

/** `command args` on the given core when `taskset` exists (taskset execs it: the pid stays the same). */
export function pinnedCommand(core: number, command: string, args: string[]): [string, string[]] {
  return HAS_TASKSET ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

function pinned(core: number, args: string[]): [string, string[]] {
  return pinnedCommand(core, process.execPath, args);
}

/** User and system CPU of a process, in microseconds since it started. */
export interface CpuSample {
  cpuMicros: number;
  cpuUserMicros: number;
  cpuSystemMicros: number;
}

let clockTicks: number | null = null;

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`; 100 on Linux everywhere seen). */
function ticksPerSecond(): number {
  if (clockTicks === null) {
    const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim());
    clockTicks = Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  }
  return clockTicks;
}

/**
 * The CPU of any process (all its threads) from /proc/<pid>/stat, for processes that cannot answer
 * over IPC such as redis-server: utime and stime, in clock ticks (10 ms), so only a window of
 * seconds gives a usable figure.
 */
export function procCpu(pid: number): CpuSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in brackets and may hold spaces: count fields after its end.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5), utime and stime; the slice starts at field 3.
  const micros = (field: number): number => (Number(fields[field - 3]) * 1_000_000) / ticksPerSecond();
  const user = micros(14);
  const system = micros(15);
  if (!Number.isFinite(user) || !Number.isFinite(system)) throw new Error(`unreadable /proc/${pid}/stat`);
  return { cpuMicros: user + system, cpuUserMicros: user, cpuSystemMicros: system };
}

/** One server process on core 0, from the current tree or the one given. */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  /** `env` is added to the tree's environment (the scale-out nodes get their Redis and database there). */
  static async start(
    name: ServerName,
    tree: ServerTree = currentTree(),
    env: NodeJS.ProcessEnv = {},
  ): Promise<ServerProcess> {
    const label = tree.ref === null ? name : `${name}@${tree.ref}`;
    const [command, args] = pinned(0, [
      '--expose-gc',
      '--max-old-space-size=4096',
      // Diagnostics of a run, e.g. BENCH_SERVER_NODE_ARGS='--trace-gc' or '--cpu-prof'.
      ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      ...tree.nodeArgs(`bench/servers/${name}`),
    ]);
    const child = spawn(command, args, {
      cwd: tree.root,
      env: { ...tree.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label} did not start within 60 s`)), 60_000);
      child.once('exit', (code) => reject(new Error(`${label} exited with ${code}`)));
      child.on('message', (message: ServerMessage) => {
        if (message.kind === 'ready') {
          clearTimeout(timer);
          resolve(message.port);
        }
      });
    });
    return new ServerProcess(child, port);
  }

  usage(gc: boolean): Promise<ServerUsage> {
    return new Promise((resolve) => {
      const onMessage = (message: ServerMessage): void => {
        if (message.kind !== 'usage') return;
        this.child.off('message', onMessage);
        resolve(message);
      };
      this.child.on('message', onMessage);
      const request: ServerRequest = { kind: 'usage', gc };
      this.child.send(request);
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const request: ServerRequest = { kind: 'stop' };
    this.child.send(request);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface Generator<Result> {
  child: ChildProcess;
  result: Promise<Result>;
}

/** Runs a load generator script of the current tree on core 1; resolves with its JSON line. */
export function startGenerator<Spec, Result>(script: string, spec: Spec): Generator<Result> {
  // The spec goes through a file: thousands of tokens exceed what one argument may hold (E2BIG).
  const dir = mkdtempSync(join(tmpdir(), 'rt-bench-spec-'));
  const specFile = join(dir, 'spec.json');
  writeFileSync(specFile, JSON.stringify(spec));
  const tree = currentTree();
  const [command, args] = pinned(1, [
    '--max-old-space-size=4096',
    // Diagnostics of a generator, as BENCH_SERVER_NODE_ARGS for servers (e.g. '--cpu-prof').
    ...(process.env.BENCH_LOADGEN_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ...tree.nodeArgs(`bench/${script}`),
    specFile,
  ]);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: tree.env,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const result = new Promise<Result>((resolve, reject) => {
    child.once('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      if (code === 0) resolve(JSON.parse(out.trim()) as Result);
      else reject(new Error(`${script} exited with ${code}`));
    });
  });
  return { child, result };
}

/**
 * Runs a generator and calls `read` when the generator's measured window starts and ends (it says so
 * over IPC): connecting, joining (with its presence notices) and warm-up are left out.
 */
export async function measureWindowWith<R, S>(
  read: () => Promise<S>,
  generator: Generator<R>,
): Promise<{ load: R; start: S; end: S }> {
  const marks: Array<Promise<S>> = [];
  generator.child.on('message', (message: Partial<WindowMark>) => {
    if (message.kind !== 'window' || message.phase === undefined) return;
    const phase = message.phase;
    const reading = read();
    // The generator closes its connections once the end is read (markWindow), or failed to be.
    void reading
      .catch(() => undefined)
      .finally(() => {
        const answer: WindowRead = { kind: 'window-read', phase };
        if (generator.child.connected) generator.child.send(answer);
      });
    // A failed reading is the result's failure, taken up below; meanwhile it is not unhandled.
    reading.catch(() => undefined);
    marks.push(reading);
  });
  const load = await generator.result;
  const [start, end] = await Promise.all(marks);
  if (start === undefined || end === undefined) {
    throw new Error('the generator did not report its measured window');
  }
  return { load, start, end };
}

/** The CPU one process spent between two samples. */
export function cpuBetween(start: CpuSample, end: CpuSample): CpuSample {
  return {
    cpuMicros: end.cpuMicros - start.cpuMicros,
    cpuUserMicros: end.cpuUserMicros - start.cpuUserMicros,
    cpuSystemMicros: end.cpuSystemMicros - start.cpuSystemMicros,
  };
}

/** Runs a generator and reads the server's CPU over its measured window (see measureWindowWith). */
export async function measureWindow<R>(
  server: ServerProcess,
  generator: Generator<R>,
): Promise<{ load: R } & CpuSample> {
  const { load, start, end } = await measureWindowWith(() => server.usage(false), generator);
  return { load, ...cpuBetween(start, end) };
}

/**
 * Interleaved rounds: every side once per round, in the order given (A B, A B, …), so that drift on
 * the machine hits every side alike. With `onFailure`, a round in which a side fails is reported and
 * left out (the other scenarios still run); without it, the error ends the comparison.
 */
export async function interleavedRounds<K extends string, R>(
  count: number,
  sides: ReadonlyArray<readonly [K, () => Promise<R>]>,
  onRound: (round: number, results: Record<K, R>) => void,
  onFailure?: (round: number, error: unknown) => void,
): Promise<{ rounds: Array<Record<K, R>>; failures: string[] }> {
  const rounds: Array<Record<K, R>> = [];
  const failures: string[] = [];
  for (let round = 0; round < count; round += 1) {
    const results = {} as Record<K, R>;
    try {
      for (const [side, run] of sides) results[side] = await run();
    } catch (error) {
      if (!onFailure) throw error;
      failures.push(`round ${round + 1}: ${error instanceof Error ? error.message : String(error)}`);
      onFailure(round, error);
      continue;
    }
    rounds.push(results);
    onRound(round, results);
  }
  return { rounds, failures };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median over rounds of a per-round ratio. */
export function medianRatio<T>(rounds: T[], ratio: (round: T) => number): number {
  return median(rounds.map(ratio));
}

/** Per-round ratios reduced to their median and the lowest and highest round. */
export interface RatioSummary {
  median: number;
  min: number;
  max: number;
  rounds: number;
  /** Every round's ratio, in round order (absent from results files written before it was kept). */
  ratios?: number[];
}

/** The median and range over rounds of a per-round ratio (NaN throughout when there is no round). */
export function ratioSummary<T>(rounds: T[], ratio: (round: T) => number): RatioSummary {
  const ratios = rounds.map(ratio);
  if (ratios.length === 0) return { median: NaN, min: NaN, max: NaN, rounds: 0, ratios: [] };
  return {
    median: median(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    rounds: ratios.length,
    ratios,
  };
}
