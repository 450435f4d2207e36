// npm run bench: our gateways against bare `ws`, bare Socket.IO and uWebSockets.js, side by side in
// one run on loopback. Server and load generator are separate processes pinned to different cores
// where `taskset` exists; rounds are interleaved (A B A B) and the median of per-round ratios is
// reported. Writes BENCHMARKS.md and bench/results.json. `--smoke` runs a tiny version (npm test).
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { cpus, loadavg, tmpdir, totalmem } from 'os';
import { join } from 'path';
import * as jwt from 'jsonwebtoken';
import { BENCH_SECRET, type ServerMessage, type ServerRequest, type ServerUsage } from './bench-protocol';
import type { LoadResult, LoadSpec } from './loadgen';
import type { LogsLoadResult, LogsLoadSpec } from './logs-loadgen';
import { buildBench } from './build';
import { runHistoryBenchmark, type HistoryResult } from './history';

const ROOT = join(__dirname, '..');
const SMOKE = process.argv.includes('--smoke');
const OUT_JSON = process.env.BENCH_OUT_JSON ?? join(__dirname, SMOKE ? 'results.smoke.json' : 'results.json');
const OUT_MD = process.env.BENCH_OUT_MD ?? (SMOKE ? null : join(ROOT, 'BENCHMARKS.md'));
const HAS_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

type ServerName = 'bare-ws' | 'bare-ws-framed' | 'bare-socketio' | 'uws' | 'sample' | 'bare-logs';
interface Target {
  label: string;
  server: ServerName;
  transport: 'ws' | 'socket.io';
  auth: boolean;
}
const TARGETS: Record<string, Target> = {
  bareWs: { label: 'bare ws', server: 'bare-ws', transport: 'ws', auth: false },
  bareWsFramed: { label: 'bare ws, framed once', server: 'bare-ws-framed', transport: 'ws', auth: false },
  rooms: { label: 'rooms gateway (/ws/chat)', server: 'sample', transport: 'ws', auth: true },
  uws: { label: 'uWebSockets.js publish', server: 'uws', transport: 'ws', auth: false },
  bareIo: { label: 'bare Socket.IO', server: 'bare-socketio', transport: 'socket.io', auth: false },
  chat: { label: 'chat gateway (Socket.IO)', server: 'sample', transport: 'socket.io', auth: true },
};

/** `--from-source` runs servers and generators under ts-node instead of compiled (see bench/build.ts). */
const FROM_SOURCE = process.argv.includes('--from-source');

type Runtime = 'compiled JavaScript' | 'ts-node';
const RUNTIME: Runtime = FROM_SOURCE ? 'ts-node' : 'compiled JavaScript';

/** How child processes run a bench script (`bench/servers/x`, `bench/loadgen`): set by `prepareRuntime`. */
interface ChildRuntime {
  nodeArgs: (script: string) => string[];
  env: NodeJS.ProcessEnv;
  cleanup: () => void;
}

let runtime: ChildRuntime | null = null;

function prepareRuntime(): ChildRuntime {
  if (FROM_SOURCE) {
    return {
      nodeArgs: (script) => [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        join(ROOT, `${script}.ts`),
      ],
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      cleanup: () => undefined,
    };
  }
  // Inside the repository (node_modules resolve from there), one directory per run.
  const outDir = join(ROOT, '.bench-build', `run-${process.pid}`);
  const tsconfig = buildBench(ROOT, outDir);
  return {
    nodeArgs: (script) => ['-r', 'tsconfig-paths/register', join(outDir, `${script}.js`)],
    env: { ...process.env, TS_NODE_PROJECT: tsconfig },
    cleanup: () => rmSync(outDir, { recursive: true, force: true }),
  };
}

function childRuntime(): ChildRuntime {
  if (!runtime) throw new Error('prepareRuntime() has not run');
  return runtime;
}

function pinned(core: number, args: string[]): [string, string[]] {
  return HAS_TASKSET
    ? ['taskset', ['-c', String(core), process.execPath, ...args]]
    : [process.execPath, args];
}

class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(name: ServerName): Promise<ServerProcess> {
    const [command, args] = pinned(0, [
      '--expose-gc',
      '--max-old-space-size=4096',
      ...childRuntime().nodeArgs(`bench/servers/${name}`),
    ]);
    const child = spawn(command, args, {
      cwd: ROOT,
      env: childRuntime().env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
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

function tokens(count: number, claims: Record<string, string> = {}, users = count): string[] {
  return Array.from({ length: count }, (_, k) => k % users).map((i) =>
    jwt.sign({ sub: String(100_000 + i), username: `bench${i}`, ...claims }, BENCH_SECRET, {
      algorithm: 'HS256',
      expiresIn: 3600,
    }),
  );
}

function urlFor(target: Target, port: number): string {
  return target.transport === 'ws' ? `ws://127.0.0.1:${port}/ws/chat` : `http://127.0.0.1:${port}`;
}

/** Runs a load generator script in its own process on core 1; resolves with its JSON line. */
function startGenerator<Spec, Result>(
  script: string,
  spec: Spec,
): { child: ChildProcess; result: Promise<Result> } {
  // The spec goes through a file: thousands of tokens exceed what one argument may hold (E2BIG).
  const dir = mkdtempSync(join(tmpdir(), 'rt-bench-spec-'));
  const specFile = join(dir, 'spec.json');
  writeFileSync(specFile, JSON.stringify(spec));
  const [command, args] = pinned(1, [
    '--max-old-space-size=4096',
    ...childRuntime().nodeArgs(`bench/${script}`),
    specFile,
  ]);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: childRuntime().env,
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

const startLoad = (spec: LoadSpec) => startGenerator<LoadSpec, LoadResult>('loadgen', spec);

interface FanoutRound {
  target: string;
  load: LoadResult;
  serverCpuMicrosPerDelivery: number;
  /** The user and system parts of the server's CPU per delivery. */
  serverUserMicrosPerDelivery: number;
  serverSystemMicrosPerDelivery: number;
  /** The load generator's CPU per delivery over the same window. */
  generatorCpuMicrosPerDelivery: number;
}

interface FanoutPlan {
  subscribers: number;
  /** Messages per second from the publisher. */
  rate: number;
  seconds: number;
  tickMs?: number;
}

/**
 * Warm-up of every fan-out run. With 2 s, the message path of the gateway (run 200 times a second,
 * where the delivery path runs 20,000 times) was still being compiled by TurboFan in the measured
 * window: 35 functions in 5 s, on V8's helper threads.
 */
const FANOUT_WARMUP_SEC = SMOKE ? 0.5 : 8;

/** One load run against a running server; CPU per delivery from the server's own cpuUsage. */
async function loadOn(server: ServerProcess, targetKey: string, plan: FanoutPlan): Promise<FanoutRound> {
  const target = TARGETS[targetKey]!;
  const spec: LoadSpec = {
    transport: target.transport,
    url: urlFor(target, server.port),
    tokens: target.auth ? tokens(plan.subscribers + 1) : [],
    subscribers: plan.subscribers,
    rate: plan.rate,
    bytes: 1024,
    warmupSec: FANOUT_WARMUP_SEC,
    durationSec: plan.seconds,
    tickMs: plan.tickMs,
  };
  const { load, cpuMicros, cpuUserMicros, cpuSystemMicros } = await measureWindow(server, startLoad(spec));
  const deliveries = Math.max(load.deliveries, 1);
  return {
    target: targetKey,
    load,
    serverCpuMicrosPerDelivery: cpuMicros / deliveries,
    serverUserMicrosPerDelivery: cpuUserMicros / deliveries,
    serverSystemMicrosPerDelivery: cpuSystemMicros / deliveries,
    generatorCpuMicrosPerDelivery: load.loadgenCpuMicros / deliveries,
  };
}

/**
 * Runs a generator and reads the server's CPU when the generator's measured window starts and ends
 * (it says so over IPC): connecting, joining (with its presence notices) and warm-up are left out.
 */
async function measureWindow<R>(
  server: ServerProcess,
  generator: { child: ChildProcess; result: Promise<R> },
): Promise<{ load: R; cpuMicros: number; cpuUserMicros: number; cpuSystemMicros: number }> {
  const marks: Array<Promise<ServerUsage>> = [];
  generator.child.on('message', (message: { kind?: string; phase?: string }) => {
    if (message.kind === 'window') marks.push(server.usage(false));
  });
  const load = await generator.result;
  const [start, end] = await Promise.all(marks);
  if (!start || !end) throw new Error('the generator did not report its measured window');
  return {
    load,
    cpuMicros: end.cpuMicros - start.cpuMicros,
    cpuUserMicros: end.cpuUserMicros - start.cpuUserMicros,
    cpuSystemMicros: end.cpuSystemMicros - start.cpuSystemMicros,
  };
}

async function fanoutRound(targetKey: string, plan: FanoutPlan): Promise<FanoutRound> {
  const server = await ServerProcess.start(TARGETS[targetKey]!.server);
  try {
    return await loadOn(server, targetKey, plan);
  } finally {
    await server.stop();
  }
}

/** Distinct users behind the idle connections. */
const IDLE_USERS = 100;

interface IdleResult {
  target: string;
  connections: number;
  heapPerConnection: number;
  rssPerConnection: number;
}

async function idleRound(targetKey: string, connections: number): Promise<IdleResult> {
  const target = TARGETS[targetKey]!;
  const server = await ServerProcess.start(target.server);
  try {
    const before = await server.usage(true);
    const spec: LoadSpec = {
      transport: target.transport,
      url: urlFor(target, server.port),
      // 100 users with many connections each: every user's first connection is announced to every
      // Socket.IO socket (seed 001 `userStatus`), so 10,000 distinct users cost 50 million packets.
      tokens: target.auth ? tokens(connections, {}, Math.min(connections, IDLE_USERS)) : [],
      subscribers: connections,
      rate: 0,
      bytes: 0,
      warmupSec: 0,
      durationSec: 0,
    };
    const { child, result } = startLoad(spec);
    await new Promise<void>((resolve, reject) => {
      child.on('message', () => resolve());
      result.catch(reject);
    });
    const after = await server.usage(true);
    child.send('stop');
    await result;
    const held = Math.max(after.connections - before.connections, 1);
    return {
      target: targetKey,
      connections: held,
      heapPerConnection: (after.heapUsed - before.heapUsed) / held,
      rssPerConnection: (after.rss - before.rss) / held,
    };
  } finally {
    await server.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Comparison {
  scenario: string;
  ours: string;
  baseline: string;
  subscribers: number;
  /** Publisher messages per second. */
  rate: number;
  rounds: Array<{ ours: FanoutRound; baseline: FanoutRound }>;
  deliveriesRatio: number;
  cpuPerDeliveryRatio: number;
  p50Ratio: number;
  p99Ratio: number;
  saturatedRounds: number;
  /** Rounds that could not run (the error), left out of the medians. */
  failures: string[];
}

function saturated(round: FanoutRound): boolean {
  return round.load.loadgenCpuPercent > 90 || round.load.deliveries < round.load.expected;
}

async function compareFanout(
  scenario: string,
  ours: string,
  baseline: string,
  plan: FanoutPlan,
  rounds: number,
): Promise<Comparison> {
  const pairs: Comparison['rounds'] = [];
  const failures: string[] = [];
  for (let round = 0; round < rounds; round += 1) {
    // Interleaved: A B, A B, ... so that drift on the machine hits both sides alike.
    let b: FanoutRound;
    let o: FanoutRound;
    try {
      b = await fanoutRound(baseline, plan);
      o = await fanoutRound(ours, plan);
    } catch (error) {
      // A round that fails is reported, not fatal: the other scenarios still run.
      failures.push(`round ${round + 1}: ${error instanceof Error ? error.message : String(error)}`);
      console.error(`[bench] ${scenario} round ${round + 1} failed:`, error);
      continue;
    }
    pairs.push({ ours: o, baseline: b });
    console.error(
      `[bench] ${scenario} round ${round + 1}: ${ours} ${o.load.deliveriesPerSec.toFixed(0)}/s p99 ${o.load.p99Ms.toFixed(2)} ms ${o.serverCpuMicrosPerDelivery.toFixed(2)} µs/del vs ${baseline} ${b.load.deliveriesPerSec.toFixed(0)}/s p99 ${b.load.p99Ms.toFixed(2)} ms ${b.serverCpuMicrosPerDelivery.toFixed(2)} µs/del`,
    );
  }
  return {
    scenario,
    ours,
    baseline,
    subscribers: plan.subscribers,
    rate: plan.rate,
    rounds: pairs,
    deliveriesRatio: median(
      pairs.map((p) => p.ours.load.deliveriesPerSec / p.baseline.load.deliveriesPerSec),
    ),
    cpuPerDeliveryRatio: median(
      pairs.map((p) => p.ours.serverCpuMicrosPerDelivery / p.baseline.serverCpuMicrosPerDelivery),
    ),
    p50Ratio: median(pairs.map((p) => p.ours.load.p50Ms / Math.max(p.baseline.load.p50Ms, 0.001))),
    p99Ratio: median(pairs.map((p) => p.ours.load.p99Ms / Math.max(p.baseline.load.p99Ms, 0.001))),
    saturatedRounds: pairs.filter((p) => saturated(p.ours) || saturated(p.baseline)).length,
    failures,
  };
}

interface CapacityStep {
  rate: number;
  deliveriesPerSec: number;
  p99Ms: number;
  drainSec: number;
  loadgenCpuPercent: number;
  sustained: boolean;
}

export interface Capacity {
  target: string;
  subscribers: number;
  steps: CapacityStep[];
  /** Highest publish rate sustained (messages/s) and its deliveries/s. */
  rate: number;
  deliveriesPerSec: number;
  /** The first unsustained step had the generator above 90 % CPU: the figure is the generator's. */
  generatorBound: boolean;
}

/**
 * A short ramp on one server process: the publish rate grows by `factor` while every message still
 * arrives, within half a second of the window's end and with p99 under 100 ms. Bounded in steps.
 */
async function findCapacity(
  targetKey: string,
  subscribers: number,
  startRate: number,
  factor: number,
  maxSteps: number,
  seconds: number,
): Promise<Capacity> {
  const server = await ServerProcess.start(TARGETS[targetKey]!.server);
  const steps: CapacityStep[] = [];
  try {
    let rate = startRate;
    for (let step = 0; step < maxSteps; step += 1) {
      const { load } = await loadOn(server, targetKey, { subscribers, rate, seconds, tickMs: 1 });
      const drainSec = load.seconds - seconds;
      const sustained = load.deliveries >= load.expected && drainSec <= 0.5 && load.p99Ms <= 100;
      steps.push({
        rate,
        deliveriesPerSec: load.deliveriesPerSec,
        p99Ms: load.p99Ms,
        drainSec,
        loadgenCpuPercent: load.loadgenCpuPercent,
        sustained,
      });
      console.error(
        `[bench] capacity ${targetKey} ${rate} msg/s x ${subscribers}: ${load.deliveriesPerSec.toFixed(0)}/s p99 ${load.p99Ms.toFixed(2)} ms, generator ${load.loadgenCpuPercent.toFixed(0)} % ${sustained ? 'sustained' : 'NOT sustained'}`,
      );
      if (!sustained) break;
      rate = Math.round(rate * factor);
    }
  } finally {
    await server.stop();
  }
  const best = [...steps].reverse().find((s) => s.sustained);
  const failed = steps.find((s) => !s.sustained);
  return {
    target: targetKey,
    subscribers,
    steps,
    rate: best?.rate ?? 0,
    deliveriesPerSec: best?.deliveriesPerSec ?? 0,
    generatorBound: (failed ?? steps[steps.length - 1])!.loadgenCpuPercent > 90,
  };
}

interface LogsRound {
  target: string;
  load: LogsLoadResult;
  serverCpuMicrosPerDelivery: number;
}

export interface LogsComparison {
  subscribers: number;
  concurrency: number;
  entriesPerRequest: number;
  rounds: Array<{ ours: LogsRound; baseline: LogsRound }>;
  ingestedRatio: number;
  deliveriesRatio: number;
  cpuPerDeliveryRatio: number;
  p99Ratio: number;
  saturatedRounds: number;
}

async function logsRound(
  server: 'sample' | 'bare-logs',
  subscribers: number,
  concurrency: number,
  entriesPerRequest: number,
  seconds: number,
): Promise<LogsRound> {
  const running = await ServerProcess.start(server);
  try {
    const appId = 'bench-app';
    const spec: LogsLoadSpec = {
      url: `http://127.0.0.1:${running.port}`,
      appId,
      producerToken: tokens(1, { appId })[0]!,
      subscriberTokens: tokens(subscribers, { appId }),
      concurrency,
      entriesPerRequest,
      messageBytes: 120,
      warmupSec: SMOKE ? 0.5 : 2,
      durationSec: seconds,
    };
    const { load, cpuMicros } = await measureWindow(
      running,
      startGenerator<LogsLoadSpec, LogsLoadResult>('logs-loadgen', spec),
    );
    return { target: server, load, serverCpuMicrosPerDelivery: cpuMicros / Math.max(load.deliveries, 1) };
  } finally {
    await running.stop();
  }
}

async function compareLogs(
  subscribers: number,
  concurrency: number,
  entriesPerRequest: number,
  rounds: number,
  seconds: number,
): Promise<LogsComparison> {
  const pairs: LogsComparison['rounds'] = [];
  for (let round = 0; round < rounds; round += 1) {
    const b = await logsRound('bare-logs', subscribers, concurrency, entriesPerRequest, seconds);
    const o = await logsRound('sample', subscribers, concurrency, entriesPerRequest, seconds);
    pairs.push({ ours: o, baseline: b });
    console.error(
      `[bench] log stream round ${round + 1}: ours ${o.load.ingestedPerSec.toFixed(0)} entries/s in, ${o.load.deliveriesPerSec.toFixed(0)}/s out, p99 ${o.load.p99Ms.toFixed(2)} ms vs bare ${b.load.ingestedPerSec.toFixed(0)} in, ${b.load.deliveriesPerSec.toFixed(0)}/s out, p99 ${b.load.p99Ms.toFixed(2)} ms`,
    );
  }
  const logsSaturated = (r: LogsRound) =>
    r.load.loadgenCpuPercent > 90 || r.load.deliveries < r.load.expected;
  return {
    subscribers,
    concurrency,
    entriesPerRequest,
    rounds: pairs,
    ingestedRatio: median(pairs.map((p) => p.ours.load.ingestedPerSec / p.baseline.load.ingestedPerSec)),
    deliveriesRatio: median(
      pairs.map((p) => p.ours.load.deliveriesPerSec / p.baseline.load.deliveriesPerSec),
    ),
    cpuPerDeliveryRatio: median(
      pairs.map((p) => p.ours.serverCpuMicrosPerDelivery / p.baseline.serverCpuMicrosPerDelivery),
    ),
    p99Ratio: median(pairs.map((p) => p.ours.load.p99Ms / Math.max(p.baseline.load.p99Ms, 0.001))),
    saturatedRounds: pairs.filter((p) => logsSaturated(p.ours) || logsSaturated(p.baseline)).length,
  };
}

export interface BenchReport {
  date: string;
  command: string;
  machine: { cpus: number; model: string; memoryGiB: number; node: string; pinned: boolean };
  /** How servers and generators ran: compiled JavaScript (the default) or ts-node (`--from-source`). */
  runtime: Runtime;
  /** 1-minute load average when the run started and when it ended. */
  loadAverage: { start: number; end: number };
  durationSec: number;
  smoke: boolean;
  fanout: Comparison[];
  capacity: Capacity;
  halfLoad: Comparison;
  logs: LogsComparison;
  idle: IdleResult[];
  history: HistoryResult;
}

/** Scenario groups; `--only=idle,history` reruns some and keeps the others of the last results file. */
const GROUPS = ['fanout', 'halfload', 'logs', 'idle', 'history'] as const;
type Group = (typeof GROUPS)[number];

/** `--scenario=rooms, 100 members` reruns that fan-out scenario only and keeps the others. */
const SCENARIO = process.argv.find((a) => a.startsWith('--scenario='))?.slice('--scenario='.length);

function selectedGroups(): Set<Group> {
  const arg = process.argv.find((a) => a.startsWith('--only='));
  if (!arg) return new Set(SCENARIO === undefined ? GROUPS : ['fanout']);
  const names = arg.slice('--only='.length).split(',');
  const unknown = names.filter((n) => !(GROUPS as readonly string[]).includes(n));
  if (unknown.length)
    throw new Error(`unknown scenario group(s): ${unknown.join(', ')} (known: ${GROUPS.join(', ')})`);
  if (SCENARIO !== undefined && !names.includes('fanout')) {
    throw new Error('--scenario names a fan-out scenario: it needs the fanout group');
  }
  return new Set(names as Group[]);
}

async function main(): Promise<void> {
  runtime = prepareRuntime();
  try {
    await runGroups();
  } finally {
    runtime.cleanup();
  }
}

async function runGroups(): Promise<void> {
  const startedAt = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  console.error(
    `[bench] load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const only = selectedGroups();
  // One fan-out scenario is a partial run too: the other scenarios come from the last results.
  const partial = only.size < GROUPS.length || SCENARIO !== undefined;
  // A partial run starts from the last results and replaces the groups it reruns.
  const report: BenchReport = partial
    ? (JSON.parse(readFileSync(OUT_JSON, 'utf8')) as BenchReport)
    : ({ smoke: SMOKE } as BenchReport);
  if (report.smoke !== SMOKE) throw new Error(`${OUT_JSON} is from a ${report.smoke ? 'smoke' : 'full'} run`);
  // Older results files predate the field: they ran under ts-node.
  if (partial && (report.runtime ?? 'ts-node') !== RUNTIME) {
    throw new Error(`${OUT_JSON} was measured with ${report.runtime ?? 'ts-node'}, this run uses ${RUNTIME}`);
  }
  report.runtime = RUNTIME;
  const save = (): void => {
    report.date = new Date().toISOString();
    report.command = `npm run bench${SMOKE ? ' -- --smoke' : ''}${partial ? `, then again with -- ${process.argv.slice(2).join(' ')}` : ''}`;
    report.machine = {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      pinned: HAS_TASKSET,
    };
    report.loadAverage = { start: loadAtStart, end: loadavg()[0] ?? 0 };
    report.durationSec = (partial ? (report.durationSec ?? 0) : 0) + (Date.now() - startedAt) / 1000;
    // Written after every group, so that a run stopped half-way keeps what it measured.
    writeFileSync(OUT_JSON, JSON.stringify(report, null, 2));
  };
  // Fan-out rounds: per-round CPU ratios at 100 members spread from 1.3 to 1.8 on a 2-core machine
  // within one run, and 5-round medians from 1.15 to 1.48 between runs, so the fan-out and half-load
  // medians are taken over 7 rounds.
  const fanoutRounds = SMOKE ? 1 : 7;
  const rounds = SMOKE ? 1 : 3;
  const seconds = SMOKE ? 1 : 5;
  if (only.has('fanout')) {
    const plans: Array<[string, string, string, number, number]> = SMOKE
      ? [
          ['rooms, 5 members', 'rooms', 'bareWs', 5, 20],
          ['uWS reference, 5 members', 'uws', 'bareWs', 5, 20],
          ['chat, 5 members', 'chat', 'bareIo', 5, 20],
        ]
      : [
          ['rooms, 100 members', 'rooms', 'bareWs', 100, 200],
          ['rooms against bare ws framed once, 100 members', 'rooms', 'bareWsFramed', 100, 200],
          ['uWS reference, 100 members', 'uws', 'bareWs', 100, 200],
          ['rooms, 1000 members', 'rooms', 'bareWs', 1000, 20],
          ['chat, 100 members', 'chat', 'bareIo', 100, 200],
          ['chat, 1000 members', 'chat', 'bareIo', 1000, 20],
        ];
    const selected = SCENARIO === undefined ? plans : plans.filter(([scenario]) => scenario === SCENARIO);
    if (selected.length === 0) {
      throw new Error(
        `unknown fan-out scenario: ${SCENARIO} (known: ${plans.map(([name]) => name).join('; ')})`,
      );
    }
    const kept = SCENARIO === undefined ? [] : (report.fanout ?? []).filter((c) => c.scenario !== SCENARIO);
    const measured: Comparison[] = [];
    for (const [scenario, ours, baseline, subscribers, rate] of selected) {
      measured.push(
        await compareFanout(scenario, ours, baseline, { subscribers, rate, seconds }, fanoutRounds),
      );
    }
    const order = (c: Comparison): number => plans.findIndex(([name]) => name === c.scenario);
    report.fanout = [...kept, ...measured].sort((a, b) => order(a) - order(b));
    save();
  }
  if (only.has('halfload')) {
    // Open loop at half of what bare ws sustains: the capacity ramp first, then both sides at half.
    const members = SMOKE ? 5 : 100;
    report.capacity = SMOKE
      ? await findCapacity('bareWs', members, 20, 2, 2, 0.5)
      : await findCapacity('bareWs', members, 250, 1.4, 12, 3);
    const halfRate = Math.max(1, Math.round(report.capacity.rate / 2));
    report.halfLoad = await compareFanout(
      `rooms, ${members} members, half of bare ws capacity`,
      'rooms',
      'bareWs',
      { subscribers: members, rate: halfRate, seconds, tickMs: 1 },
      fanoutRounds,
    );
    save();
  }
  if (only.has('logs')) {
    report.logs = SMOKE ? await compareLogs(5, 2, 5, 1, 1) : await compareLogs(100, 8, 10, rounds, seconds);
    save();
  }
  if (only.has('idle')) {
    report.idle = [];
    for (const target of ['bareWs', 'rooms', 'bareIo', 'chat']) {
      report.idle.push(await idleRound(target, SMOKE ? 50 : 10_000));
    }
    save();
  }
  if (only.has('history')) {
    report.history = await runHistoryBenchmark(SMOKE ? 5_000 : 1_000_000, SMOKE ? 50 : 1000);
    save();
  }
  if (OUT_MD) writeFileSync(OUT_MD, renderMarkdown(report));
  console.error(
    `[bench] wrote ${OUT_JSON}${OUT_MD ? ` and ${OUT_MD}` : ''} after ${((Date.now() - startedAt) / 1000).toFixed(0)} s`,
  );
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en') : 'n/a';
}

/** Median over the rounds of one side's figure. */
function sideMedian<R>(
  rounds: Array<{ ours: R; baseline: R }>,
  side: 'ours' | 'baseline',
  pick: (r: R) => number,
) {
  return median(rounds.map((round) => pick(round[side])));
}

/** The lowest and highest per-round ratio (ours / baseline), shown beside the median. */
function roundRange(c: Comparison, pick: (r: FanoutRound) => number): string {
  const ratios = c.rounds.map((round) => pick(round.ours) / pick(round.baseline));
  if (ratios.length < 2) return '';
  return ` (${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))})`;
}

const cpuOf = (r: FanoutRound): number => r.serverCpuMicrosPerDelivery;
/** Server and generator together: the kernel's TCP work on loopback is charged to either. */
const bothOf = (r: FanoutRound): number => r.serverCpuMicrosPerDelivery + r.generatorCpuMicrosPerDelivery;

/** Median of the per-round ratios (ours / baseline) of one figure. */
function roundRatio(c: Comparison, pick: (r: FanoutRound) => number): number {
  return median(c.rounds.map((round) => pick(round.ours) / pick(round.baseline)));
}

/** One row of the CPU split table: server user, server system, generator, and both. */
function cpuSplitRow(c: Comparison): string {
  const pair = (pick: (r: FanoutRound) => number): string =>
    `${fmt(sideMedian(c.rounds, 'ours', pick))} / ${fmt(sideMedian(c.rounds, 'baseline', pick))} | ${fmt(roundRatio(c, pick))}`;
  return `| ${c.scenario} | ${pair((r) => r.serverUserMicrosPerDelivery)} | ${pair((r) => r.serverSystemMicrosPerDelivery)} | ${pair((r) => r.generatorCpuMicrosPerDelivery)} | ${pair(bothOf)}${roundRange(c, bothOf)} |`;
}
const p99Of = (r: FanoutRound): number => r.load.p99Ms;

function met(ok: boolean): string {
  return ok ? 'met' : '**not met**';
}

/** Hand-written notes (profiles, fixes, before/after figures) kept beside the harness. */
const NOTES_FILE = join(__dirname, 'NOTES.md');

export function renderMarkdown(report: BenchReport): string {
  const idleOf = (t: string) => report.idle.find((i) => i.target === t);
  const rooms100 = report.fanout.find((c) => c.scenario.startsWith('rooms, 100'));
  const chat100 = report.fanout.find((c) => c.scenario.startsWith('chat, 100'));
  const half = report.halfLoad;
  const cap = report.capacity;
  const logs = report.logs;
  const ratio = (a: number | undefined, b: number | undefined) => (a ?? NaN) / (b ?? NaN);
  const roomsHeap = idleOf('rooms')?.heapPerConnection ?? NaN;
  const ioHeapRatio = ratio(idleOf('chat')?.heapPerConnection, idleOf('bareIo')?.heapPerConnection);
  const wsRssRatio = ratio(idleOf('rooms')?.rssPerConnection, idleOf('bareWs')?.rssPerConnection);
  const ioRssRatio = ratio(idleOf('chat')?.rssPerConnection, idleOf('bareIo')?.rssPerConnection);
  const targets: Array<[string, string, boolean]> = [
    [
      'rooms gateway fan-out ≥ 0.85 × bare ws deliveries/s (100 members)',
      `${fmt(rooms100?.deliveriesRatio ?? NaN)} ×`,
      (rooms100?.deliveriesRatio ?? 0) >= 0.85,
    ],
    [
      'rooms gateway CPU per delivery ≤ 1.2 × bare ws (100 members)',
      `${fmt(rooms100?.cpuPerDeliveryRatio ?? NaN)} ×${rooms100 ? roundRange(rooms100, cpuOf) : ''}`,
      (rooms100?.cpuPerDeliveryRatio ?? Infinity) <= 1.2,
    ],
    [
      'Socket.IO chat fan-out ≥ 0.9 × bare Socket.IO deliveries/s (100 members)',
      `${fmt(chat100?.deliveriesRatio ?? NaN)} ×`,
      (chat100?.deliveriesRatio ?? 0) >= 0.9,
    ],
    [
      'p99 at half of bare ws capacity ≤ 1.5 × bare ws',
      `${fmt(half.p99Ratio)} ×${roundRange(half, p99Of)}`,
      half.p99Ratio <= 1.5 && cap.rate > 0,
    ],
    ['heap per idle ws connection ≤ 6 KB', `${fmt(roomsHeap / 1024, 1)} KB`, roomsHeap <= 6144],
    [
      'Socket.IO heap per idle connection ≤ 1.2 × bare Socket.IO',
      `${fmt(ioHeapRatio)} ×`,
      ioHeapRatio <= 1.2,
    ],
    ['RSS per idle ws connection ≤ 1.3 × bare ws', `${fmt(wsRssRatio)} ×`, wsRssRatio <= 1.3],
    ['RSS per idle Socket.IO connection ≤ 1.3 × bare Socket.IO', `${fmt(ioRssRatio)} ×`, ioRssRatio <= 1.3],
    [
      'history p99 ≤ 5 ms at 1,000,000 messages (SQLite)',
      `${fmt(report.history.p99Ms, 3)} ms`,
      report.history.messages >= 1_000_000 && report.history.p99Ms <= 5,
    ],
  ];
  const fanoutRow = (c: Comparison) => {
    const o = (pick: (r: FanoutRound) => number) => sideMedian(c.rounds, 'ours', pick);
    const b = (pick: (r: FanoutRound) => number) => sideMedian(c.rounds, 'baseline', pick);
    return `| ${c.scenario} | ${TARGETS[c.ours]!.label} vs ${TARGETS[c.baseline]!.label} | ${int(c.rate)} | ${int(o((r) => r.load.deliveriesPerSec))} / ${int(b((r) => r.load.deliveriesPerSec))} | ${fmt(c.deliveriesRatio)} | ${fmt(o((r) => r.serverCpuMicrosPerDelivery))} / ${fmt(b((r) => r.serverCpuMicrosPerDelivery))} | ${fmt(c.cpuPerDeliveryRatio)}${roundRange(c, cpuOf)} | ${fmt(o((r) => r.load.p50Ms))} / ${fmt(o((r) => r.load.p99Ms))} / ${fmt(o((r) => r.load.maxMs))} | ${fmt(b((r) => r.load.p50Ms))} / ${fmt(b((r) => r.load.p99Ms))} / ${fmt(b((r) => r.load.maxMs))} | ${fmt(c.p99Ratio)}${roundRange(c, p99Of)} | ${fmt(
      o((r) => r.load.loadgenCpuPercent),
      0,
    )} / ${fmt(
      b((r) => r.load.loadgenCpuPercent),
      0,
    )} % | ${c.saturatedRounds} of ${c.rounds.length}${c.failures.length ? ` (${c.failures.length} failed: ${c.failures.join('; ')})` : ''} |`;
  };
  const fanoutHeader = [
    '| scenario | ours vs baseline | publish msg/s | deliveries/s ours / baseline | ratio | server CPU µs/delivery ours / baseline | ratio | ours p50 / p99 / max ms | baseline p50 / p99 / max ms | p99 ratio | generator CPU ours / baseline | saturated rounds |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const lo = (pick: (r: LogsRound) => number) => sideMedian(logs.rounds, 'ours', pick);
  const lb = (pick: (r: LogsRound) => number) => sideMedian(logs.rounds, 'baseline', pick);
  let notes = '';
  try {
    notes = readFileSync(NOTES_FILE, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const lines = [
    '# Benchmarks',
    '',
    `Produced by \`${report.command}\` on ${report.date} in ${fmt(report.durationSec / 60, 1)} min — ${report.machine.cpus} cores (${report.machine.model}), ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; servers and load generators run as ${report.runtime ?? 'ts-node'}${report.runtime === 'ts-node' ? ' (--from-source)' : ' (bench/build.ts)'}; server and load generator ${report.machine.pinned ? 'pinned to cores 0 and 1 (taskset)' : 'not pinned'}; 1-minute load average ${fmt(report.loadAverage.start)} at the start, ${fmt(report.loadAverage.end)} at the end. Loopback only. Ratios are medians of per-round ratios over interleaved rounds (baseline, ours, baseline, ours, …), with the lowest and highest round in brackets for CPU and p99; absolute figures are medians over the rounds and drift between runs, the ratios are what count. Raw figures: \`bench/results.json\`.`,
    '',
    '## Targets',
    '',
    '| target | figure | |',
    '|---|---|---|',
    ...targets.map(([name, figure, ok]) => `| ${name} | ${figure} | ${met(ok)} |`),
    '',
    '## Room fan-out (1 KB messages, fixed publish rate)',
    '',
    "One publisher and N members of one room; every member receives every message. Deliveries/s and latency are measured by the generator (send time carried in the message); server CPU is the server process's own `cpuUsage` (user + system, all threads) from the start to the end of the measured window, divided by the deliveries in it.",
    '',
    "The rooms gateway frames a broadcast once and writes those bytes to every member's socket that negotiated no extension; bare ws (`send` per member, as ws's API has it) builds a frame header per member and writes two chunks. *Bare ws, framed once* is bare ws delivering the gateway's way: the ratio against it is what routing, validation, rate limits and storing each message cost. It is a reference, not a target.",
    '',
    ...fanoutHeader,
    ...report.fanout.map(fanoutRow),
    '',
    `## Open-loop load at half of bare ws capacity (${half.subscribers} members)`,
    '',
    `Capacity ramp on bare ws (${cap.subscribers} members, publish rate ×1.4 per step until a step is not sustained: every message delivered, within 0.5 s of the window's end, p99 ≤ 100 ms): **${int(cap.rate)} msg/s = ${int(cap.deliveriesPerSec)} deliveries/s**${cap.generatorBound ? " — the generator was above 90 % CPU at the first step not sustained, so this is the generator's limit as much as the server's" : ''}.`,
    '',
    '| publish msg/s | deliveries/s | p99 ms | drain s | generator CPU | sustained |',
    '|---|---|---|---|---|---|',
    ...cap.steps.map(
      (s) =>
        `| ${int(s.rate)} | ${int(s.deliveriesPerSec)} | ${fmt(s.p99Ms)} | ${fmt(s.drainSec)} | ${fmt(s.loadgenCpuPercent, 0)} % | ${s.sustained ? 'yes' : 'no'} |`,
    ),
    '',
    `Both servers then driven open-loop at ${int(half.rate)} msg/s (publisher clock 1 ms; the generator records how late its clock ran).`,
    '',
    ...fanoutHeader,
    fanoutRow(half),
    '',
    `Publisher clock lag p99 (median over rounds): ours ${fmt(sideMedian(half.rounds, 'ours', (r) => r.load.sendLagP99Ms))} ms, baseline ${fmt(sideMedian(half.rounds, 'baseline', (r) => r.load.sendLagP99Ms))} ms.`,
    '',
    '## Server CPU split, and the generator',
    '',
    "The same rounds as above, µs per delivery (medians over rounds; ratios are medians of per-round ratios). On loopback the kernel's TCP work for one delivery (the receiving side's processing, the ACKs, freeing the buffers) runs partly in the sender's system calls and partly in the receiver's, depending on which of the two is busy at that moment; so the server's system time moves with its own load, and the generator's with it in the opposite direction. The last column counts server and generator together, with the lowest and highest round.",
    '',
    '| scenario | server user ours / baseline | ratio | server system ours / baseline | ratio | generator ours / baseline | ratio | server + generator ours / baseline | ratio |',
    '|---|---|---|---|---|---|---|---|---|',
    ...report.fanout.map(cpuSplitRow),
    cpuSplitRow(half),
    '',
    `## Log stream (${logs.subscribers} subscribers of one app)`,
    '',
    `Producers POST \`/apps/:appId/logs\` over keep-alive HTTP, ${logs.concurrency} requests in flight (closed loop: the server sets the pace), ${logs.entriesPerRequest} entries of 120 bytes per request, with a token whose \`appId\` claim matches; ${logs.subscribers} ws clients at \`/ws/logs?token=...\` receive \`{type:'logs',payload:[...]}\` frames. Baseline: express + ws doing the same relay (JWT check, ids, last 1000 kept, one frame per tick serialised once), without Nest, class-validator or metrics.`,
    '',
    '| | ours (sample app) | bare express + ws | ratio |',
    '|---|---|---|---|',
    `| entries ingested/s | ${int(lo((r) => r.load.ingestedPerSec))} | ${int(lb((r) => r.load.ingestedPerSec))} | ${fmt(logs.ingestedRatio)} |`,
    `| entries delivered/s (all subscribers) | ${int(lo((r) => r.load.deliveriesPerSec))} | ${int(lb((r) => r.load.deliveriesPerSec))} | ${fmt(logs.deliveriesRatio)} |`,
    `| server CPU µs per delivered entry | ${fmt(
      lo((r) => r.serverCpuMicrosPerDelivery),
      3,
    )} | ${fmt(
      lb((r) => r.serverCpuMicrosPerDelivery),
      3,
    )} | ${fmt(logs.cpuPerDeliveryRatio)} |`,
    `| delivery p50 / p99 / max ms | ${fmt(lo((r) => r.load.p50Ms))} / ${fmt(lo((r) => r.load.p99Ms))} / ${fmt(lo((r) => r.load.maxMs))} | ${fmt(lb((r) => r.load.p50Ms))} / ${fmt(lb((r) => r.load.p99Ms))} / ${fmt(lb((r) => r.load.maxMs))} | ${fmt(logs.p99Ratio)} (p99) |`,
    `| POST round trip p99 ms | ${fmt(lo((r) => r.load.requestP99Ms))} | ${fmt(lb((r) => r.load.requestP99Ms))} | |`,
    `| generator CPU | ${fmt(
      lo((r) => r.load.loadgenCpuPercent),
      0,
    )} % | ${fmt(
      lb((r) => r.load.loadgenCpuPercent),
      0,
    )} % | |`,
    `| saturated rounds | ${logs.saturatedRounds} of ${logs.rounds.length} | | |`,
    '',
    '## Idle connections (after GC)',
    '',
    '| server | connections | heap / connection | RSS / connection |',
    '|---|---|---|---|',
    ...report.idle.map(
      (i) =>
        `| ${TARGETS[i.target]!.label} | ${int(i.connections)} | ${fmt(i.heapPerConnection / 1024, 1)} KB | ${fmt(i.rssPerConnection / 1024, 1)} KB |`,
    ),
    '',
    '## History query',
    '',
    `\`room_history\` limit ${report.history.limit} on a room of ${report.history.messages.toLocaleString('en')} stored messages (SQLite), ${report.history.queries} queries at random offsets among the newest pages, through \`MessagesService\`: p50 ${fmt(report.history.p50Ms, 3)} ms, p99 ${fmt(report.history.p99Ms, 3)} ms, max ${fmt(report.history.maxMs, 3)} ms (seeding took ${fmt(report.history.seedSeconds, 1)} s).`,
    '',
    '## Method',
    '',
    "- Every server and every load generator run is a fresh child process, compiled to JavaScript first as a host app runs in production (`bench/build.ts`; ts-node loads Node's `domain` module, which wraps every `EventEmitter.emit`, so `--from-source` is for quick trials only); servers on core 0, generators on core 1 when `taskset` exists. Warm-up before each measured window (8 s for fan-out, 2 s for the log stream), then a drain of at most 2 s for messages in flight.",
    '- A round is **saturated** when its generator used more than 90 % of a core or not every expected delivery arrived; such rounds still count in the medians and are listed so that they can be discounted.',
    "- The ws generator reads the send time out of each frame without parsing the JSON (same code for every server); the Socket.IO generator goes through `socket.io-client` with `transports: ['websocket']`.",
    `- Idle connections: heap and RSS of the server after two forced GCs, before and after opening the connections, divided by the connections held; the connections belong to ${IDLE_USERS} users (each user's first connection is announced to every Socket.IO socket, so ten thousand distinct users would turn the chat run into 50 million \`userStatus\` packets).`,
    '',
    ...(notes ? [notes, ''] : []),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
