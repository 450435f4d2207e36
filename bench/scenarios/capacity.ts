// The `halfload` group: a capacity ramp on bare ws, then rooms against bare ws open-loop at half of it.
import { ServerProcess } from '../runner';
import { TARGETS } from '../targets';
import {
  compareFanout,
  comparisonRounds,
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
  /** The first unsustained step had the generator above 90 % CPU: the figure is the generator's. */
  generatorBound: boolean;
}

/**
 * A short ramp on one server process: the publish rate grows by `factor` while every message still
 * arrives, within half a second of the window's end and with p99 under 100 ms. Bounded in steps.
 */
export async function findCapacity(
  targetKey: string,
  subscribers: number,
  startRate: number,
  factor: number,
  maxSteps: number,
  seconds: number,
  smoke: boolean,
): Promise<Capacity> {
  const server = await ServerProcess.start(TARGETS[targetKey]!.server);
  const steps: CapacityStep[] = [];
  try {
    let rate = startRate;
    for (let step = 0; step < maxSteps; step += 1) {
      const { load } = await loadOn(server, targetKey, { subscribers, rate, seconds, tickMs: 1 }, smoke);
      const drainSec = load.seconds - seconds;
      // The smoke run checks that the figures are complete, never speed: on a machine busy with
      // other work its first step may miss the latency bound, which must not leave it with no rate.
      const sustained = smoke
        ? load.deliveries >= load.expected
        : load.deliveries >= load.expected && drainSec <= 0.5 && load.p99Ms <= 100;
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

/** Open loop at half of what bare ws sustains: the capacity ramp first, then both sides at half. */
export async function runHalfLoad(
  context: ScenarioContext,
): Promise<{ capacity: Capacity; halfLoad: Comparison }> {
  const { smoke } = context;
  const members = smoke ? 5 : 100;
  const capacity = smoke
    ? await findCapacity('bareWs', members, 20, 2, 2, 0.5, smoke)
    : await findCapacity('bareWs', members, 250, 1.4, 12, 3, smoke);
  const halfRate = Math.max(1, Math.round(capacity.rate / 2));
  const halfLoad = await compareFanout(
    `rooms, ${members} members, half of bare ws capacity`,
    'rooms',
    'bareWs',
    { subscribers: members, rate: halfRate, seconds: windowSeconds(smoke), tickMs: 1 },
    comparisonRounds(context),
    context,
  );
  return { capacity, halfLoad };
}
