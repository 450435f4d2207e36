// The report: BENCHMARKS.md written from the results (bench/results.json), nothing measured here.
import type { HistoryResult } from './scenarios/history';
import { median, type RatioSummary, type Runtime } from './runner';
import {
  capacityControl,
  capacityFigure,
  capacityOf,
  capacitySection,
  generatorBoundCount,
} from './report-capacity';
import { connectionsReported, connectionsSection, connectionsTargetRows } from './report-connections';
import { fmt, int, ratioText, times } from './report-format';
import type { Capacity, CapacityComparison } from './scenarios/capacity';
import type { ConnectionsComparison } from './scenarios/connections';
import type { Comparison, FanoutRound } from './scenarios/fanout';
import { IDLE_USERS, type IdleResult } from './scenarios/idle-memory';
import type { LogsComparison, LogsRound } from './scenarios/logs';
import type { ScaleoutComparison, ScaleoutRound } from './scenarios/scaleout';
import { TARGETS } from './targets';
import { judge, noiseMargin, type RatioTarget, type Verdict } from './verdict';

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
  /** The bare ws ramp the half load is half of (the median round's). */
  capacity: Capacity;
  /** Gateways against bare servers, ramped in interleaved rounds; absent from older results files. */
  capacityComparisons?: CapacityComparison[];
  halfLoad: Comparison;
  /** Absent from results files written before the group existed. */
  scaleout?: ScaleoutComparison;
  logs: LogsComparison;
  idle: IdleResult[];
  /** Absent from results files written before the group existed. */
  connections?: ConnectionsComparison[];
  history: HistoryResult;
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

/** With `--baseline <ref>`: the gateways against themselves built from that commit, in the same rounds. */
function atRefSection(comparisons: Comparison[]): string[] {
  const rows = comparisons.filter((c) => c.atRef && c.rounds.some((r) => r.atRef));
  if (rows.length === 0) return [];
  const row = (c: Comparison): string => {
    const at = c.atRef!;
    const rounds = c.rounds.filter((r): r is typeof r & { atRef: FanoutRound } => r.atRef !== undefined);
    const cur = (pick: (r: FanoutRound) => number) => median(rounds.map((r) => pick(r.ours)));
    const ref = (pick: (r: FanoutRound) => number) => median(rounds.map((r) => pick(r.atRef)));
    const range = (pick: (r: FanoutRound) => number): string => {
      const ratios = rounds.map((r) => pick(r.ours) / pick(r.atRef));
      return ratios.length < 2 ? '' : ` (${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))})`;
    };
    return `| ${c.scenario} | \`${at.ref}\` (${at.commit.slice(0, 12)}) | ${int(cur((r) => r.load.deliveriesPerSec))} / ${int(ref((r) => r.load.deliveriesPerSec))} | ${fmt(at.deliveriesRatio)} | ${fmt(cur(cpuOf))} / ${fmt(ref(cpuOf))} | ${fmt(at.cpuPerDeliveryRatio)}${range(cpuOf)} | ${fmt(cur(p99Of))} / ${fmt(ref(p99Of))} | ${fmt(at.p99Ratio)}${range(p99Of)} | ${rounds.length} |`;
  };
  return [
    '## Against an earlier commit (`--baseline`)',
    '',
    "The same gateway built from another commit's tree (a git worktree, built the same way, on this tree's node_modules) ran as a third server in every round above (bare, current, that commit), under the same load generator. Ratios are current / that commit, medians of per-round ratios with the lowest and highest round in brackets.",
    '',
    '| scenario | against | deliveries/s current / then | ratio | server CPU µs/delivery current / then | ratio | p99 ms current / then | p99 ratio | rounds |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(row),
    '',
  ];
}

/** The lowest and highest per-round ratio, two nodes / one node. */
function scaleoutRange(c: ScaleoutComparison, pick: (r: ScaleoutRound) => number): string {
  const ratios = c.rounds.map((r) => pick(r.twoNodes) / pick(r.oneNode));
  return ratios.length < 2 ? '' : ` (${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))})`;
}

const scaleoutCpuOf = (r: ScaleoutRound): number => r.cpuMicrosPerDelivery;
const scaleoutP99Of = (r: ScaleoutRound): number => r.load.p99Ms;

/** The scale-out group: one node against two nodes through Redis, CPU over every server-side process. */
function scaleoutSection(c: ScaleoutComparison | undefined): string[] {
  const title = '## Scale-out: two nodes through Redis against one node';
  if (!c) return [title, '', 'Not in this results file: `npm run bench -- --only=scaleout` measures it.', ''];
  const side = (d: 'oneNode' | 'twoNodes', pick: (r: ScaleoutRound) => number): number =>
    median(c.rounds.map((r) => pick(r[d])));
  const processes = (d: 'oneNode' | 'twoNodes'): string =>
    (c.rounds[0]?.[d].processes ?? [])
      .map((p, i) => `${p.name} ${fmt(side(d, (r) => r.processes[i]?.cpuMicrosPerDelivery ?? NaN))}`)
      .join(', ');
  const user = (r: ScaleoutRound): number => r.processes.reduce((sum, p) => sum + p.userMicrosPerDelivery, 0);
  const system = (r: ScaleoutRound): number =>
    r.processes.reduce((sum, p) => sum + p.systemMicrosPerDelivery, 0);
  const saturatedOf = (d: 'oneNode' | 'twoNodes'): number =>
    c.rounds.filter((r) => r[d].load.loadgenCpuPercent > 90 || r[d].load.deliveries < r[d].load.expected)
      .length;
  const row = (d: 'oneNode' | 'twoNodes', name: string): string =>
    `| ${name} | ${int(side(d, (r) => r.load.deliveriesPerSec))} | ${fmt(side(d, (r) => r.load.p50Ms))} / ${fmt(side(d, scaleoutP99Of))} / ${fmt(side(d, (r) => r.load.maxMs))} | ${fmt(side(d, scaleoutCpuOf))} | ${processes(d)} | ${fmt(side(d, user))} / ${fmt(side(d, system))} | ${fmt(
      side(d, (r) => r.load.loadgenCpuPercent),
      0,
    )} % | ${saturatedOf(d)} of ${c.rounds.length} |`;
  const ratioOf = (pick: (r: ScaleoutRound) => number): number =>
    median(c.rounds.map((r) => pick(r.twoNodes) / pick(r.oneNode)));
  // Members by node in the two-node deployment (the generator's figures per server).
  const byNode = ['A', 'B'].map((node, i) => {
    const p99 = side('twoNodes', (r) => r.load.byUrl?.[i]?.p99Ms ?? NaN);
    const members = c.rounds[0]?.twoNodes.load.byUrl?.[i]?.members ?? NaN;
    return `node ${node} (${i === 0 ? "the publisher's" : 'through Redis'}, ${int(members)} members) ${fmt(p99)} ms`;
  });
  const commands = [
    ...new Set(c.rounds.flatMap((r) => Object.keys(r.twoNodes.redisCallsPerMessage ?? {}))),
  ].sort();
  const perMessage = commands
    .map(
      (command) =>
        `${command} ${fmt(median(c.rounds.map((r) => r.twoNodes.redisCallsPerMessage?.[command] ?? 0)))}`,
    )
    .join(', ');
  return [
    `${title} (${c.subscribers} members)`,
    '',
    `The raw-ws room fan-out of *rooms, ${c.subscribers} members* (\`/ws/chat\`, 1 KB messages, ${int(c.rate)} messages/s, every message stored) served by two deployments in interleaved rounds (one node, two nodes, one node, …), each started afresh in every round:`,
    '',
    '- **one node**: one sample-app process without Redis, on its own SQLite file, as in the fan-out scenario;',
    "- **two nodes through Redis**: two sample-app processes with `redis: { url }` to one `redis-server` (Debian's, on a free loopback port, no persistence) and one SQLite file shared by both (one SQLite file serves the nodes of one machine: [docs/scale-out.md](docs/scale-out.md)). The members alternate between the nodes, half on each; the publisher is on node A, which stores every message and relays it to node B over Redis pub/sub. With Redis configured, node A also emits each room message to the matching Socket.IO chat room through Socket.IO's Redis adapter (a Socket.IO client of another node may be in it; the chat shares the rooms), so the Socket.IO adapter in use is part of the cost: the commands redis-server ran are listed below the table.",
    '',
    "Server-side CPU is that of every server process of the deployment over the measured window, summed: the nodes' own `cpuUsage` (all threads) and redis-server's utime + stime from `/proc/<pid>/stat` (10 ms ticks), divided by the deliveries. The nodes and redis-server all run on core 0, the generator on core 1: with two cores, the three processes of the two-node deployment cannot each have a core as they would on separate machines, so its deliveries/s and latency do not tell what two machines would sustain. **Compare CPU, not throughput.** There is no target: the figures and ratios are reported.",
    '',
    '| deployment | deliveries/s | p50 / p99 / max ms | server-side CPU µs/delivery | per process µs/delivery | user / system µs/delivery | generator CPU | saturated rounds |',
    '|---|---|---|---|---|---|---|---|',
    row('oneNode', 'one node'),
    row('twoNodes', 'two nodes through Redis'),
    `| two nodes / one node | ${fmt(c.deliveriesRatio)} | p99 ${fmt(c.p99Ratio)}${scaleoutRange(c, scaleoutP99Of)} | ${fmt(c.cpuPerDeliveryRatio)}${scaleoutRange(c, scaleoutCpuOf)} | | ${fmt(ratioOf(user))} / ${fmt(ratioOf(system))} | | |`,
    '',
    `Two nodes, p99 of the members by node (medians over rounds): ${byNode.join(', ')}. Commands redis-server ran per published message (medians over rounds): ${perMessage || 'none'}.${c.failures.length ? ` Failed rounds, left out: ${c.failures.join('; ')}.` : ''}`,
    '',
  ];
}

/** A row of the targets table; `control` is the A/A figure the verdict's margin comes from, if any. */
interface TargetRow {
  name: string;
  figure: string;
  control: string;
  verdict: Verdict | 'not measured';
  /** What the ratio had to clear the target by (the A/A spread), for a verdict within it. */
  margin?: number;
}

function verdictCell({ verdict, margin }: TargetRow): string {
  switch (verdict) {
    case 'met':
      return 'met';
    case 'not met':
      return '**not met**';
    case 'within noise':
      return `**not met**: clears the target by less than the A/A noise margin (±${fmt(margin ?? NaN)})`;
    case 'not measured':
      return '**not measured**';
  }
}

/** A target judged on its figure alone (no A/A control measures the same figure). */
function plain(name: string, figure: string, ok: boolean): TargetRow {
  return { name, figure, control: '—', verdict: ok ? 'met' : 'not met' };
}

/** A ratio target with the A/A control of the same figure (when the results file has one). */
function withControl(
  name: string,
  figure: string,
  ratio: number,
  target: RatioTarget,
  control: RatioSummary | undefined,
  controlLabel = 'bare ws',
): TargetRow {
  return {
    name,
    figure,
    control: control ? `${controlLabel} ${ratioText(control)}` : '—',
    verdict: judge(ratio, target, control),
    ...(control ? { margin: noiseMargin(control) } : {}),
  };
}

/** Sustained capacity against the bare server, judged with the bare ws capacity A/A control. */
export function capacityTarget(
  name: string,
  comparison: CapacityComparison | undefined,
  control: RatioSummary | undefined,
): TargetRow {
  if (!comparison) {
    return {
      name,
      figure: 'not in this results file (`npm run bench -- --only=halfload`)',
      control: '—',
      verdict: 'not measured',
    };
  }
  // A ramp that ended with the generator at its core's limit gives a floor of what its server takes.
  // The bare side's floor makes the ratio an upper bound: it proves no "met". Ours' makes it a lower
  // bound: it proves no "not met". In most rounds, either way, the target is not measured.
  const rounds = comparison.rounds.length;
  const bareBound = generatorBoundCount(comparison, 'baseline');
  const oursBound = generatorBoundCount(comparison, 'ours');
  const row = withControl(
    name,
    capacityFigure(comparison),
    comparison.ratio.median,
    CAPACITY_TARGET,
    control,
  );
  const unproven = row.verdict === 'met' ? bareBound * 2 > rounds : oursBound * 2 > rounds;
  return unproven ? { ...row, verdict: 'not measured' } : row;
}

/** Per-round ratios (ours / baseline) of one figure of a fan-out comparison. */
function roundRatios(c: Comparison, pick: (r: FanoutRound) => number): number[] {
  return c.rounds.map((round) => pick(round.ours) / pick(round.baseline));
}

/**
 * A fan-out ratio target on the median of the per-round ratios and, with `worstRound`, on the
 * highest round too (a target that one round in seven misses by far is not held). `control` is the
 * A/A spread of the run (the rooms 100-member scenario's, for every fan-out figure).
 */
function fanoutTarget(
  name: string,
  comparison: Comparison | undefined,
  pick: (r: FanoutRound) => number,
  target: RatioTarget,
  control: RatioSummary | undefined,
  worstRound?: number,
): TargetRow {
  if (!comparison || comparison.rounds.length === 0) {
    return { name, figure: 'not in this results file', control: '—', verdict: 'not measured' };
  }
  const ratios = roundRatios(comparison, pick);
  const ratio = median(ratios);
  const highest = Math.max(...ratios);
  const row = withControl(name, `${fmt(ratio)} ×${roundRange(comparison, pick)}`, ratio, target, control);
  if (worstRound !== undefined && !(highest < worstRound) && row.verdict === 'met') {
    // How far one round of the bare server against itself strays here, either way (a baseline
    // process that measures cheap in its round raises ours / baseline as much as a dear one lowers it).
    const controlFarthest =
      control?.ratios !== undefined && control.ratios.length > 0
        ? Math.max(...control.ratios.map((r) => Math.max(r, 1 / r)))
        : undefined;
    const beside =
      controlFarthest === undefined
        ? ''
        : ` (the A/A control's farthest round: ${fmt(controlFarthest)} × either way)`;
    return { ...row, verdict: 'not met', figure: `${row.figure}; highest round ${fmt(highest)} ×${beside}` };
  }
  return row;
}

/**
 * A log stream ratio target: the median of the per-round ratios (ours / bare relay), the lowest and
 * highest round beside it, judged with the run's A/A control of the same figure when it has one.
 */
function logsTarget(
  name: string,
  logs: LogsComparison,
  pick: (r: LogsRound) => number,
  target: RatioTarget,
  control: RatioSummary | undefined,
): TargetRow {
  const ratios = logs.rounds.map((round) => pick(round.ours) / pick(round.baseline));
  const ratio = median(ratios);
  const range = ratios.length > 1 ? ` (${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))})` : '';
  return withControl(name, `${fmt(ratio)} ×${range}`, ratio, target, control, 'express + ws');
}

/** The issue's capacity target: the gateway sustains at least 0.95 × what its bare server does. */
const CAPACITY_TARGET: RatioTarget = { limit: 0.95, bound: 'atLeast' };

function targetRows(report: BenchReport): TargetRow[] {
  const idleOf = (t: string) => report.idle.find((i) => i.target === t);
  const rooms100 = report.fanout.find((c) => c.scenario.startsWith('rooms, 100'));
  const fanout = (prefix: string) =>
    report.fanout.find((c) => c.scenario === `${prefix} members` || c.scenario.startsWith(`${prefix},`));
  const chat100 = fanout('chat, 100');
  const half = report.halfLoad;
  const ratio = (a: number | undefined, b: number | undefined) => (a ?? NaN) / (b ?? NaN);
  const roomsHeap = idleOf('rooms')?.heapPerConnection ?? NaN;
  const ioHeapRatio = ratio(idleOf('chat')?.heapPerConnection, idleOf('bareIo')?.heapPerConnection);
  const wsRssRatio = ratio(idleOf('rooms')?.rssPerConnection, idleOf('bareWs')?.rssPerConnection);
  const ioRssRatio = ratio(idleOf('chat')?.rssPerConnection, idleOf('bareIo')?.rssPerConnection);
  const capacityAA = capacityControl(report.capacityComparisons);
  return [
    withControl(
      'rooms gateway fan-out ≥ 0.85 × bare ws deliveries/s (100 members)',
      `${fmt(rooms100?.deliveriesRatio ?? NaN)} ×`,
      rooms100?.deliveriesRatio ?? NaN,
      { limit: 0.85, bound: 'atLeast' },
      rooms100?.control?.deliveries,
    ),
    withControl(
      'rooms gateway CPU per delivery ≤ 1.2 × bare ws (100 members)',
      `${fmt(rooms100?.cpuPerDeliveryRatio ?? NaN)} ×${rooms100 ? roundRange(rooms100, cpuOf) : ''}`,
      rooms100?.cpuPerDeliveryRatio ?? NaN,
      { limit: 1.2, bound: 'atMost' },
      rooms100?.control?.cpuPerDelivery,
    ),
    fanoutTarget(
      'rooms gateway CPU per delivery ≤ 1.1 × bare ws (100 members), highest round < 1.3 ×',
      rooms100,
      cpuOf,
      { limit: 1.1, bound: 'atMost' },
      rooms100?.control?.cpuPerDelivery,
      1.3,
    ),
    fanoutTarget(
      'rooms gateway CPU per delivery ≤ 1.1 × bare ws (1,000 members), highest round < 1.3 ×',
      fanout('rooms, 1000'),
      cpuOf,
      { limit: 1.1, bound: 'atMost' },
      rooms100?.control?.cpuPerDelivery,
      1.3,
    ),
    fanoutTarget(
      'rooms gateway CPU per delivery ≤ 1.2 × bare ws framed once (100 members)',
      fanout('rooms against bare ws framed once'),
      cpuOf,
      { limit: 1.2, bound: 'atMost' },
      rooms100?.control?.cpuPerDelivery,
    ),
    fanoutTarget(
      'chat gateway CPU per delivery ≤ 1.1 × bare Socket.IO (100 members)',
      chat100,
      cpuOf,
      { limit: 1.1, bound: 'atMost' },
      rooms100?.control?.cpuPerDelivery,
    ),
    fanoutTarget(
      'chat gateway CPU per delivery ≤ 1.1 × bare Socket.IO (1,000 members)',
      fanout('chat, 1000'),
      cpuOf,
      { limit: 1.1, bound: 'atMost' },
      rooms100?.control?.cpuPerDelivery,
    ),
    ...(['chat, 100', 'chat, 1000'] as const).flatMap((scenario) => {
      const c = fanout(scenario);
      const members = scenario === 'chat, 100' ? '100' : '1,000';
      return [
        plain(
          `chat gateway deliveries 1.00 × bare Socket.IO (${members} members)`,
          `${fmt(c?.deliveriesRatio ?? NaN)} ×`,
          // Every message delivered in both: the ratio rounds to 1.00.
          (c?.deliveriesRatio ?? 0) >= 0.995,
        ),
        fanoutTarget(
          `chat gateway p99 ≤ 1.2 × bare Socket.IO (${members} members)`,
          c,
          p99Of,
          { limit: 1.2, bound: 'atMost' },
          undefined,
        ),
      ];
    }),
    logsTarget(
      'log stream entries/s ≥ 0.95 × express + ws',
      report.logs,
      (r) => r.load.ingestedPerSec,
      { limit: 0.95, bound: 'atLeast' },
      report.logs.control?.ingested,
    ),
    logsTarget(
      'log stream CPU per delivered entry ≤ 1.1 × express + ws',
      report.logs,
      (r) => r.serverCpuMicrosPerDelivery,
      { limit: 1.1, bound: 'atMost' },
      report.logs.control?.cpuPerDelivery,
    ),
    logsTarget(
      'log stream delivery p99 ≤ 1.2 × express + ws',
      report.logs,
      (r) => Math.max(r.load.p99Ms, 0.001),
      { limit: 1.2, bound: 'atMost' },
      report.logs.control?.p99,
    ),
    plain(
      'Socket.IO chat fan-out ≥ 0.9 × bare Socket.IO deliveries/s (100 members)',
      `${fmt(chat100?.deliveriesRatio ?? NaN)} ×`,
      (chat100?.deliveriesRatio ?? 0) >= 0.9,
    ),
    capacityTarget(
      'rooms gateway sustained capacity ≥ 0.95 × bare ws (100 members)',
      capacityOf(report.capacityComparisons, 'rooms'),
      capacityAA,
    ),
    capacityTarget(
      'chat gateway sustained capacity ≥ 0.95 × bare Socket.IO (100 members)',
      capacityOf(report.capacityComparisons, 'chat'),
      capacityAA,
    ),
    plain(
      'p99 at half of bare ws capacity ≤ 1.5 × bare ws',
      `${fmt(half.p99Ratio)} ×${roundRange(half, p99Of)}`,
      half.p99Ratio <= 1.5 && report.capacity.rate > 0,
    ),
    plain('heap per idle ws connection ≤ 6 KB', `${fmt(roomsHeap / 1024, 1)} KB`, roomsHeap <= 6144),
    plain(
      'Socket.IO heap per idle connection ≤ 1.2 × bare Socket.IO',
      `${fmt(ioHeapRatio)} ×`,
      ioHeapRatio <= 1.2,
    ),
    plain('RSS per idle ws connection ≤ 1.3 × bare ws', `${fmt(wsRssRatio)} ×`, wsRssRatio <= 1.3),
    plain(
      'RSS per idle Socket.IO connection ≤ 1.3 × bare Socket.IO',
      `${fmt(ioRssRatio)} ×`,
      ioRssRatio <= 1.3,
    ),
    ...connectionsTargetRows(report.connections),
    plain(
      'history p99 ≤ 2 ms at 1,000,000 messages (SQLite)',
      `${fmt(report.history.p99Ms, 3)} ms (max ${fmt(report.history.maxMs, 2)} ms)`,
      report.history.messages >= 1_000_000 && report.history.p99Ms <= 2,
    ),
  ];
}

/** The A/A control of the fan-out scenarios that ran one, under the fan-out table. */
function fanoutControlLines(comparisons: Comparison[]): string[] {
  const controlled = comparisons.filter((c) => c.control && c.control.cpuPerDelivery.rounds > 0);
  if (controlled.length === 0) {
    return [
      'No A/A control in these fan-out figures (the results predate it): their targets are judged on the ratio alone.',
      '',
    ];
  }
  return controlled.flatMap((c) => {
    const aa = c.control!;
    const label = TARGETS[c.baseline]!.label;
    return [
      `A/A control in *${c.scenario}*: a second ${label} process, first in every round, against the ${label} of the same round (${label} / ${label}): deliveries ${ratioText(aa.deliveries)}, server CPU per delivery ${ratioText(aa.cpuPerDelivery)}, p99 ${ratioText(aa.p99)}.`,
      '',
    ];
  });
}

export function renderMarkdown(report: BenchReport): string {
  const half = report.halfLoad;
  const cap = report.capacity;
  const logs = report.logs;
  const targets = targetRows(report);
  const scaleout = report.scaleout;
  // Reported, not judged: a row of the table without a verdict.
  const reported: Array<[string, string]> = scaleout
    ? [
        [
          `two nodes through Redis / one node, server-side CPU per delivery (${scaleout.subscribers} members)`,
          `${fmt(scaleout.cpuPerDeliveryRatio)} ×${scaleoutRange(scaleout, scaleoutCpuOf)}`,
        ],
      ]
    : [];
  reported.push(...connectionsReported(report.connections));
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
  const lines = [
    '# Benchmarks',
    '',
    `Produced by \`${report.command}\` on ${report.date} in ${fmt(report.durationSec / 60, 1)} min — ${report.machine.cpus} cores (${report.machine.model}), ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; servers and load generators run as ${report.runtime ?? 'ts-node'}${report.runtime === 'ts-node' ? ' (--from-source)' : ' (bench/build.ts)'}; server and load generator ${report.machine.pinned ? 'pinned to cores 0 and 1 (taskset)' : 'not pinned'}; 1-minute load average ${fmt(report.loadAverage.start)} at the start, ${fmt(report.loadAverage.end)} at the end. Loopback only. Ratios are medians of per-round ratios over interleaved rounds (baseline, ours, baseline, ours, …), with the lowest and highest round in brackets for CPU and p99; absolute figures are medians over the rounds and drift between runs, the ratios are what count. Raw figures: \`bench/results.json\`.`,
    '',
    '## Targets',
    '',
    '| target | figure | A/A control (bare against itself) | |',
    '|---|---|---|---|',
    ...targets.map((t) => `| ${t.name} | ${t.figure} | ${t.control} | ${verdictCell(t)} |`),
    ...reported.map(([name, figure]) => `| ${name} | ${figure} | — | reported, no target |`),
    '',
    '## Room fan-out (1 KB messages, fixed publish rate)',
    '',
    "One publisher and N members of one room; every member receives every message. Deliveries/s and latency are measured by the generator (send time carried in the message); server CPU is the server process's own `cpuUsage` (user + system, all threads) from the start to the end of the measured window, divided by the deliveries in it.",
    '',
    "The rooms gateway frames a broadcast once and writes those bytes to every member's socket that negotiated no extension; bare ws (`send` per member, as ws's API has it) builds a frame header per member and writes two chunks. *Bare ws, framed once* is bare ws delivering the gateway's way: the ratio against it is what routing, validation, rate limits and storing each message cost. Its target is 1.2 ×.",
    '',
    ...fanoutHeader,
    ...report.fanout.map(fanoutRow),
    '',
    ...fanoutControlLines(report.fanout),
    ...capacitySection(report.capacityComparisons),
    `## Open-loop load at half of bare ws capacity (${half.subscribers} members)`,
    '',
    'Members are lean clients here too, as in the ramps.',
    '',
    `${report.capacityComparisons ? 'Of the bare ws ramps above, the one with the median maximum' : 'Capacity ramp on bare ws'} (${cap.subscribers} members, publish rate ×1.4 per step until a step is not sustained${cap.refineSteps ? `, then the bracket bisected ${times(cap.refineSteps)}` : ''}: every message delivered, within 0.5 s of the window's end, p99 ≤ 100 ms): **${int(cap.rate)} msg/s = ${int(cap.deliveriesPerSec)} deliveries/s**${cap.generatorBound ? " — the generator was above 90 % CPU at the highest step sustained or the lowest not, so this is the generator's limit as much as the server's" : ''}.`,
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
    ...atRefSection([...report.fanout, half]),
    ...scaleoutSection(report.scaleout),
    `## Log stream (${logs.subscribers} subscribers of one app)`,
    '',
    `Producers POST \`/apps/:appId/logs\` over keep-alive HTTP, ${logs.concurrency} requests in flight (closed loop: the server sets the pace), ${logs.entriesPerRequest} entries of 120 bytes per request, with a token whose \`appId\` claim matches; ${logs.subscribers} ws clients at \`/ws/logs?token=...\` receive \`{type:'logs',payload:[...]}\` frames. Baseline: express + ws doing the same relay (JWT check with a key object made once, as the library's, on every request: the library checks a token it verified before for its expiry only, \`auth.verifiedTokenCache\`; ids, last 1000 kept, one frame per tick serialised once), without Nest, class-validator or metrics, and in memory only: the sample app also writes every entry to SQLite (\`stream.persist\`, on by default).`,
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
    ...(logs.control
      ? [
          `A/A control: a second bare relay, first in every one of the ${logs.rounds.length} rounds, against the bare relay of the same round: entries/s ${ratioText(logs.control.ingested)}, CPU per delivered entry ${ratioText(logs.control.cpuPerDelivery)}, p99 ${ratioText(logs.control.p99)}.`,
          '',
        ]
      : []),
    '## Idle connections (after GC)',
    '',
    '| server | connections | heap / connection | RSS / connection |',
    '|---|---|---|---|',
    ...report.idle.map(
      (i) =>
        `| ${TARGETS[i.target]!.label} | ${int(i.connections)} | ${fmt(i.heapPerConnection / 1024, 1)} KB | ${fmt(i.rssPerConnection / 1024, 1)} KB |`,
    ),
    '',
    ...connectionsSection(report.connections),
    '## History query',
    '',
    `\`room_history\` limit ${report.history.limit} on a room of ${report.history.messages.toLocaleString('en')} stored messages (SQLite), ${report.history.queries} queries at random offsets among the newest pages${report.history.warmupQueries ? ` (after ${report.history.warmupQueries} untimed ones)` : ''}, through \`MessagesService\`: p50 ${fmt(report.history.p50Ms, 3)} ms, p99 ${fmt(report.history.p99Ms, 3)} ms, max ${fmt(report.history.maxMs, 3)} ms (seeding took ${fmt(report.history.seedSeconds, 1)} s).`,
    '',
    '## Method',
    '',
    "- Every server and every load generator run is a fresh child process, compiled to JavaScript first as a host app runs in production (`bench/build.ts`; ts-node loads Node's `domain` module, which wraps every `EventEmitter.emit`, so `--from-source` is for quick trials only); servers on core 0, generators on core 1 when `taskset` exists. Warm-up before each measured window (8 s for fan-out, 2 s for the log stream), then a drain of at most 2 s for messages in flight.",
    '- A round is **saturated** when its generator used more than 90 % of a core or not every expected delivery arrived; such rounds still count in the medians and are listed so that they can be discounted.',
    "- **A/A control**: the bare server against itself, a second process of it first in every round (bare ws in *rooms, 100 members* and in the capacity ramps). How far from 1 the interval holding its median with 85 % coverage reaches is the machine's noise (the k-th lowest and k-th highest round: the worst round up to 6 rounds, the 2nd at 7, narrower with more rounds). A ratio target beside such a control is met when its ratio clears the target by more than that; on the right side of the target by less, it is not met, within the noise. The chat capacity target uses the bare ws control; targets without a control are judged on their figure alone.",
    "- The ws generator reads the send time out of each frame without parsing the JSON (same code for every server); the Socket.IO generator goes through `socket.io-client` with `transports: ['websocket']`.",
    `- Idle connections: heap and RSS of the server after two forced GCs, before and after opening the connections, divided by the connections held; the connections belong to ${IDLE_USERS} users (each user's first connection is announced to every Socket.IO socket, so ten thousand distinct users would turn the chat run into 50 million \`userStatus\` packets).`,
    '',
    'What these figures are made of, and what was tried to change them: [docs/performance.md](docs/performance.md).',
    '',
  ];
  return lines.join('\n');
}
