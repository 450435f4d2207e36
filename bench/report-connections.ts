// The report's connections section: each gateway holding as many connections as one process can,
// against its bare server with the same JWT check; the targets' rows and the extrapolation to 100,000
// connections per node (bench/report.ts).
import { median, type RatioSummary } from './runner';
import { fmt, int, ratioText } from './report-format';
import type { ConnectionsComparison, ConnectionsSide } from './scenarios/connections';
import { TARGETS } from './targets';
import { judge, type RatioTarget, type Verdict } from './verdict';

const TITLE = '## Connections at scale';

/** Connections per node the extrapolation is made for. */
export const EXTRAPOLATED_CONNECTIONS = 100_000;

/** A row of the targets table (the shape of bench/report.ts's TargetRow). */
export interface ConnectionsTargetRow {
  name: string;
  figure: string;
  control: string;
  verdict: Verdict | 'not measured';
}

const MEMORY_TARGET: RatioTarget = { limit: 1.2, bound: 'atMost' };
const HANDSHAKE_TARGET: RatioTarget = { limit: 0.8, bound: 'atLeast' };
const CPU_TARGET: RatioTarget = { limit: 1.2, bound: 'atMost' };

/** The generators' core above this share in the connect phase: the rate is theirs as much as the server's. */
const GENERATOR_BOUND_PERCENT = 90;

type Side = 'ours' | 'baseline';

const sideMedian = (c: ConnectionsComparison, side: Side, pick: (s: ConnectionsSide) => number): number =>
  median(c.rounds.map((r) => pick(r[side])));

const kb = (bytes: number): string => `${fmt(bytes / 1024, 1)} KB`;
const mb = (bytes: number): string => `${int(bytes / 2 ** 20)} MB`;

/** Rounds whose connect phase had the generators' core above GENERATOR_BOUND_PERCENT on `side`. */
function generatorBoundRounds(c: ConnectionsComparison, side: Side): number {
  return c.rounds.filter((r) => r[side].connect.generatorCpuPercent > GENERATOR_BOUND_PERCENT).length;
}

/** RSS (or heap) of a node holding EXTRAPOLATED_CONNECTIONS: the fresh server's plus the measured cost per connection. */
export function extrapolated(c: ConnectionsComparison, side: Side, what: 'rss' | 'heap'): number {
  const base = sideMedian(c, side, (s) => (what === 'rss' ? s.memory.rssBefore : s.memory.heapBefore));
  const perConnection = sideMedian(c, side, (s) =>
    what === 'rss' ? s.memory.rssPerConnection : s.memory.heapPerConnection,
  );
  return base + perConnection * EXTRAPOLATED_CONNECTIONS;
}

function ratioRow(name: string, s: RatioSummary, target: RatioTarget): ConnectionsTargetRow {
  return { name, figure: `${ratioText(s)}`, control: '—', verdict: judge(s.median, target, undefined) };
}

/** The issue's targets for one transport, judged on the figure alone (no A/A control in this group). */
function transportRows(c: ConnectionsComparison): ConnectionsTargetRow[] {
  const gateway = TARGETS[c.ours]!.label;
  const bare = c.transport === 'ws' ? 'bare ws' : 'bare Socket.IO';
  const at = `${int(c.plan.connections)} connections`;
  const handshakes = ratioRow(
    `${gateway} handshakes/s (JWT verified) ≥ 0.8 × ${bare} with the same check (${at})`,
    c.handshakeRatio,
    HANDSHAKE_TARGET,
  );
  // With the generators' core saturated, a side's rate is a floor of what its server would take:
  // on the bare side the ratio is then an upper bound (a "met" proves nothing), on ours a lower one.
  const bareBound = generatorBoundRounds(c, 'baseline');
  const oursBound = generatorBoundRounds(c, 'ours');
  const boundNote = [
    bareBound
      ? `bare's generators above ${GENERATOR_BOUND_PERCENT} % of their core in ${bareBound} of ${c.rounds.length} rounds (its rate a floor)`
      : '',
    oursBound
      ? `ours' above ${GENERATOR_BOUND_PERCENT} % in ${oursBound} of ${c.rounds.length} rounds (our rate a floor)`
      : '',
  ]
    .filter(Boolean)
    .join(', ');
  const received = c.rounds.reduce((sum, r) => sum + r.ours.broadcast.deliveries, 0);
  const expected = c.rounds.reduce((sum, r) => sum + r.ours.broadcast.expected, 0);
  const everyDelivery = c.rounds.length > 0 && c.failures.length === 0 && received === expected;
  return [
    ratioRow(`${gateway} heap per connection ≤ 1.2 × ${bare} (${at})`, c.heapRatio, MEMORY_TARGET),
    ratioRow(`${gateway} RSS per connection ≤ 1.2 × ${bare} (${at})`, c.rssRatio, MEMORY_TARGET),
    {
      ...handshakes,
      figure: boundNote ? `${handshakes.figure}; ${boundNote}` : handshakes.figure,
      verdict:
        handshakes.verdict === 'met' && bareBound * 2 >= c.rounds.length
          ? 'not measured'
          : handshakes.verdict,
    },
    {
      name: `${gateway} broadcast of 200 bytes once a second to ${at}: every delivery arrives`,
      figure: `${int(received)} of ${int(expected)} over ${c.rounds.length} rounds${c.failures.length ? `; ${c.failures.length} round(s) failed` : ''}`,
      control: '—',
      verdict: everyDelivery ? 'met' : 'not met',
    },
    ratioRow(
      `${gateway} broadcast server CPU per delivery ≤ 1.2 × ${bare} (${at})`,
      c.cpuPerDeliveryRatio,
      CPU_TARGET,
    ),
  ];
}

export function connectionsTargetRows(
  comparisons: ConnectionsComparison[] | undefined,
): ConnectionsTargetRow[] {
  if (!comparisons || comparisons.length === 0) {
    return [
      {
        name: 'connections at scale (memory, handshakes, broadcast) against bare ws and bare Socket.IO',
        figure: 'not in this results file (`npm run bench -- --only=connections`)',
        control: '—',
        verdict: 'not measured',
      },
    ];
  }
  return comparisons.flatMap(transportRows);
}

/** Reported beside the targets, without a verdict: the broadcast p99 and the extrapolated RSS. */
export function connectionsReported(
  comparisons: ConnectionsComparison[] | undefined,
): Array<[string, string]> {
  return (comparisons ?? []).flatMap((c): Array<[string, string]> => {
    if (c.rounds.length === 0) return [];
    const gateway = TARGETS[c.ours]!.label;
    return [
      [
        `${gateway} broadcast p99 at ${int(c.plan.connections)} connections (ours / bare)`,
        `${fmt(
          sideMedian(c, 'ours', (s) => s.broadcast.p99Ms),
          1,
        )} / ${fmt(
          sideMedian(c, 'baseline', (s) => s.broadcast.p99Ms),
          1,
        )} ms, ${ratioText(c.p99Ratio)}`,
      ],
      [
        `${gateway} RSS at ${int(EXTRAPOLATED_CONNECTIONS)} connections per node, extrapolated`,
        `${mb(extrapolated(c, 'ours', 'rss'))} (bare ${mb(extrapolated(c, 'baseline', 'rss'))})`,
      ],
    ];
  });
}

function table(c: ConnectionsComparison): string[] {
  const o = (pick: (s: ConnectionsSide) => number): number => sideMedian(c, 'ours', pick);
  const b = (pick: (s: ConnectionsSide) => number): number => sideMedian(c, 'baseline', pick);
  const both = (pick: (s: ConnectionsSide) => number, show: (n: number) => string): string =>
    `${show(o(pick))} | ${show(b(pick))}`;
  const latency = (side: Side): string => {
    const m = (pick: (s: ConnectionsSide) => number) => sideMedian(c, side, pick);
    return `${fmt(
      m((s) => s.broadcast.p50Ms),
      1,
    )} / ${fmt(
      m((s) => s.broadcast.p99Ms),
      1,
    )} / ${fmt(
      m((s) => s.broadcast.maxMs),
      1,
    )}`;
  };
  const deliveries = (side: Side): string =>
    `${int(c.rounds.reduce((sum, r) => sum + r[side].broadcast.deliveries, 0))} / ${int(c.rounds.reduce((sum, r) => sum + r[side].broadcast.expected, 0))}`;
  const percent = (n: number): string => `${fmt(n, 0)} %`;
  const µs = (n: number): string => fmt(n, 2);
  return [
    `### ${TARGETS[c.ours]!.label} against ${TARGETS[c.baseline]!.label}`,
    '',
    '| | ours | bare | ours / bare |',
    '|---|---|---|---|',
    `| connections held (the server's count) | ${both((s) => s.connections, int)} | |`,
    `| handshakes/s, connect phase (token verified) | ${both((s) => s.connect.handshakesPerSec, int)} | ${ratioText(c.handshakeRatio)} |`,
    `| server CPU µs per handshake | ${both(
      (s) => s.connect.serverCpuMicrosPerHandshake,
      (n) => fmt(n, 0),
    )} | |`,
    `| generators' CPU in the connect phase (one core) | ${both((s) => s.connect.generatorCpuPercent, percent)} | |`,
    `| join phase, s | ${both(
      (s) => s.joinSeconds,
      (n) => fmt(n, 1),
    )} | |`,
    `| heap per connection (after GC) | ${both((s) => s.memory.heapPerConnection, kb)} | ${ratioText(c.heapRatio)} |`,
    `| RSS per connection (after GC) | ${both((s) => s.memory.rssPerConnection, kb)} | ${ratioText(c.rssRatio)} |`,
    `| fresh server heap / RSS (after GC) | ${mb(o((s) => s.memory.heapBefore))} / ${mb(o((s) => s.memory.rssBefore))} | ${mb(b((s) => s.memory.heapBefore))} / ${mb(b((s) => s.memory.rssBefore))} | |`,
    `| broadcast deliveries received / expected, all rounds | ${deliveries('ours')} | ${deliveries('baseline')} | |`,
    `| broadcast latency p50 / p99 / max, ms | ${latency('ours')} | ${latency('baseline')} | p99 ${ratioText(c.p99Ratio)} |`,
    `| server CPU µs per delivery (user / system) | ${µs(o((s) => s.broadcast.serverCpuMicrosPerDelivery))} (${µs(o((s) => s.broadcast.serverUserMicrosPerDelivery))} / ${µs(o((s) => s.broadcast.serverSystemMicrosPerDelivery))}) | ${µs(b((s) => s.broadcast.serverCpuMicrosPerDelivery))} (${µs(b((s) => s.broadcast.serverUserMicrosPerDelivery))} / ${µs(b((s) => s.broadcast.serverSystemMicrosPerDelivery))}) | ${ratioText(c.cpuPerDeliveryRatio)} |`,
    `| generators' CPU µs per delivery | ${both((s) => s.broadcast.generatorCpuMicrosPerDelivery, µs)} | |`,
    `| RSS / heap at ${int(EXTRAPOLATED_CONNECTIONS)} connections, extrapolated | ${mb(extrapolated(c, 'ours', 'rss'))} / ${mb(extrapolated(c, 'ours', 'heap'))} | ${mb(extrapolated(c, 'baseline', 'rss'))} / ${mb(extrapolated(c, 'baseline', 'heap'))} | |`,
    '',
    `${c.rounds.length} round(s)${c.failures.length ? `; **failed, left out**: ${c.failures.join('; ')}` : ''}.`,
    '',
  ];
}

export function connectionsSection(comparisons: ConnectionsComparison[] | undefined): string[] {
  if (!comparisons || comparisons.length === 0) {
    return [TITLE, '', 'Not in this results file: `npm run bench -- --only=connections` measures it.', ''];
  }
  const { plan, addresses } = comparisons[0]!;
  return [
    `${TITLE} (${int(plan.connections)} connections per server process)`,
    '',
    `One server process holds ${int(plan.connections)} authenticated connections and one publisher, every one joined to one room (the descriptor limit here is 20,000 per process and cannot be raised). ${plan.generators} generator processes (bench/conn-loadgen.ts, core 1) hold a slice each and open it ${plan.concurrency} handshakes at a time, from ${addresses} loopback source addresses (127.0.1.1 onward, at most ${plan.perAddress} connections each): the sample app runs with the library's **default** per-address limits (\`maxConnectionsPerIp\` 1000, \`maxHandshakesPerSecondPerIp\` 100), and a refused handshake, an error frame, a dropped connection or a missing delivery fails the round. The baselines are the bare servers of the fan-out group with the gateways' check at the handshake (\`jsonwebtoken.verify\`, HS256: the \`token\` query parameter on the upgrade, \`auth.token\` in a Socket.IO middleware).`,
    '',
    `- **Handshakes/s**: connections established (token verified) by all generators together over the wall time of the connect phase; the joins follow as a separate phase. The connections belong to ${plan.users} users (connection k to user k mod ${plan.users}), as in the idle group, each with a token of its own (a \`jti\` claim: the library remembers tokens it verified, and repeated tokens would leave most signature checks out): each user's first connection is announced to the room (\`user_connected\`) or to every Socket.IO socket (\`userStatus\`), and ${int(plan.connections)} distinct users would turn the connect phase into a presence storm of n²/2 notices, which bare servers do not send. The teardown closes the generators last to first so that users go offline only when a few hundred connections remain.`,
    '- **Memory**: heap and RSS of the server after two forced GCs, on the fresh server and once every connection has joined, divided by the connections held.',
    `- **Broadcast**: ${plan.warmupMessages} warm-up message(s), then ${plan.messages} messages of ${plan.bytes} bytes ${plan.intervalMs} ms apart; every member counts what it receives and the latency from the send time in the content (one clock on one machine). Server CPU (user + system, all threads, its own \`cpuUsage\`) from the first measured message to the last delivery, divided by the deliveries. The gateways' heartbeats (ws pings, Socket.IO's ping) to ${int(plan.connections)} connections fall in that window too.`,
    `- **Extrapolation to ${int(EXTRAPOLATED_CONNECTIONS)} connections per node**: the fresh server's RSS (or heap) after GC plus ${int(EXTRAPOLATED_CONNECTIONS)} × the measured cost per connection. What a host sets to get there: README, *Several nodes*.`,
    '- Rounds are interleaved (bare, ours, bare, ours), each side a fresh server; ratios are medians of per-round ratios, the lowest and highest round in brackets. There is no A/A control in this group: the targets are judged on the figure alone.',
    '',
    ...comparisons.flatMap(table),
  ];
}
