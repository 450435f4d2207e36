// The `scaleout` group: the raw-ws room fan-out of "rooms, 100 members" (/ws/chat, every message
// stored) on one node without Redis, and on two nodes relaying through one redis-server and sharing
// one SQLite file, in interleaved rounds. CPU per delivery counts every server-side process.
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { LoadResult, LoadSpec } from '../loadgen';
import { RedisProcess } from '../redis-server';
import {
  cpuBetween,
  interleavedRounds,
  measureWindowWith,
  medianRatio,
  ServerProcess,
  type CpuSample,
} from '../runner';
import { TARGETS, tokens, urlFor } from '../targets';
import { comparisonRounds, fanoutWarmupSec, startLoad, windowSeconds, type ScenarioContext } from './fanout';

export const DEPLOYMENTS = ['oneNode', 'twoNodes'] as const;
export type Deployment = (typeof DEPLOYMENTS)[number];

/** One server-side process of a deployment over the measured window, per delivery. */
export interface ProcessCpu {
  /** 'node', 'node A' (the publisher's), 'node B', 'redis-server'. */
  name: string;
  cpuMicrosPerDelivery: number;
  userMicrosPerDelivery: number;
  systemMicrosPerDelivery: number;
}

export interface ScaleoutRound {
  deployment: Deployment;
  load: LoadResult;
  /** User + system CPU of every server-side process (the nodes, and redis-server), summed, per delivery. */
  cpuMicrosPerDelivery: number;
  processes: ProcessCpu[];
  /** The load generator's CPU per delivery over the same window. */
  generatorCpuMicrosPerDelivery: number;
  /** Two nodes: the commands redis-server ran in the measured window, per published message. */
  redisCallsPerMessage?: Record<string, number>;
}

export interface ScaleoutComparison {
  scenario: string;
  subscribers: number;
  /** Publisher messages per second. */
  rate: number;
  rounds: Array<Record<Deployment, ScaleoutRound>>;
  /** Medians of per-round ratios, two nodes / one node. */
  deliveriesRatio: number;
  cpuPerDeliveryRatio: number;
  p99Ratio: number;
  saturatedRounds: number;
  /** Rounds that could not run (the error), left out of the medians. */
  failures: string[];
}

interface Plan {
  subscribers: number;
  rate: number;
  seconds: number;
}

/** The load of the rooms fan-out scenario; with `memberUrls`, the members alternate between nodes. */
function roomsLoad(plan: Plan, smoke: boolean, url: string, memberUrls?: string[]): LoadSpec {
  return {
    transport: 'ws',
    url,
    memberUrls,
    tokens: tokens(plan.subscribers + 1),
    subscribers: plan.subscribers,
    rate: plan.rate,
    bytes: 1024,
    warmupSec: fanoutWarmupSec(smoke),
    durationSec: plan.seconds,
  };
}

function perDelivery(name: string, cpu: CpuSample, deliveries: number): ProcessCpu {
  return {
    name,
    cpuMicrosPerDelivery: cpu.cpuMicros / deliveries,
    userMicrosPerDelivery: cpu.cpuUserMicros / deliveries,
    systemMicrosPerDelivery: cpu.cpuSystemMicros / deliveries,
  };
}

function roundOf(
  deployment: Deployment,
  load: LoadResult,
  processes: Array<[string, CpuSample]>,
  redisCallsPerMessage?: Record<string, number>,
): ScaleoutRound {
  const deliveries = Math.max(load.deliveries, 1);
  const perProcess = processes.map(([name, cpu]) => perDelivery(name, cpu, deliveries));
  return {
    deployment,
    load,
    cpuMicrosPerDelivery: perProcess.reduce((sum, p) => sum + p.cpuMicrosPerDelivery, 0),
    processes: perProcess,
    generatorCpuMicrosPerDelivery: load.loadgenCpuMicros / deliveries,
    ...(redisCallsPerMessage ? { redisCallsPerMessage } : {}),
  };
}

/** Stops what a round started, last started first, whatever failed. */
async function unwind(stops: Array<() => Promise<void>>): Promise<void> {
  for (const stop of stops.reverse()) await stop();
}

/** One library server process, no Redis: the rooms fan-out scenario as it is. */
async function oneNodeRound(plan: Plan, smoke: boolean): Promise<ScaleoutRound> {
  const node = await ServerProcess.start('sample');
  try {
    const url = urlFor(TARGETS.rooms!, node.port);
    const { load, start, end } = await measureWindowWith(
      () => node.usage(false),
      startLoad(roomsLoad(plan, smoke, url)),
    );
    return roundOf('oneNode', load, [['node', cpuBetween(start, end)]]);
  } finally {
    await node.stop();
  }
}

interface TwoNodesSample {
  cpu: CpuSample[];
  calls: Record<string, number>;
}

/**
 * A fresh redis-server and a fresh shared SQLite folder, node A then node B (one after the other:
 * both run the migrations of the shared file at boot); the publisher and half the members on A.
 */
async function twoNodesRound(plan: Plan, smoke: boolean): Promise<ScaleoutRound> {
  const stops: Array<() => Promise<void>> = [];
  try {
    const redis = await RedisProcess.start();
    stops.push(() => redis.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'rt-bench-scaleout-'));
    stops.push(() => {
      rmSync(dataDir, { recursive: true, force: true });
      return Promise.resolve();
    });
    const env = { BENCH_REDIS_URL: redis.url, BENCH_DATA_DIR: dataDir };
    const nodeA = await ServerProcess.start('sample', undefined, env);
    stops.push(() => nodeA.stop());
    const nodeB = await ServerProcess.start('sample', undefined, env);
    stops.push(() => nodeB.stop());
    const urlA = urlFor(TARGETS.rooms!, nodeA.port);
    const urlB = urlFor(TARGETS.rooms!, nodeB.port);
    const read = async (): Promise<TwoNodesSample> => {
      const cpu = await Promise.all([nodeA.usage(false), nodeB.usage(false), Promise.resolve(redis.cpu())]);
      // After the CPU: the INFO at the window's start is counted in it, the one at its end is not.
      return { cpu, calls: await redis.commandCalls() };
    };
    const { load, start, end } = await measureWindowWith(
      read,
      startLoad(roomsLoad(plan, smoke, urlA, [urlA, urlB])),
    );
    const between = (i: number): CpuSample => cpuBetween(start.cpu[i]!, end.cpu[i]!);
    const published = Math.max(load.published, 1);
    const calls: Record<string, number> = {};
    for (const [command, count] of Object.entries(end.calls)) {
      // The orchestrator's own INFO is not the deployment's.
      if (command === 'info') continue;
      const inWindow = count - (start.calls[command] ?? 0);
      if (inWindow > 0) calls[command] = inWindow / published;
    }
    return roundOf(
      'twoNodes',
      load,
      [
        ['node A', between(0)],
        ['node B', between(1)],
        ['redis-server', between(2)],
      ],
      calls,
    );
  } finally {
    await unwind(stops);
  }
}

function saturated(round: ScaleoutRound): boolean {
  return round.load.loadgenCpuPercent > 90 || round.load.deliveries < round.load.expected;
}

const summary = (r: ScaleoutRound): string =>
  `${r.load.deliveriesPerSec.toFixed(0)}/s p99 ${r.load.p99Ms.toFixed(2)} ms ${r.cpuMicrosPerDelivery.toFixed(2)} µs/del (${r.processes.map((p) => `${p.name} ${p.cpuMicrosPerDelivery.toFixed(2)}`).join(', ')})`;

/** The scale-out group: 100 members at 200 messages/s (4 at 20 in smoke runs), both deployments per round. */
export async function runScaleout(context: ScenarioContext): Promise<ScaleoutComparison> {
  const { smoke } = context;
  // An even number of members: half on each node.
  const plan: Plan = smoke
    ? { subscribers: 4, rate: 20, seconds: windowSeconds(true) }
    : { subscribers: 100, rate: 200, seconds: windowSeconds(false) };
  const scenario = `rooms, ${plan.subscribers} members, two nodes through Redis against one node`;
  const measured = await interleavedRounds(
    comparisonRounds(context),
    [
      ['oneNode', () => oneNodeRound(plan, smoke)],
      ['twoNodes', () => twoNodesRound(plan, smoke)],
    ] as const,
    (round, { oneNode, twoNodes }) =>
      console.error(
        `[bench] scale-out round ${round + 1}: two nodes ${summary(twoNodes)} vs one node ${summary(oneNode)}`,
      ),
    (round, error) => console.error(`[bench] scale-out round ${round + 1} failed:`, error),
  );
  const rounds = measured.rounds;
  return {
    scenario,
    subscribers: plan.subscribers,
    rate: plan.rate,
    rounds,
    deliveriesRatio: medianRatio(
      rounds,
      (r) => r.twoNodes.load.deliveriesPerSec / r.oneNode.load.deliveriesPerSec,
    ),
    cpuPerDeliveryRatio: medianRatio(
      rounds,
      (r) => r.twoNodes.cpuMicrosPerDelivery / r.oneNode.cpuMicrosPerDelivery,
    ),
    p99Ratio: medianRatio(rounds, (r) => r.twoNodes.load.p99Ms / Math.max(r.oneNode.load.p99Ms, 0.001)),
    saturatedRounds: rounds.filter((r) => saturated(r.oneNode) || saturated(r.twoNodes)).length,
    failures: measured.failures,
  };
}
