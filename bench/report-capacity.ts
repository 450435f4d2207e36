// The report's capacity section: each gateway's sustained maximum against its bare server's, per round,
// with the bare ws A/A control; and the figures of the capacity targets (bench/report.ts).
import { median, type RatioSummary } from './runner';
import { fmt, int, ratioText, times } from './report-format';
import { LATER_STEP_WARMUP_SEC, type Capacity, type CapacityComparison } from './scenarios/capacity';
import { TARGETS } from './targets';

const TITLE = '## Capacity: sustained maximum against the bare server';

/** The comparison of `ours` with its bare server, if this results file has it. */
export function capacityOf(
  comparisons: CapacityComparison[] | undefined,
  ours: string,
): CapacityComparison | undefined {
  return comparisons?.find((c) => c.ours === ours);
}

/** The A/A control of the capacity group: bare ws ramped twice per round. */
export function capacityControl(comparisons: CapacityComparison[] | undefined): RatioSummary | undefined {
  return comparisons?.find((c) => c.control !== undefined)?.control;
}

/** Rounds whose ramp on `side` ended with the generator at its core's limit (a floor of that maximum). */
export function generatorBoundCount(c: CapacityComparison, side: 'ours' | 'baseline'): number {
  return c.rounds.filter((r) => r[side].generatorBound).length;
}

/** The figure of a capacity target: the ratio, and whether the generator set the maxima. */
export function capacityFigure(c: CapacityComparison): string {
  const [ours, bare] = [generatorBoundCount(c, 'ours'), generatorBoundCount(c, 'baseline')];
  const notes = [
    bare ? `bare's ramp generator-bound in ${bare} of ${c.rounds.length} rounds (its maximum a floor)` : '',
    ours ? `ours' in ${ours} of ${c.rounds.length} (our maximum a floor)` : '',
  ].filter(Boolean);
  return `${ratioText(c.ratio)}${notes.length ? `; ${notes.join(', ')}` : ''}`;
}

const sideMedian = (c: CapacityComparison, side: 'ours' | 'baseline', pick: (r: Capacity) => number) =>
  median(c.rounds.map((r) => pick(r[side])));

function stepRange(c: CapacityComparison): string {
  const counts = c.rounds
    .flatMap((r) => [r.ours, r.baseline, ...(r.control ? [r.control] : [])])
    .map((x) => x.steps.length);
  if (counts.length === 0) return 'n/a';
  const [min, max] = [Math.min(...counts), Math.max(...counts)];
  return min === max ? String(min) : `${min}–${max}`;
}

function summaryRow(c: CapacityComparison): string {
  const label = `${TARGETS[c.ours]!.label} vs ${TARGETS[c.baseline]!.label}`;
  const rate = (side: 'ours' | 'baseline') => int(sideMedian(c, side, (r) => r.rate));
  const deliveries = (side: 'ours' | 'baseline') => int(sideMedian(c, side, (r) => r.deliveriesPerSec));
  return `| ${c.scenario} | ${label} | ${c.rounds.length} | ${rate('ours')} / ${rate('baseline')} | ${deliveries('ours')} / ${deliveries('baseline')} | ${ratioText(c.ratio)} | ${c.control ? ratioText(c.control) : '—'} | ${stepRange(c)} | ${c.generatorBoundRounds} of ${c.rounds.length} |`;
}

/** One ramp in a cell: its maximum, its steps, the generator at the highest step sustained. */
function rampCell(r: Capacity | undefined): string {
  if (!r) return '—';
  const best = r.steps.find((s) => s.sustained && s.rate === r.rate);
  const generator = best ? `, generator ${fmt(best.loadgenCpuPercent, 0)} %` : '';
  return `${int(r.rate)} msg/s (${r.steps.length} steps${generator}${r.generatorBound ? ', **generator-bound**' : ''})`;
}

function roundRows(c: CapacityComparison): string[] {
  return c.rounds.map(
    (r, i) =>
      `| ${c.scenario} | ${i + 1} | ${rampCell(r.control)} | ${rampCell(r.baseline)} | ${rampCell(r.ours)} | ${fmt(r.ours.rate / r.baseline.rate)} | ${r.control ? fmt(r.baseline.rate / r.control.rate) : '—'} |`,
  );
}

export function capacitySection(comparisons: CapacityComparison[] | undefined): string[] {
  if (!comparisons || comparisons.length === 0) {
    return [TITLE, '', 'Not in this results file: `npm run bench -- --only=halfload` measures it.', ''];
  }
  const plan = comparisons[0]!.plan;
  const failures = comparisons.flatMap((c) => c.failures.map((f) => `${c.scenario}, ${f}`));
  return [
    TITLE,
    '',
    `Each ramp is a fresh server process with ${plan.subscribers} members of one room and one publisher (1 KB messages, publisher clock 1 ms); the members are lean clients that read frame headers in place (\`bench/lean-ws.ts\`), so that one generator core receives faster than one server core sends. The publish rate grows ×${plan.factor} per step while steps are sustained (every message delivered, within 0.5 s of the window's end, p99 ≤ 100 ms; down by as much while none is), then the bracket between the highest rate sustained and the lowest not is bisected ${times(plan.refineSteps)}; at most ${plan.maxSteps} coarse steps, windows of ${plan.seconds} s, the first step after the fan-out's warm-up and the later ones after ${LATER_STEP_WARMUP_SEC} s (the server is warm by then). The sustained maximum is the highest rate sustained. Rounds are interleaved: bare ws (the A/A control), bare ws, rooms gateway; then bare Socket.IO, chat gateway. The first round starts at ${comparisons.map((c) => `${int(c.plan.startRate)} msg/s (${TARGETS[c.baseline]!.label})`).join(' and ')}, every later ramp at the previous round's bare maximum. Ratios are medians of per-round ratios, the lowest and highest round in brackets.`,
    '',
    "A ramp is **generator-bound** when the generator used more than 90 % of its core at the highest step sustained or the lowest not: its maximum is then a floor of what its server can deliver. With the bare server's ramp generator-bound, the ratio is an upper bound and proves no target met; with ours, a lower bound that proves none missed. When that holds in most rounds, the target is reported not measured.",
    '',
    '| comparison | servers | rounds | sustained msg/s ours / baseline | deliveries/s ours / baseline | ratio | A/A control: baseline / baseline | steps per ramp | generator-bound rounds |',
    '|---|---|---|---|---|---|---|---|---|',
    ...comparisons.map(summaryRow),
    '',
    '| comparison | round | A/A control | baseline | ours | ours / baseline | baseline / control |',
    '|---|---|---|---|---|---|---|',
    ...comparisons.flatMap(roundRows),
    '',
    ...(failures.length ? [`Failed rounds, left out: ${failures.join('; ')}.`, ''] : []),
  ];
}
