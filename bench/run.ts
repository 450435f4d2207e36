// `npm run bench`: parses the flags, runs the selected scenario groups and writes bench/results.json and BENCHMARKS.md.
// Our gateways against bare `ws`, bare Socket.IO and uWebSockets.js, side by side in one run on
// loopback (bench/runner.ts: separate processes pinned to different cores where `taskset` exists,
// interleaved rounds, medians of per-round ratios); the scenarios are in bench/scenarios/, the
// Markdown in bench/report.ts. `--smoke` runs a tiny version (npm test); `--baseline <git-ref>` runs
// that commit's gateways beside the current ones (bench/baseline.ts); `--report-only` rewrites
// BENCHMARKS.md from bench/results.json without measuring; `--rounds=N` shortens a trial.
import { readFileSync, writeFileSync } from 'fs';
import { cpus, loadavg, totalmem } from 'os';
import { prepareBaseline, type BaselineTree } from './baseline';
import { COMPILED_WORKERS_DIR_ENV } from './build';
import { GROUPS, parseArgs, recordedCommand, selectedGroups, type BenchOptions } from './cli';
import { renderMarkdown, type BenchReport } from './report';
import { HAS_TASKSET, prepareTree, ROOT, useCurrentTree, type Runtime } from './runner';
import { runHalfLoad } from './scenarios/capacity';
import { runConnections } from './scenarios/connections';
import { runFanout, type ScenarioContext } from './scenarios/fanout';
import { runHistoryBenchmark } from './scenarios/history';
import { runIdle } from './scenarios/idle-memory';
import { runLogs } from './scenarios/logs';
import { runScaleout } from './scenarios/scaleout';

export { renderMarkdown, type BenchReport };

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2), process.env, __dirname);
  if (options.reportOnly) return writeReportOnly(options);
  // Checked before anything is built.
  selectedGroups(options);
  const current = prepareTree(ROOT, options.fromSource);
  let atRef: BaselineTree | null = null;
  try {
    useCurrentTree(current);
    // The history scenario runs in this process, from the TypeScript sources.
    if (current.workersDir) process.env[COMPILED_WORKERS_DIR_ENV] = current.workersDir;
    if (options.baseline !== undefined) atRef = prepareBaseline(ROOT, options.baseline, options.fromSource);
    await runGroups(options, { smoke: options.smoke, rounds: options.rounds, atRef });
  } finally {
    atRef?.cleanup();
    current.cleanup();
  }
}

/** `--report-only`: the Markdown again from the last results file (same figures, same command). */
function writeReportOnly(options: BenchOptions): void {
  if (!options.outMd) throw new Error('--report-only with --smoke writes nothing: set BENCH_OUT_MD');
  const report = JSON.parse(readFileSync(options.outJson, 'utf8')) as BenchReport;
  writeFileSync(options.outMd, renderMarkdown(report));
  console.error(`[bench] wrote ${options.outMd} from ${options.outJson}`);
}

async function runGroups(options: BenchOptions, context: ScenarioContext): Promise<void> {
  const { smoke, outJson, outMd, scenarios } = options;
  const runtime: Runtime = options.fromSource ? 'ts-node' : 'compiled JavaScript';
  const startedAt = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  console.error(
    `[bench] load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const only = selectedGroups(options);
  // One fan-out scenario is a partial run too: the other scenarios come from the last results.
  const partial = only.size < GROUPS.length || scenarios !== undefined;
  // A partial run starts from the last results and replaces the groups it reruns.
  const report: BenchReport = partial
    ? (JSON.parse(readFileSync(outJson, 'utf8')) as BenchReport)
    : ({ smoke } as BenchReport);
  if (report.smoke !== smoke) throw new Error(`${outJson} is from a ${report.smoke ? 'smoke' : 'full'} run`);
  // Older results files predate the field: they ran under ts-node.
  if (partial && (report.runtime ?? 'ts-node') !== runtime) {
    throw new Error(`${outJson} was measured with ${report.runtime ?? 'ts-node'}, this run uses ${runtime}`);
  }
  report.runtime = runtime;
  const flags = [
    smoke ? '--smoke' : '',
    options.baseline !== undefined && !partial ? `--baseline ${options.baseline}` : '',
    options.rounds !== undefined && !partial ? `--rounds=${options.rounds}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const command = recordedCommand(report.command, partial, flags, process.argv.slice(2));
  const save = (): void => {
    report.date = new Date().toISOString();
    report.command = command;
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
    writeFileSync(outJson, JSON.stringify(report, null, 2));
  };
  if (only.has('fanout')) {
    report.fanout = await runFanout(context, scenarios, report.fanout);
    save();
  }
  if (only.has('halfload')) {
    const { capacity, capacityComparisons, halfLoad } = await runHalfLoad(context);
    report.capacity = capacity;
    report.capacityComparisons = capacityComparisons;
    report.halfLoad = halfLoad;
    save();
  }
  if (only.has('scaleout')) {
    report.scaleout = await runScaleout(context);
    save();
  }
  if (only.has('logs')) {
    report.logs = await runLogs(context);
    save();
  }
  if (only.has('idle')) {
    report.idle = await runIdle(context);
    save();
  }
  if (only.has('connections')) {
    report.connections = await runConnections(context);
    save();
  }
  if (only.has('history')) {
    report.history = await runHistoryBenchmark(smoke ? 5_000 : 1_000_000, smoke ? 50 : 5000);
    save();
  }
  if (outMd) writeFileSync(outMd, renderMarkdown(report));
  console.error(
    `[bench] wrote ${outJson}${outMd ? ` and ${outMd}` : ''} after ${((Date.now() - startedAt) / 1000).toFixed(0)} s`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
