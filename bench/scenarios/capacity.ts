// The `halfload` group: capacity ramps of the gateways against their bare servers in interleaved rounds
// (with bare ws against itself as the A/A control), then rooms against bare ws open-loop at half of
// what bare ws sustains.
import { interleavedRounds, ratioSummary, ServerProcess, type RatioSummary } from '../runner';
import { TARGETS } from '../targets';
import {
  compareFanout,
  comparisonRounds,
  fanoutWarmupSec,
  loadOn,
  windowSeconds,
  type Comparison,
  type ScenarioContext,
} from './fanout';

export interface CapacityStep {
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
  /**
   * The generator was above 90 % CPU at the highest step sustained or the lowest not sustained: the
   * figure is the generator's limit as much as the server's.
   */
  generatorBound: boolean;
  /** Bisections after the coarse steps; absent from results files that predate them. */
  refineSteps?: number;
}

/** How one ramp climbs. */
export interface RampPlan {
  subscribers: number;
  /** Publish rate of the first step, messages/s. */
  startRate: number;
  /** Coarse steps multiply the rate by this while sustained (divide while none is yet). */
  factor: number;
  /** Bound on the coarse steps. */
  maxSteps: number;
  /** Bisections between the highest rate sustained and the lowest not, once both are known. */
  refineSteps: number;
  /** Measured window of every step, in seconds. */
  seconds: number;
}

/** A ramp of the rooms gateway (or chat) against its bare server, in interleaved rounds. */
export interface CapacityRound {
  ours: Capacity;
  baseline: Capacity;
  /** The A/A control: the baseline server ramped once more, first in the round. */
  control?: Capacity;
}

export interface CapacityComparison {
  scenario: string;
  ours: string;
  baseline: string;
  subscribers: number;
  /** The ramp of every side (the first round's start rate; later rounds start at the last bare maximum). */
  plan: RampPlan;
  rounds: CapacityRound[];
  /** Per-round ratio of the sustained maxima, ours / baseline. */
  ratio: RatioSummary;
  /** Per-round ratio baseline / control: how far the baseline strays from itself. */
  control?: RatioSummary;
  /** Rounds in which either side's ramp was generator-bound: the ratio then measures the generator. */
  generatorBoundRounds: number;
  /** Rounds that could not run (the error), left out. */
  failures: string[];
}

/**
 * Warm-up of the ramp's later steps: the server is warm from the first (which has the fan-out's
 * full warm-up); only the fresh generator process needs a moment, and 8 s per step would make five
 * ramps of three rounds last half an hour.
 */
export const LATER_STEP_WARMUP_SEC = 2;

/**
 * A step is sustained when every message arrives, within half a second of the window's end, with p99
 * under 100 ms. The smoke run checks that the figures are complete, never speed: on a machine busy
 * with other work its first step may miss the latency bound, which must not leave it with no rate.
 */
async function rampStep(
  server: ServerProcess,
  targetKey: string,
  plan: RampPlan,
  rate: number,
  first: boolean,
  smoke: boolean,
): Promise<CapacityStep> {
  const { subscribers, seconds } = plan;
  const warmupSec = first ? fanoutWarmupSec(smoke) : Math.min(LATER_STEP_WARMUP_SEC, fanoutWarmupSec(smoke));
  const { load } = await loadOn(
    server,
    targetKey,
    { subscribers, rate, seconds, tickMs: 1, warmupSec, lean: true },
    smoke,
  );
  const drainSec = load.seconds - seconds;
  const sustained = smoke
    ? load.deliveries >= load.expected
    : load.deliveries >= load.expected && drainSec <= 0.5 && load.p99Ms <= 100;
  console.error(
    `[bench] capacity ${targetKey} ${rate} msg/s x ${subscribers}: ${load.deliveriesPerSec.toFixed(0)}/s p99 ${load.p99Ms.toFixed(2)} ms, generator ${load.loadgenCpuPercent.toFixed(0)} % ${sustained ? 'sustained' : 'NOT sustained'}`,
  );
  return {
    rate,
    deliveriesPerSec: load.deliveriesPerSec,
    p99Ms: load.p99Ms,
    drainSec,
    loadgenCpuPercent: load.loadgenCpuPercent,
    sustained,
  };
}

/**
 * The rates a ramp tries: coarse steps by `factor` until one rate is sustained and a higher one is
 * not (up from a sustained start, down from an unsustained one), then bisections of that bracket, so
 * that the ratio of two ramps is finer than the factor (1.4 bisected 3 times: 4 %). `sustains` runs
 * one step; the result is the highest rate sustained, undefined if none was.
 */
export async function searchCapacity(
  plan: Pick<RampPlan, 'startRate' | 'factor' | 'maxSteps' | 'refineSteps'>,
  sustains: (rate: number) => Promise<boolean>,
): Promise<number | undefined> {
  let sustained: number | undefined;
  let failed: number | undefined;
  const run = async (rate: number): Promise<void> => {
    if (await sustains(rate)) sustained = Math.max(sustained ?? 0, rate);
    else failed = Math.min(failed ?? Infinity, rate);
  };
  let rate = plan.startRate;
  for (let step = 0; step < plan.maxSteps && (sustained === undefined || failed === undefined); step += 1) {
    await run(rate);
    rate = sustained === undefined ? Math.floor(rate / plan.factor) : Math.round(rate * plan.factor);
    if (rate < 1) break;
  }
  for (let step = 0; step < plan.refineSteps && sustained !== undefined && failed !== undefined; step += 1) {
    const middle = Math.round(Math.sqrt(sustained * failed));
    if (middle <= sustained || middle >= failed) break;
    await run(middle);
  }
  return sustained;
}

/** A ramp on a fresh server process (see searchCapacity), bounded in steps. */
export async function findCapacity(targetKey: string, plan: RampPlan, smoke: boolean): Promise<Capacity> {
  const server = await ServerProcess.start(TARGETS[targetKey]!.server);
  const steps: CapacityStep[] = [];
  try {
    await searchCapacity(plan, async (rate) => {
      const step = await rampStep(server, targetKey, plan, rate, steps.length === 0, smoke);
      steps.push(step);
      return step.sustained;
    });
  } finally {
    await server.stop();
  }
  const best = steps.filter((s) => s.sustained).sort((a, b) => b.rate - a.rate)[0];
  const lowestFailed = steps.filter((s) => !s.sustained).sort((a, b) => a.rate - b.rate)[0];
  return {
    target: targetKey,
    subscribers: plan.subscribers,
    steps,
    rate: best?.rate ?? 0,
    deliveriesPerSec: best?.deliveriesPerSec ?? 0,
    generatorBound: [best, lowestFailed].some((s) => s !== undefined && s.loadgenCpuPercent > 90),
    refineSteps: plan.refineSteps,
  };
}

const rampSummary = (c: Capacity): string =>
  `${c.target} ${c.rate} msg/s in ${c.steps.length} steps${c.generatorBound ? ' (generator-bound)' : ''}`;

/**
 * `ours` against `baseline`, a ramp each per round (control, baseline, ours with the A/A control).
 * Every ramp of a round starts where the previous round's baseline ended: fewer steps to bracket
 * it, and the same rates tried on every side of the round.
 */
export async function compareCapacity(
  scenario: string,
  ours: string,
  baseline: string,
  plan: RampPlan,
  rounds: number,
  { smoke, control }: { smoke: boolean; control: boolean },
): Promise<CapacityComparison> {
  let startRate = plan.startRate;
  const ramp = (target: string) => () => findCapacity(target, { ...plan, startRate }, smoke);
  type Side = 'control' | 'baseline' | 'ours';
  const sides: Array<[Side, () => Promise<Capacity>]> = [
    ['baseline', ramp(baseline)],
    ['ours', ramp(ours)],
  ];
  if (control) sides.unshift(['control', ramp(baseline)]);
  const measured = await interleavedRounds(
    rounds,
    sides,
    (round, { ours: o, baseline: b, control: c }) => {
      if (b.rate > 0) startRate = b.rate;
      console.error(
        `[bench] ${scenario} round ${round + 1}: ${rampSummary(o)} vs ${rampSummary(b)}${c ? ` (A/A control ${rampSummary(c)})` : ''}`,
      );
    },
    (round, error) => console.error(`[bench] ${scenario} round ${round + 1} failed:`, error),
  );
  const pairs: CapacityRound[] = measured.rounds.map((r) => ({
    ours: r.ours,
    baseline: r.baseline,
    ...(control ? { control: r.control } : {}),
  }));
  const withControl = pairs.filter(
    (p): p is CapacityRound & { control: Capacity } => p.control !== undefined,
  );
  return {
    scenario,
    ours,
    baseline,
    subscribers: plan.subscribers,
    plan,
    rounds: pairs,
    ratio: ratioSummary(pairs, (p) => p.ours.rate / p.baseline.rate),
    ...(control ? { control: ratioSummary(withControl, (p) => p.baseline.rate / p.control.rate) } : {}),
    generatorBoundRounds: pairs.filter((p) => p.ours.generatorBound || p.baseline.generatorBound).length,
    failures: measured.failures,
  };
}

/**
 * From 250 msg/s bare ws needed 5 coarse steps to 960 msg/s at 100 members; Socket.IO's generator
 * costs more per delivery (about 2 × at 200 msg/s), so its ramp starts lower.
 */
function rampPlan(transport: 'ws' | 'socket.io', smoke: boolean): RampPlan {
  if (smoke) return { subscribers: 5, startRate: 20, factor: 2, maxSteps: 2, refineSteps: 1, seconds: 0.5 };
  const startRate = transport === 'ws' ? 250 : 150;
  return { subscribers: 100, startRate, factor: 1.4, maxSteps: 12, refineSteps: 3, seconds: 3 };
}

/** Ramps per comparison: `--rounds` when given; five ramps of about a minute per round otherwise. */
export function capacityRounds(context: ScenarioContext): number {
  return context.rounds ?? (context.smoke ? 1 : 3);
}

/** The ramp with the median maximum (the lower one of an even count): the half load is half of it. */
function medianRamp(ramps: Capacity[]): Capacity | undefined {
  return [...ramps].sort((a, b) => a.rate - b.rate)[Math.floor((ramps.length - 1) / 2)];
}

export interface HalfLoadGroup {
  /** The bare ws ramp the half load was taken from (the median round's). */
  capacity: Capacity;
  /** Rooms against bare ws (with the A/A control), then chat against bare Socket.IO. */
  capacityComparisons: CapacityComparison[];
  halfLoad: Comparison;
}

/** The capacity comparisons, then open loop at half of what bare ws sustained. */
export async function runHalfLoad(context: ScenarioContext): Promise<HalfLoadGroup> {
  const { smoke } = context;
  const rounds = capacityRounds(context);
  const ws = rampPlan('ws', smoke);
  const rooms = await compareCapacity(
    `rooms capacity, ${ws.subscribers} members`,
    'rooms',
    'bareWs',
    ws,
    rounds,
    { smoke, control: true },
  );
  const io = rampPlan('socket.io', smoke);
  const chat = await compareCapacity(
    `chat capacity, ${io.subscribers} members`,
    'chat',
    'bareIo',
    io,
    rounds,
    {
      smoke,
      control: false,
    },
  );
  const capacity = medianRamp(rooms.rounds.map((r) => r.baseline));
  if (!capacity) throw new Error(`no capacity ramp of bare ws completed: ${rooms.failures.join('; ')}`);
  const members = ws.subscribers;
  const halfRate = Math.max(1, Math.round(capacity.rate / 2));
  const halfLoad = await compareFanout(
    `rooms, ${members} members, half of bare ws capacity`,
    'rooms',
    'bareWs',
    // Lean members, as in the ramps the rate comes from: with ws clients the one generator core
    // receives half of what the lean ones sustained at close to its limit, and its latency with it.
    { subscribers: members, rate: halfRate, seconds: windowSeconds(smoke), tickMs: 1, lean: true },
    comparisonRounds(context),
    context,
  );
  return { capacity, capacityComparisons: [rooms, chat], halfLoad };
}
