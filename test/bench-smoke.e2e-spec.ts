// A short run of the benchmark harness (npm run bench -- --smoke): every server starts (and a
// redis-server for the scale-out group), the load generator delivers every message, and the report
// has every figure. Speed is judged by `npm run
// bench` and BENCHMARKS.md, never here.
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { renderMarkdown, type BenchReport } from '../bench/run';

describe('benchmark harness (smoke)', () => {
  it('runs every scenario once and reports complete figures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rt-bench-smoke-'));
    const out = join(dir, 'results.json');
    try {
      const run = spawnSync(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'bench/run.ts', '--smoke'],
        {
          cwd: join(__dirname, '..'),
          env: { ...process.env, BENCH_OUT_JSON: out },
          encoding: 'utf8',
          timeout: 240_000,
        },
      );
      expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({
        status: 0,
        stderr: '',
      });
      const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
      expect(report.smoke).toBe(true);
      expect(report.fanout.map((c) => `${c.ours}/${c.baseline}`)).toEqual([
        'rooms/bareWs',
        'uws/bareWs',
        'chat/bareIo',
      ]);
      for (const comparison of report.fanout) {
        for (const { ours, baseline } of comparison.rounds) {
          for (const side of [ours, baseline]) {
            expect(side.load.published).toBeGreaterThan(0);
            expect(side.load.deliveries).toBe(side.load.expected);
            expect(side.load.p99Ms).toBeGreaterThan(0);
            expect(side.serverCpuMicrosPerDelivery).toBeGreaterThan(0);
            // The split adds up to the whole; the generator's own CPU is counted beside it.
            expect(side.serverUserMicrosPerDelivery).toBeGreaterThan(0);
            expect(side.serverUserMicrosPerDelivery + side.serverSystemMicrosPerDelivery).toBeCloseTo(
              side.serverCpuMicrosPerDelivery,
              6,
            );
            expect(side.generatorCpuMicrosPerDelivery).toBeGreaterThan(0);
          }
        }
        expect(Number.isFinite(comparison.deliveriesRatio)).toBe(true);
        expect(Number.isFinite(comparison.cpuPerDeliveryRatio)).toBe(true);
      }
      // The A/A control of the rooms scenario: a second bare ws process in the same round.
      const [rooms] = report.fanout;
      expect(rooms?.rounds[0]?.control?.load.deliveries).toBe(rooms?.rounds[0]?.control?.load.expected);
      expect(Number.isFinite(rooms?.control?.cpuPerDelivery.median ?? NaN)).toBe(true);
      expect(report.fanout.slice(1).map((c) => c.control)).toEqual([undefined, undefined]);
      // Capacity: each gateway ramped against its bare server, bare ws also against itself (A/A).
      const capacities = report.capacityComparisons ?? [];
      expect(capacities.map((c) => [`${c.ours}/${c.baseline}`, c.rounds.length, c.failures])).toEqual([
        ['rooms/bareWs', 1, []],
        ['chat/bareIo', 1, []],
      ]);
      for (const comparison of capacities) {
        for (const { ours, baseline, control } of comparison.rounds) {
          for (const ramp of [ours, baseline, ...(control ? [control] : [])]) {
            expect(ramp.steps.length).toBeGreaterThan(0);
            expect(ramp.rate).toBeGreaterThan(0);
          }
        }
        expect(Number.isFinite(comparison.ratio.median)).toBe(true);
      }
      expect(Number.isFinite(capacities[0]?.control?.median ?? NaN)).toBe(true);
      expect(capacities[1]?.control).toBeUndefined();
      // Open loop at half of bare ws capacity: half of the bare ws ramp above, both sides ran at half.
      expect(report.capacity).toEqual(capacities[0]?.rounds[0]?.baseline);
      expect(report.halfLoad).toMatchObject({
        ours: 'rooms',
        baseline: 'bareWs',
        rate: Math.max(1, Math.round(report.capacity.rate / 2)),
      });
      for (const { ours, baseline } of report.halfLoad.rounds) {
        for (const side of [ours, baseline]) {
          expect(side.load.deliveries).toBe(side.load.expected);
          expect(side.load.p99Ms).toBeGreaterThan(0);
        }
      }
      expect(Number.isFinite(report.halfLoad.p99Ratio)).toBe(true);
      // Scale-out: the same fan-out on one node and on two nodes through a real redis-server, with
      // the members split between the nodes and the CPU of every server-side process counted.
      const scaleout = report.scaleout!;
      expect(scaleout.failures).toEqual([]);
      expect(scaleout.rounds).toHaveLength(1);
      for (const { oneNode, twoNodes } of scaleout.rounds) {
        for (const side of [oneNode, twoNodes]) {
          expect(side.load.published).toBeGreaterThan(0);
          expect(side.load.deliveries).toBe(side.load.expected);
          expect(side.load.p99Ms).toBeGreaterThan(0);
          expect(side.cpuMicrosPerDelivery).toBeCloseTo(
            side.processes.reduce((sum, p) => sum + p.cpuMicrosPerDelivery, 0),
            6,
          );
        }
        expect(oneNode.processes.map((p) => p.name)).toEqual(['node']);
        expect(twoNodes.processes.map((p) => p.name)).toEqual(['node A', 'node B', 'redis-server']);
        // Both nodes work; redis-server's /proc ticks are 10 ms, which a 1 s smoke window may not reach.
        for (const node of [...oneNode.processes, ...twoNodes.processes.slice(0, 2)]) {
          expect(node.cpuMicrosPerDelivery).toBeGreaterThan(0);
        }
        expect(twoNodes.processes[2]!.cpuMicrosPerDelivery).toBeGreaterThanOrEqual(0);
        // Half of the members on each node, and the ones on node B got every message through Redis.
        const half = scaleout.subscribers / 2;
        expect(twoNodes.load.byUrl?.map((n) => n.members)).toEqual([half, half]);
        for (const node of twoNodes.load.byUrl ?? []) {
          expect(node.deliveries).toBe(twoNodes.load.published * half);
        }
        // The relay of each message to the other node went through redis-server: one PUBLISH per
        // message, less the few still on their way when the window's last INFO was read.
        expect(twoNodes.redisCallsPerMessage?.publish).toBeGreaterThanOrEqual(0.9);
      }
      expect(Number.isFinite(scaleout.cpuPerDeliveryRatio)).toBe(true);
      // Log stream: entries posted over HTTP reach every subscriber, on ours and on the baseline.
      expect(report.logs.rounds).toHaveLength(1);
      for (const { ours, baseline, control } of report.logs.rounds) {
        // The A/A control is a second bare relay, measured as the baseline is.
        expect(control).toBeDefined();
        for (const side of [ours, baseline, control!]) {
          expect(side.load.failedRequests).toBe(0);
          expect(side.load.ingested).toBeGreaterThan(0);
          expect(side.load.deliveries).toBe(side.load.ingested * report.logs.subscribers);
          expect(side.load.p99Ms).toBeGreaterThan(0);
          expect(side.load.loadgenCpuPercent).toBeGreaterThan(0);
        }
      }
      expect(Number.isFinite(report.logs.ingestedRatio)).toBe(true);
      expect(Number.isFinite(report.logs.control?.cpuPerDelivery.median ?? NaN)).toBe(true);
      expect(report.idle.map((i) => [i.target, i.connections])).toEqual([
        ['bareWs', 50],
        ['rooms', 50],
        ['bareIo', 50],
        ['chat', 50],
      ]);
      // Connections at scale: each gateway and its bare server with the JWT check held every
      // connection (members and the publisher), from several source addresses under the library's
      // default per-address limits, and every broadcast reached every member.
      const connections = report.connections ?? [];
      expect(connections.map((c) => [`${c.ours}/${c.baseline}`, c.rounds.length, c.failures])).toEqual([
        ['rooms/bareWsAuth', 1, []],
        ['chat/bareIoAuth', 1, []],
      ]);
      for (const comparison of connections) {
        expect(comparison.addresses).toBeGreaterThan(1);
        for (const { ours, baseline } of comparison.rounds) {
          for (const side of [ours, baseline]) {
            expect(side.connections).toBe(comparison.plan.connections + 1);
            expect(side.connect.handshakesPerSec).toBeGreaterThan(0);
            expect(side.memory.heapPerConnection).toBeGreaterThan(0);
            expect(side.broadcast.published).toBe(comparison.plan.messages);
            expect(side.broadcast.deliveries).toBe(comparison.plan.messages * comparison.plan.connections);
            expect(side.broadcast.p99Ms).toBeGreaterThan(0);
            expect(side.broadcast.serverCpuMicrosPerDelivery).toBeGreaterThan(0);
          }
        }
        for (const ratio of [
          comparison.heapRatio,
          comparison.handshakeRatio,
          comparison.cpuPerDeliveryRatio,
        ]) {
          expect(Number.isFinite(ratio.median)).toBe(true);
        }
      }
      expect(report.history).toMatchObject({ messages: 5000, queries: 50, limit: 50 });
      expect(report.history.p99Ms).toBeGreaterThan(0);
      // The CPU split table has a figure in every cell of every row.
      const markdown = renderMarkdown(report);
      const from = markdown.indexOf('## Server CPU split');
      const split = markdown.slice(from, markdown.indexOf('\n## ', from + 1));
      const rows = split.split('\n').filter((line) => /^\| (rooms|uWS|chat)/.test(line));
      expect(rows).toHaveLength(report.fanout.length + 1);
      for (const row of rows) expect(row).not.toContain('n/a');
      // The capacity targets have their figure, the A/A control beside it, and a verdict.
      const capacityTargets = markdown
        .split('\n')
        .filter((line) => line.includes('sustained capacity ≥ 0.95'));
      expect(capacityTargets).toHaveLength(2);
      for (const row of capacityTargets)
        expect(row).toMatch(/^\| [^|]+ \| \d\.\d\d × [^|]*\| bare ws \d\.\d\d × \| (met|\*\*not met)/);
      const capacityFrom = markdown.indexOf('## Capacity');
      expect(markdown.slice(capacityFrom, markdown.indexOf('\n## ', capacityFrom + 1))).not.toContain('n/a');
      // So has the scale-out section.
      const scaleoutFrom = markdown.indexOf('## Scale-out');
      const scaleoutSection = markdown.slice(scaleoutFrom, markdown.indexOf('\n## ', scaleoutFrom + 1));
      expect(scaleoutSection).toContain('| two nodes / one node |');
      expect(scaleoutSection).not.toContain('n/a');
      // The connections section has every figure, and its targets a verdict beside their figure.
      const connectionsFrom = markdown.indexOf('## Connections at scale');
      const connectionsSection = markdown.slice(
        connectionsFrom,
        markdown.indexOf('\n## ', connectionsFrom + 1),
      );
      expect(connectionsSection).toContain(
        '### chat gateway (Socket.IO) against bare Socket.IO with the JWT check',
      );
      expect(connectionsSection).not.toContain('n/a');
      const connectionTargets = markdown
        .split('\n')
        .filter(
          (line) => line.startsWith('| ') && line.includes('connections) |') && line.includes('≤ 1.2 ×'),
        );
      expect(connectionTargets).toHaveLength(6);
      for (const row of connectionTargets)
        expect(row).toMatch(/ \d\.\d\d × [^|]*\| — \| (met|\*\*not met\*\*) \|$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
