// npm run bench: our gateways against bare `ws`, bare Socket.IO and uWebSockets.js, side by side in
// one run on loopback. Server and load generator are separate processes pinned to different cores
// where `taskset` exists; rounds are interleaved (A B A B) and the median of per-round ratios is
// reported. Writes BENCHMARKS.md and bench/results.json. `--smoke` runs a tiny version (npm test).
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { writeFileSync } from 'fs';
import { cpus, totalmem } from 'os';
import { join } from 'path';
import * as jwt from 'jsonwebtoken';
import type { ServerMessage, ServerRequest, ServerUsage } from './bench-protocol';
import type { LoadResult, LoadSpec } from './loadgen';
import { runHistoryBenchmark, type HistoryResult } from './history';

const ROOT = join(__dirname, '..');
const SMOKE = process.argv.includes('--smoke');
const OUT_JSON = process.env.BENCH_OUT_JSON ?? join(__dirname, SMOKE ? 'results.smoke.json' : 'results.json');
const OUT_MD = process.env.BENCH_OUT_MD ?? (SMOKE ? null : join(ROOT, 'BENCHMARKS.md'));
const BENCH_SECRET = 'benchmark-secret-0123456789abcdef';
const HAS_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

type ServerName = 'bare-ws' | 'bare-socketio' | 'uws' | 'sample';
interface Target {
  label: string;
  server: ServerName;
  transport: 'ws' | 'socket.io';
  auth: boolean;
}
const TARGETS: Record<string, Target> = {
  bareWs: { label: 'bare ws', server: 'bare-ws', transport: 'ws', auth: false },
  rooms: { label: 'rooms gateway (/ws/chat)', server: 'sample', transport: 'ws', auth: true },
  uws: { label: 'uWebSockets.js publish', server: 'uws', transport: 'ws', auth: false },
  bareIo: { label: 'bare Socket.IO', server: 'bare-socketio', transport: 'socket.io', auth: false },
  chat: { label: 'chat gateway (Socket.IO)', server: 'sample', transport: 'socket.io', auth: true },
};

const tsNode = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'];
const env = { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') };

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
      ...tsNode,
      join(__dirname, 'servers', `${name}.ts`),
    ]);
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

function tokens(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    jwt.sign({ sub: String(100_000 + i), username: `bench${i}` }, BENCH_SECRET, {
      algorithm: 'HS256',
      expiresIn: 3600,
    }),
  );
}

function urlFor(target: Target, port: number): string {
  return target.transport === 'ws' ? `ws://127.0.0.1:${port}/ws/chat` : `http://127.0.0.1:${port}`;
}

function startLoad(spec: LoadSpec): { child: ChildProcess; result: Promise<LoadResult> } {
  const [command, args] = pinned(1, [
    '--max-old-space-size=4096',
    ...tsNode,
    join(__dirname, 'loadgen.ts'),
    JSON.stringify(spec),
  ]);
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim()) as LoadResult)
        : reject(new Error(`loadgen exited with ${code}`)),
    );
  });
  return { child, result };
}

interface FanoutRound {
  target: string;
  load: LoadResult;
  serverCpuMicrosPerDelivery: number;
}

async function fanoutRound(
  targetKey: string,
  subscribers: number,
  rate: number,
  seconds: number,
): Promise<FanoutRound> {
  const target = TARGETS[targetKey]!;
  const server = await ServerProcess.start(target.server);
  try {
    const spec: LoadSpec = {
      transport: target.transport,
      url: urlFor(target, server.port),
      tokens: target.auth ? tokens(subscribers + 1) : [],
      subscribers,
      rate,
      bytes: 1024,
      warmupSec: SMOKE ? 0.5 : 2,
      durationSec: seconds,
    };
    const before = await server.usage(false);
    const { result } = startLoad(spec);
    const load = await result;
    const after = await server.usage(false);
    return {
      target: targetKey,
      load,
      serverCpuMicrosPerDelivery: (after.cpuMicros - before.cpuMicros) / Math.max(load.deliveries, 1),
    };
  } finally {
    await server.stop();
  }
}

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
      tokens: target.auth ? tokens(connections) : [],
      subscribers: connections,
      rate: 0,
      bytes: 0,
      warmupSec: 0,
      durationSec: 0,
    };
    const { child, result } = startLoad(spec);
    await new Promise<void>((resolve) => child.on('message', () => resolve()));
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
  rounds: Array<{ ours: FanoutRound; baseline: FanoutRound }>;
  deliveriesRatio: number;
  cpuPerDeliveryRatio: number;
  p99Ratio: number;
  saturatedRounds: number;
}

async function compareFanout(
  scenario: string,
  ours: string,
  baseline: string,
  subscribers: number,
  rate: number,
  rounds: number,
  seconds: number,
): Promise<Comparison> {
  const pairs: Comparison['rounds'] = [];
  for (let round = 0; round < rounds; round += 1) {
    // Interleaved: A B, A B, ... so that drift on the machine hits both sides alike.
    const b = await fanoutRound(baseline, subscribers, rate, seconds);
    const o = await fanoutRound(ours, subscribers, rate, seconds);
    pairs.push({ ours: o, baseline: b });
    console.error(
      `[bench] ${scenario} round ${round + 1}: ${ours} ${o.load.deliveriesPerSec.toFixed(0)}/s vs ${baseline} ${b.load.deliveriesPerSec.toFixed(0)}/s`,
    );
  }
  return {
    scenario,
    ours,
    baseline,
    rounds: pairs,
    deliveriesRatio: median(
      pairs.map((p) => p.ours.load.deliveriesPerSec / p.baseline.load.deliveriesPerSec),
    ),
    cpuPerDeliveryRatio: median(
      pairs.map((p) => p.ours.serverCpuMicrosPerDelivery / p.baseline.serverCpuMicrosPerDelivery),
    ),
    p99Ratio: median(pairs.map((p) => p.ours.load.p99Ms / Math.max(p.baseline.load.p99Ms, 0.001))),
    saturatedRounds: pairs.filter(
      (p) => p.ours.load.loadgenCpuPercent > 90 || p.baseline.load.loadgenCpuPercent > 90,
    ).length,
  };
}

export interface BenchReport {
  date: string;
  command: string;
  machine: { cpus: number; model: string; memoryGiB: number; node: string; pinned: boolean };
  smoke: boolean;
  fanout: Comparison[];
  idle: IdleResult[];
  history: HistoryResult;
}

async function main(): Promise<void> {
  const rounds = SMOKE ? 1 : 3;
  const seconds = SMOKE ? 1 : 5;
  const fanout: Comparison[] = [];
  const plans: Array<[string, string, string, number, number]> = SMOKE
    ? [
        ['rooms, 5 members', 'rooms', 'bareWs', 5, 20],
        ['uWS reference, 5 members', 'uws', 'bareWs', 5, 20],
        ['chat, 5 members', 'chat', 'bareIo', 5, 20],
      ]
    : [
        ['rooms, 100 members', 'rooms', 'bareWs', 100, 200],
        ['uWS reference, 100 members', 'uws', 'bareWs', 100, 200],
        ['rooms, 1000 members', 'rooms', 'bareWs', 1000, 20],
        ['chat, 100 members', 'chat', 'bareIo', 100, 200],
        ['chat, 1000 members', 'chat', 'bareIo', 1000, 20],
      ];
  for (const [scenario, ours, baseline, subscribers, rate] of plans) {
    fanout.push(await compareFanout(scenario, ours, baseline, subscribers, rate, rounds, seconds));
  }
  const idleCount = SMOKE ? 50 : 10_000;
  const idle: IdleResult[] = [];
  for (const target of ['bareWs', 'rooms', 'bareIo', 'chat']) idle.push(await idleRound(target, idleCount));
  const history = await runHistoryBenchmark(SMOKE ? 5_000 : 1_000_000, SMOKE ? 50 : 1000);
  const report: BenchReport = {
    date: new Date().toISOString(),
    command: `npm run bench${SMOKE ? ' -- --smoke' : ''}`,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      pinned: HAS_TASKSET,
    },
    smoke: SMOKE,
    fanout,
    idle,
    history,
  };
  writeFileSync(OUT_JSON, JSON.stringify(report, null, 2));
  if (OUT_MD) writeFileSync(OUT_MD, renderMarkdown(report));
  console.error(`[bench] wrote ${OUT_JSON}${OUT_MD ? ` and ${OUT_MD}` : ''}`);
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

export function renderMarkdown(report: BenchReport): string {
  const idleOf = (t: string) => report.idle.find((i) => i.target === t);
  const rooms100 = report.fanout.find((c) => c.scenario.startsWith('rooms, 100'));
  const chat100 = report.fanout.find((c) => c.scenario.startsWith('chat, 100'));
  const lines = [
    '# Benchmarks',
    '',
    `Produced by \`${report.command}\` on ${report.date} — ${report.machine.cpus} cores (${report.machine.model}), ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; server and load generator ${report.machine.pinned ? 'pinned to cores 0 and 1' : 'not pinned'}. Loopback only. Ratios are medians of per-round ratios (interleaved rounds); absolute figures drift between runs.`,
    '',
    '## Room fan-out (1 KB messages, fixed publish rate)',
    '',
    '| scenario | ours vs baseline | deliveries/s ratio | server CPU µs/delivery ratio | p99 ratio | ours p50 / p99 / max ms | baseline p50 / p99 / max ms | saturated rounds |',
    '|---|---|---|---|---|---|---|---|',
    ...report.fanout.map((c) => {
      const last = c.rounds[c.rounds.length - 1]!;
      return `| ${c.scenario} | ${TARGETS[c.ours]!.label} vs ${TARGETS[c.baseline]!.label} | ${fmt(c.deliveriesRatio)} | ${fmt(c.cpuPerDeliveryRatio)} | ${fmt(c.p99Ratio)} | ${fmt(last.ours.load.p50Ms)} / ${fmt(last.ours.load.p99Ms)} / ${fmt(last.ours.load.maxMs)} | ${fmt(last.baseline.load.p50Ms)} / ${fmt(last.baseline.load.p99Ms)} / ${fmt(last.baseline.load.maxMs)} | ${c.saturatedRounds} |`;
    }),
    '',
    '## Idle connections (after GC)',
    '',
    '| server | connections | heap / connection | RSS / connection |',
    '|---|---|---|---|',
    ...report.idle.map(
      (i) =>
        `| ${TARGETS[i.target]!.label} | ${i.connections} | ${fmt(i.heapPerConnection / 1024, 1)} KB | ${fmt(i.rssPerConnection / 1024, 1)} KB |`,
    ),
    '',
    `## History query`,
    '',
    `\`room_history\` limit ${report.history.limit} on a room of ${report.history.messages.toLocaleString('en')} stored messages (SQLite), ${report.history.queries} queries at random offsets: p50 ${fmt(report.history.p50Ms, 3)} ms, p99 ${fmt(report.history.p99Ms, 3)} ms, max ${fmt(report.history.maxMs, 3)} ms.`,
    '',
    '## Targets',
    '',
    '| target | figure | met |',
    '|---|---|---|',
    `| rooms fan-out ≥ 0.85 × bare ws deliveries/s | ${fmt(rooms100?.deliveriesRatio ?? NaN)} | ${(rooms100?.deliveriesRatio ?? 0) >= 0.85 ? 'yes' : 'no'} |`,
    `| rooms CPU per delivery ≤ 1.2 × bare ws | ${fmt(rooms100?.cpuPerDeliveryRatio ?? NaN)} | ${(rooms100?.cpuPerDeliveryRatio ?? Infinity) <= 1.2 ? 'yes' : 'no'} |`,
    `| chat fan-out ≥ 0.9 × bare Socket.IO | ${fmt(chat100?.deliveriesRatio ?? NaN)} | ${(chat100?.deliveriesRatio ?? 0) >= 0.9 ? 'yes' : 'no'} |`,
    `| heap per idle ws connection ≤ 6 KB | ${fmt((idleOf('rooms')?.heapPerConnection ?? NaN) / 1024, 1)} KB | ${(idleOf('rooms')?.heapPerConnection ?? Infinity) <= 6144 ? 'yes' : 'no'} |`,
    `| Socket.IO heap per connection ≤ 1.2 × bare | ${fmt((idleOf('chat')?.heapPerConnection ?? NaN) / (idleOf('bareIo')?.heapPerConnection ?? NaN))} | ${(idleOf('chat')?.heapPerConnection ?? Infinity) <= 1.2 * (idleOf('bareIo')?.heapPerConnection ?? 0) ? 'yes' : 'no'} |`,
    `| RSS per ws connection ≤ 1.3 × bare | ${fmt((idleOf('rooms')?.rssPerConnection ?? NaN) / (idleOf('bareWs')?.rssPerConnection ?? NaN))} | ${(idleOf('rooms')?.rssPerConnection ?? Infinity) <= 1.3 * (idleOf('bareWs')?.rssPerConnection ?? 0) ? 'yes' : 'no'} |`,
    `| history p99 ≤ 5 ms at 1,000,000 messages | ${fmt(report.history.p99Ms, 3)} ms | ${report.history.messages >= 1_000_000 && report.history.p99Ms <= 5 ? 'yes' : 'no'} |`,
    '',
    'Not measured yet: open-loop load at half of bare ws capacity; log stream ingestion to 100 subscribers.',
    '',
  ];
  return lines.join('\n');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
