// The `fanout` group: one publisher and N members of one room, our gateways against bare servers (and --baseline).
import type { LoadResult, LoadSpec } from '../loadgen';
import {
  interleavedRounds,
  measureWindow,
  medianRatio,
  ratioSummary,
  ServerProcess,
  startGenerator,
  type RatioSummary,
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
  /** Warm-up before the window; a capacity ramp shortens it once its server is warm. @default fanoutWarmupSec */
  warmupSec?: number;
  /** Members are lean clients (LoadSpec.lean): the capacity ramps. @default false */
  lean?: boolean;
}

/** `ours` served by the tree of another commit (`--baseline`), in the same rounds; ratios current / that. */
export interface RefComparison {
  ref: string;
  commit: string;
  deliveriesRatio: number;
  cpuPerDeliveryRatio: number;
  p99Ratio: number;
}

/**
 * The A/A control: the baseline server against itself, a second process of it run first in every
 * round; ratios baseline / control. How far they stray from 1 is the machine's noise (bench/verdict.ts).
 */
export interface ControlComparison {
  deliveries: RatioSummary;
  cpuPerDelivery: RatioSummary;
  p99: RatioSummary;
}

export interface Comparison {
  scenario: string;
  ours: string;
  baseline: string;
  subscribers: number;
  /** Publisher messages per second. */
  rate: number;
  rounds: Array<{ ours: FanoutRound; baseline: FanoutRound; atRef?: FanoutRound; control?: FanoutRound }>;
  deliveriesRatio: number;
  cpuPerDeliveryRatio: number;
  p50Ratio: number;
  p99Ratio: number;
  saturatedRounds: number;
  /** Rounds that could not run (the error), left out of the medians. */
  failures: string[];
  atRef?: RefComparison;
  /** Absent unless the scenario runs the control (and from results files that predate it). */
  control?: ControlComparison;
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
    warmupSec: plan.warmupSec ?? fanoutWarmupSec(smoke),
    durationSec: plan.seconds,
    tickMs: plan.tickMs,
    ref: target.ref,
    lean: plan.lean,
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

type Pair = Comparison['rounds'][number];

/** The control's ratios (baseline / control) over the rounds that ran it. */
function controlComparison(pairs: Pair[]): ControlComparison {
  const withControl = pairs.filter((p): p is Pair & { control: FanoutRound } => p.control !== undefined);
  return {
    deliveries: ratioSummary(
      withControl,
      (p) => p.baseline.load.deliveriesPerSec / p.control.load.deliveriesPerSec,
    ),
    cpuPerDelivery: ratioSummary(
      withControl,
      (p) => p.baseline.serverCpuMicrosPerDelivery / p.control.serverCpuMicrosPerDelivery,
    ),
    p99: ratioSummary(withControl, (p) => p.baseline.load.p99Ms / Math.max(p.control.load.p99Ms, 0.001)),
  };
}

export interface CompareOptions {
  /** Runs the A/A control: a second baseline process first in every round (see ControlComparison). */
  control?: boolean;
}

/**
 * `ours` against `baseline` in interleaved rounds (baseline, ours, …); with `--baseline <ref>` and a
 * target of ours, the same target from that commit's tree runs third in every round. With the
 * control, the round is control, baseline, ours, …: the control is as far from the baseline as the
 * baseline is from ours.
 */
export async function compareFanout(
  scenario: string,
  ours: string,
  baseline: string,
  plan: FanoutPlan,
  rounds: number,
  context: ScenarioContext,
  options: CompareOptions = {},
): Promise<Comparison> {
  const tree = isOurs(ours) ? context.atRef : null;
  type Side = 'control' | 'baseline' | 'ours' | 'atRef';
  const sides: Array<[Side, () => Promise<FanoutRound>]> = [
    ['baseline', () => fanoutRound(baseline, plan, context.smoke)],
    ['ours', () => fanoutRound(ours, plan, context.smoke)],
  ];
  if (options.control) sides.unshift(['control', () => fanoutRound(baseline, plan, context.smoke)]);
  if (tree) sides.push(['atRef', () => fanoutRound(ours, plan, context.smoke, tree)]);
  const measured = await interleavedRounds(
    rounds,
    sides,
    (round, { ours: o, baseline: b, atRef: r, control: c }) =>
      console.error(
        `[bench] ${scenario} round ${round + 1}: ${summary(ours, o)} vs ${summary(baseline, b)}${r ? ` vs ${summary(r.target, r)}` : ''}${c ? ` (A/A control ${summary(baseline, c)})` : ''}`,
      ),
    (round, error) => console.error(`[bench] ${scenario} round ${round + 1} failed:`, error),
  );
  const pairs: Comparison['rounds'] = measured.rounds.map((r) => ({
    ours: r.ours,
    baseline: r.baseline,
    ...(tree ? { atRef: r.atRef } : {}),
    ...(options.control ? { control: r.control } : {}),
  }));
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
  if (options.control) comparison.control = controlComparison(pairs);
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

/** [scenario, ours, baseline, members, publish msg/s, options]. */
type FanoutScenario = [string, string, string, number, number, CompareOptions?];

export function fanoutScenarios(smoke: boolean): FanoutScenario[] {
  return smoke
    ? [
        ['rooms, 5 members', 'rooms', 'bareWs', 5, 20, { control: true }],
        ['uWS reference, 5 members', 'uws', 'bareWs', 5, 20],
        ['chat, 5 members', 'chat', 'bareIo', 5, 20],
      ]
    : [
        // The A/A control beside the CPU-per-delivery target: a third process per round (about 2 min).
        ['rooms, 100 members', 'rooms', 'bareWs', 100, 200, { control: true }],
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
 * The fan-out group: every scenario, or only those named in `scenarios` (then the others are kept
 * from `previous`, the last results), in the order of the list.
 */
export async function runFanout(
  context: ScenarioContext,
  scenarios: readonly string[] | undefined,
  previous: Comparison[] | undefined,
): Promise<Comparison[]> {
  const plans = fanoutScenarios(context.smoke);
  const unknown = (scenarios ?? []).filter((name) => !plans.some(([known]) => known === name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown fan-out scenario: ${unknown.join('; ')} (known: ${plans.map(([name]) => name).join('; ')})`,
    );
  }
  const selected = scenarios === undefined ? plans : plans.filter(([name]) => scenarios.includes(name));
  const kept = scenarios === undefined ? [] : (previous ?? []).filter((c) => !scenarios.includes(c.scenario));
  const measured: Comparison[] = [];
  const seconds = windowSeconds(context.smoke);
  for (const [name, ours, baseline, subscribers, rate, options] of selected) {
    measured.push(
      await compareFanout(
        name,
        ours,
        baseline,
        { subscribers, rate, seconds },
        comparisonRounds(context),
        context,
        options,
      ),
    );
  }
  const order = (c: Comparison): number => plans.findIndex(([name]) => name === c.scenario);
  return [...kept, ...measured].sort((a, b) => order(a) - order(b));
}
