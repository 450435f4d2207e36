// The `fanout` group: one publisher and N members of one room, our gateways against bare servers (and --baseline).
import type { LoadResult, LoadSpec } from '../loadgen';
import {
  interleavedRounds,
  measureWindow,
  medianRatio,
  ServerProcess,
  startGenerator,
  type ServerTree,
} from '../runner';
import { isOurs, TARGETS, tokens, urlFor } from '../targets';

export interface FanoutRound {
  target: string;
  load: LoadResult;
  serverCpuMicrosPerDelivery: number;
  /** The user and system parts of the server's CPU per delivery. */
  serverUserMicrosPerDelivery: number;
  serverSystemMicrosPerDelivery: number;
  /** The load generator's CPU per delivery over the same window. */
  generatorCpuMicrosPerDelivery: number;
}

export interface FanoutPlan {
  subscribers: number;
  /** Messages per second from the publisher. */
  rate: number;
  seconds: number;
  tickMs?: number;
}

/** `ours` served by the tree of another commit (`--baseline`), in the same rounds; ratios current / that. */
export interface RefComparison {
  ref: string;
  commit: string;
  deliveriesRatio: number;
  cpuPerDeliveryRatio: number;
  p99Ratio: number;
}

export interface Comparison {
  scenario: string;
  ours: string;
  baseline: string;
  subscribers: number;
  /** Publisher messages per second. */
  rate: number;
  rounds: Array<{ ours: FanoutRound; baseline: FanoutRound; atRef?: FanoutRound }>;
  deliveriesRatio: number;
  cpuPerDeliveryRatio: number;
  p50Ratio: number;
  p99Ratio: number;
  saturatedRounds: number;
  /** Rounds that could not run (the error), left out of the medians. */
  failures: string[];
  atRef?: RefComparison;
}

/** What a scenario needs from the run: smoke or full, `--rounds`, and the `--baseline` tree if any. */
export interface ScenarioContext {
  smoke: boolean;
  /** `--rounds=N`; undefined: fanoutRounds(smoke). */
  rounds?: number;
  atRef: (ServerTree & { ref: string; commit: string }) | null;
}

/**
 * Warm-up of every fan-out run. With 2 s, the message path of the gateway (run 200 times a second,
 * where the delivery path runs 20,000 times) was still being compiled by TurboFan in the measured
 * window: 35 functions in 5 s, on V8's helper threads.
 */
export function fanoutWarmupSec(smoke: boolean): number {
  return smoke ? 0.5 : 8;
}

export const startLoad = (spec: LoadSpec) => startGenerator<LoadSpec, LoadResult>('loadgen', spec);

/** One load run against a running server; CPU per delivery from the server's own cpuUsage. */
export async function loadOn(
  server: ServerProcess,
  targetKey: string,
  plan: FanoutPlan,
  smoke: boolean,
  label = targetKey,
): Promise<FanoutRound> {
  const target = TARGETS[targetKey]!;
  const spec: LoadSpec = {
    transport: target.transport,
    url: urlFor(target, server.port),
    tokens: target.auth ? tokens(plan.subscribers + 1) : [],
    subscribers: plan.subscribers,
    rate: plan.rate,
    bytes: 1024,
    warmupSec: fanoutWarmupSec(smoke),
    durationSec: plan.seconds,
    tickMs: plan.tickMs,
    ref: target.ref,
  };
  const { load, cpuMicros, cpuUserMicros, cpuSystemMicros } = await measureWindow(server, startLoad(spec));
  const deliveries = Math.max(load.deliveries, 1);
  return {
    target: label,
    load,
    serverCpuMicrosPerDelivery: cpuMicros / deliveries,
    serverUserMicrosPerDelivery: cpuUserMicros / deliveries,
    serverSystemMicrosPerDelivery: cpuSystemMicros / deliveries,
    generatorCpuMicrosPerDelivery: load.loadgenCpuMicros / deliveries,
  };
}

/** A fresh server process for one round (from `tree` when given), one load run, stopped. */
async function fanoutRound(
  targetKey: string,
  plan: FanoutPlan,
  smoke: boolean,
  tree?: ScenarioContext['atRef'],
): Promise<FanoutRound> {
  const server = await ServerProcess.start(TARGETS[targetKey]!.server, tree ?? undefined);
  try {
    return await loadOn(server, targetKey, plan, smoke, tree ? `${targetKey}@${tree.ref}` : targetKey);
  } finally {
    await server.stop();
  }
}

function saturated(round: FanoutRound): boolean {
  return round.load.loadgenCpuPercent > 90 || round.load.deliveries < round.load.expected;
}

const summary = (name: string, r: FanoutRound): string =>
  `${name} ${r.load.deliveriesPerSec.toFixed(0)}/s p99 ${r.load.p99Ms.toFixed(2)} ms ${r.serverCpuMicrosPerDelivery.toFixed(2)} µs/del`;

/**
 * `ours` against `baseline` in interleaved rounds (baseline, ours, …); with `--baseline <ref>` and a
 * target of ours, the same target from that commit's tree runs third in every round.
 */
export async function compareFanout(
  scenario: string,
  ours: string,
  baseline: string,
  plan: FanoutPlan,
  rounds: number,
  context: ScenarioContext,
): Promise<Comparison> {
  const tree = isOurs(ours) ? context.atRef : null;
  type Side = 'baseline' | 'ours' | 'atRef';
  const sides: Array<[Side, () => Promise<FanoutRound>]> = [
    ['baseline', () => fanoutRound(baseline, plan, context.smoke)],
    ['ours', () => fanoutRound(ours, plan, context.smoke)],
  ];
  if (tree) sides.push(['atRef', () => fanoutRound(ours, plan, context.smoke, tree)]);
  const measured = await interleavedRounds(
    rounds,
    sides,
    (round, { ours: o, baseline: b, atRef: r }) =>
      console.error(
        `[bench] ${scenario} round ${round + 1}: ${summary(ours, o)} vs ${summary(baseline, b)}${r ? ` vs ${summary(r.target, r)}` : ''}`,
      ),
    (round, error) => console.error(`[bench] ${scenario} round ${round + 1} failed:`, error),
  );
  const pairs: Comparison['rounds'] = measured.rounds.map((r) =>
    tree ? { ours: r.ours, baseline: r.baseline, atRef: r.atRef } : { ours: r.ours, baseline: r.baseline },
  );
  const comparison: Comparison = {
    scenario,
    ours,
    baseline,
    subscribers: plan.subscribers,
    rate: plan.rate,
    rounds: pairs,
    deliveriesRatio: medianRatio(
      pairs,
      (p) => p.ours.load.deliveriesPerSec / p.baseline.load.deliveriesPerSec,
    ),
    cpuPerDeliveryRatio: medianRatio(
      pairs,
      (p) => p.ours.serverCpuMicrosPerDelivery / p.baseline.serverCpuMicrosPerDelivery,
    ),
    p50Ratio: medianRatio(pairs, (p) => p.ours.load.p50Ms / Math.max(p.baseline.load.p50Ms, 0.001)),
    p99Ratio: medianRatio(pairs, (p) => p.ours.load.p99Ms / Math.max(p.baseline.load.p99Ms, 0.001)),
    saturatedRounds: pairs.filter((p) => saturated(p.ours) || saturated(p.baseline)).length,
    failures: measured.failures,
  };
  if (tree) {
    const withRef = pairs.filter((p): p is typeof p & { atRef: FanoutRound } => p.atRef !== undefined);
    comparison.atRef = {
      ref: tree.ref,
      commit: tree.commit,
      deliveriesRatio: medianRatio(
        withRef,
        (p) => p.ours.load.deliveriesPerSec / p.atRef.load.deliveriesPerSec,
      ),
      cpuPerDeliveryRatio: medianRatio(
        withRef,
        (p) => p.ours.serverCpuMicrosPerDelivery / p.atRef.serverCpuMicrosPerDelivery,
      ),
      p99Ratio: medianRatio(withRef, (p) => p.ours.load.p99Ms / Math.max(p.atRef.load.p99Ms, 0.001)),
    };
  }
  return comparison;
}

/** [scenario, ours, baseline, members, publish msg/s]. */
type FanoutScenario = [string, string, string, number, number];

export function fanoutScenarios(smoke: boolean): FanoutScenario[] {
  return smoke
    ? [
        ['rooms, 5 members', 'rooms', 'bareWs', 5, 20],
        ['uWS reference, 5 members', 'uws', 'bareWs', 5, 20],
        ['chat, 5 members', 'chat', 'bareIo', 5, 20],
      ]
    : [
        ['rooms, 100 members', 'rooms', 'bareWs', 100, 200],
        ['rooms against bare ws framed once, 100 members', 'rooms', 'bareWsFramed', 100, 200],
        ['uWS reference, 100 members', 'uws', 'bareWs', 100, 200],
        // The cost of request ids: the sender's copy written apart, one frame more per message.
        ['rooms with request ids against without, 100 members', 'roomsRef', 'rooms', 100, 200],
        ['rooms, 1000 members', 'rooms', 'bareWs', 1000, 20],
        ['chat, 100 members', 'chat', 'bareIo', 100, 200],
        ['chat, 1000 members', 'chat', 'bareIo', 1000, 20],
      ];
}

/**
 * Fan-out rounds: per-round CPU ratios at 100 members spread from 1.3 to 1.8 on a 2-core machine
 * within one run, and 5-round medians from 1.15 to 1.48 between runs, so the fan-out and half-load
 * medians are taken over 7 rounds.
 */
export function fanoutRounds(smoke: boolean): number {
  return smoke ? 1 : 7;
}

/** Interleaved rounds of a comparison in this run: `--rounds` when given. */
export function comparisonRounds(context: ScenarioContext): number {
  return context.rounds ?? fanoutRounds(context.smoke);
}

/** Measured window of every fan-out and log stream round, in seconds. */
export function windowSeconds(smoke: boolean): number {
  return smoke ? 1 : 5;
}

/**
 * The fan-out group: every scenario, or only `scenario` (then the others are kept from `previous`,
 * the last results), in the order of the list.
 */
export async function runFanout(
  context: ScenarioContext,
  scenario: string | undefined,
  previous: Comparison[] | undefined,
): Promise<Comparison[]> {
  const plans = fanoutScenarios(context.smoke);
  const selected = scenario === undefined ? plans : plans.filter(([name]) => name === scenario);
  if (selected.length === 0) {
    throw new Error(
      `unknown fan-out scenario: ${scenario} (known: ${plans.map(([name]) => name).join('; ')})`,
    );
  }
  const kept = scenario === undefined ? [] : (previous ?? []).filter((c) => c.scenario !== scenario);
  const measured: Comparison[] = [];
  const seconds = windowSeconds(context.smoke);
  for (const [name, ours, baseline, subscribers, rate] of selected) {
    measured.push(
      await compareFanout(
        name,
        ours,
        baseline,
        { subscribers, rate, seconds },
        comparisonRounds(context),
        context,
      ),
    );
  }
  const order = (c: Comparison): number => plans.findIndex(([name]) => name === c.scenario);
  return [...kept, ...measured].sort((a, b) => order(a) - order(b));
}
