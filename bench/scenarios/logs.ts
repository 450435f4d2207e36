// The `logs` group: log entries POSTed over HTTP and relayed to ws subscribers, sample app against express + ws.
import type { LogsLoadResult, LogsLoadSpec } from '../logs-loadgen';
import { interleavedRounds, measureWindow, medianRatio, ServerProcess, startGenerator } from '../runner';
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

/** Bare first, then ours, in every round; a failing round ends the comparison. */
export async function compareLogs(
  subscribers: number,
  concurrency: number,
  entriesPerRequest: number,
  rounds: number,
  seconds: number,
  smoke: boolean,
): Promise<LogsComparison> {
  const run = (server: 'sample' | 'bare-logs') => () =>
    logsRound(server, subscribers, concurrency, entriesPerRequest, seconds, smoke);
  const measured = await interleavedRounds(
    rounds,
    [
      ['baseline', run('bare-logs')],
      ['ours', run('sample')],
    ] as const,
    (round, { ours: o, baseline: b }) =>
      console.error(
        `[bench] log stream round ${round + 1}: ours ${o.load.ingestedPerSec.toFixed(0)} entries/s in, ${o.load.deliveriesPerSec.toFixed(0)}/s out, p99 ${o.load.p99Ms.toFixed(2)} ms vs bare ${b.load.ingestedPerSec.toFixed(0)} in, ${b.load.deliveriesPerSec.toFixed(0)}/s out, p99 ${b.load.p99Ms.toFixed(2)} ms`,
      ),
  );
  const pairs = measured.rounds.map((r) => ({ ours: r.ours, baseline: r.baseline }));
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
  };
}

/** The log stream group: 100 subscribers, 8 requests in flight, 10 entries each, 3 rounds. */
export function runLogs(context: ScenarioContext): Promise<LogsComparison> {
  return context.smoke
    ? compareLogs(5, 2, 5, 1, 1, true)
    : compareLogs(100, 8, 10, 3, windowSeconds(false), false);
}
