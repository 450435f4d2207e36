// Soak: 500 simulated clients (the bot fleet) for 60 s against the sample app in its own process, on
// loopback, with the rate limits raised: nothing lost, nothing duplicated, no error, no connection
// dropped, every client's send queue within its bound. The server's heap after a full GC, once warm
// and at the end of the run, is printed as a figure (not asserted). `npm run test:soak`; .ci/run runs
// it after the other suites. SOAK_BOTS / SOAK_SECONDS shorten it for a local try.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { runBots, type BotFleetReport } from '../../apps/bots/src';
import { freePort } from '../support/free-port';
import { heapAfterGc, type HeapFigures } from '../support/inspector';
import { startSampleNode, type SampleNode } from '../support/sample-node';

const BOTS = Number(process.env.SOAK_BOTS ?? 500);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
/** Messages per second from the whole fleet: each reaches the 499 other bots (about 20,000 deliveries/s). */
const RATE = 40;
const CONNECT_RATE = 50;
/** The SDK's default bound on one client's queued sends. */
const MAX_QUEUE = 1000;

/** The value of a Prometheus series without labels in GET /metrics, or undefined. */
async function metric(node: SampleNode, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://${node.address}/metrics`)).text();
  const line = text.split('\n').find((row) => row.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('soak: the bot fleet against one node', () => {
  let node: SampleNode;
  let dataDir: string;
  let inspectorPort: number;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rt-soak-'));
    inspectorPort = await freePort();
    node = await startSampleNode({
      name: 'soak',
      env: {
        DATA_DIR: dataDir,
        RATE_LIMIT_PER_MINUTE: '600',
        RATE_LIMIT_PER_HOUR: '36000',
        NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}`,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${BOTS} clients for ${SECONDS} s: zero lost, zero duplicated, no error, no drop, queues bounded`, async () => {
    const connectMs = (BOTS * 1000) / CONNECT_RATE;
    const heap: { warm?: HeapFigures; end?: HeapFigures } = {};
    // Once every bot is connected and the exchange has run for a few seconds, then near its end.
    const measure = (key: 'warm' | 'end') => () =>
      void heapAfterGc(inspectorPort).then(
        (figures) => (heap[key] = figures),
        (error: unknown) => console.warn(`soak: no heap figure (${String(error)})`),
      );
    const warm = setTimeout(measure('warm'), connectMs + 8000);
    const end = setTimeout(measure('end'), connectMs + 3000 + SECONDS * 1000 - 5000);
    let report: BotFleetReport;
    try {
      report = await runBots({
        url: `http://${node.address}`,
        count: BOTS,
        room: 'soak',
        rate: RATE,
        durationSec: SECONDS,
        drainTimeoutMs: 30_000,
        connectRate: CONNECT_RATE,
      });
    } finally {
      clearTimeout(warm);
      clearTimeout(end);
    }
    const errorsSent = await metric(node, 'realtime_errors_sent_total');
    const figures = { report, errorsSent, heap };
    mkdirSync(resolve('reports'), { recursive: true });
    writeFileSync(resolve('reports/soak.json'), JSON.stringify(figures, null, 2));
    console.log(
      `soak: ${report.bots} bots, ${report.sent} sent, ${report.delivered}/${report.expected} delivered, ` +
        `p99 ${report.latencyMs.p99} ms; server heap after GC ${mb(heap.warm?.heapUsed)} MB warm, ` +
        `${mb(heap.end?.heapUsed)} MB at the end (rss ${mb(heap.warm?.rss)} → ${mb(heap.end?.rss)} MB)`,
    );

    expect(report.bots).toBe(BOTS);
    expect(report.failed).toEqual({});
    expect(report.sent).toBeGreaterThanOrEqual(Math.floor(RATE * SECONDS * 0.9));
    expect(report.expected).toBe(report.sent * (BOTS - 1));
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
    expect(report.drops).toBe(0);
    expect(report.peakQueuedSends).toBeLessThanOrEqual(MAX_QUEUE);
    expect(errorsSent).toBe(0);
    expect(node.output()).not.toMatch(/\bERROR\b/);
  }, 300_000);
});

function mb(bytes: number | undefined): string {
  return bytes === undefined ? '?' : (bytes / 1024 / 1024).toFixed(1);
}
