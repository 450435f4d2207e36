// The `logs` group: log entries POSTed over HTTP and relayed to ws subscribers, sample app against express + ws.
import type { LogsLoadResult, LogsLoadSpec } from '../logs-loadgen';
import {
  interleavedRounds,
  measureWindow,
  medianRatio,
  ratioSummary,
  ServerProcess,
  startGenerator,
  type RatioSummary,
} from '../runner';
import { tokens } from '../targets';
import { windowSeconds, type ScenarioContext } from './fanout';

export interface LogsRound {
  target: string;
  load: LogsLoadResult;
  serverCpuMicrosPerDelivery: number;
}

export interface LogsComparison {
  subscribers: number;
  concurrency: number;
  entriesPerRequest: number;
  rounds: Array<{ ours: LogsRound; baseline: LogsRound; control?: LogsRound }>;
  /**
   * The A/A control: a second bare relay run first in every round, ratios baseline / control (the
   * machine's noise, bench/verdict.ts). Absent from results files that predate it.
   */
  control?: { ingested: RatioSummary; cpuPerDelivery: RatioSummary; p99: RatioSummary };
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
  smoke: boolean,
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
      warmupSec: smoke ? 0.5 : 2,
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

/**
 * Bare first, then ours, in every round (with `control`, a second bare relay before them: the A/A
 * control); a failing round ends the comparison.
 */
export async function compareLogs(
  subscribers: number,
  concurrency: number,
  entriesPerRequest: number,
  rounds: number,
  seconds: number,
  smoke: boolean,
  control = false,
): Promise<LogsComparison> {
  const run = (server: 'sample' | 'bare-logs') => () =>
    logsRound(server, subscribers, concurrency, entriesPerRequest, seconds, smoke);
  type Side = 'control' | 'baseline' | 'ours';
  const sides: Array<readonly [Side, () => Promise<LogsRound>]> = [
    ['baseline', run('bare-logs')],
    ['ours', run('sample')],
  ];
  if (control) sides.unshift(['control', run('bare-logs')]);
  const line = (r: LogsRound): string =>
    `${r.load.ingestedPerSec.toFixed(0)} entries/s in, ${r.load.deliveriesPerSec.toFixed(0)}/s out, p99 ${r.load.p99Ms.toFixed(2)} ms`;
  const measured = await interleavedRounds(rounds, sides, (round, { ours: o, baseline: b, control: c }) =>
    console.error(
      `[bench] log stream round ${round + 1}: ours ${line(o)} vs bare ${line(b)}${c ? ` (A/A control ${line(c)})` : ''}`,
    ),
  );
  const pairs = measured.rounds.map((r) => ({
    ours: r.ours,
    baseline: r.baseline,
    ...(control ? { control: r.control } : {}),
  }));
  const withControl = pairs.filter((p): p is typeof p & { control: LogsRound } => p.control !== undefined);
  const logsSaturated = (r: LogsRound) =>
    r.load.loadgenCpuPercent > 90 || r.load.deliveries < r.load.expected;
  return {
    subscribers,
    concurrency,
    entriesPerRequest,
    rounds: pairs,
    ingestedRatio: medianRatio(pairs, (p) => p.ours.load.ingestedPerSec / p.baseline.load.ingestedPerSec),
    deliveriesRatio: medianRatio(
      pairs,
      (p) => p.ours.load.deliveriesPerSec / p.baseline.load.deliveriesPerSec,
    ),
    cpuPerDeliveryRatio: medianRatio(
      pairs,
      (p) => p.ours.serverCpuMicrosPerDelivery / p.baseline.serverCpuMicrosPerDelivery,
    ),
    p99Ratio: medianRatio(pairs, (p) => p.ours.load.p99Ms / Math.max(p.baseline.load.p99Ms, 0.001)),
    saturatedRounds: pairs.filter((p) => logsSaturated(p.ours) || logsSaturated(p.baseline)).length,
    ...(control
      ? {
          control: {
            ingested: ratioSummary(
              withControl,
              (p) => p.baseline.load.ingestedPerSec / p.control.load.ingestedPerSec,
            ),
            cpuPerDelivery: ratioSummary(
              withControl,
              (p) => p.baseline.serverCpuMicrosPerDelivery / p.control.serverCpuMicrosPerDelivery,
            ),
            p99: ratioSummary(
              withControl,
              (p) => p.baseline.load.p99Ms / Math.max(p.control.load.p99Ms, 0.001),
            ),
          },
        }
      : {}),
  };
}

/**
 * The log stream group: 100 subscribers, 8 requests in flight, 10 entries each; 7 interleaved rounds
 * (or `--rounds`), each with the A/A control.
 */
export function runLogs(context: ScenarioContext): Promise<LogsComparison> {
  return context.smoke
    ? compareLogs(5, 2, 5, 1, 1, true, true)
    : compareLogs(100, 8, 10, context.rounds ?? LOGS_ROUNDS, windowSeconds(false), false, true);
}

/** Rounds of the log stream group (about 30 s each with its control). */
const LOGS_ROUNDS = 7;
