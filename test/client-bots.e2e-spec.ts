// The bot fleet against the real sample app: runBots() logs in, connects and exchanges messages with
// nothing lost; the CLI prints the figures and refuses non-loopback servers and unbounded runs.
import { execFile } from 'child_process';
import { join } from 'path';
import { promisify } from 'util';
import { BOT_FLEET_LIMITS, parseBotFleetArgs, resolveBotFleetOptions, runBots } from '../apps/bots/src';
import { RestartableSample } from './support/client-sample';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

/** Runs `npm run bots` as a user would (ts-node), returning its exit code and output. */
async function botsCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        join(ROOT, 'node_modules/ts-node/dist/bin.js'),
        '--transpile-only',
        '-r',
        'tsconfig-paths/register',
        join(ROOT, 'apps/bots/src/main.ts'),
        ...args,
      ],
      { cwd: ROOT, timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('bot fleet', () => {
  const sample = new RestartableSample();

  beforeAll(() => sample.start());
  afterAll(() => sample.dispose());

  it('runBots: every message reaches every other bot, nothing lost, with latency figures', async () => {
    const report = await runBots({ url: sample.url, count: 4, room: 'general', rate: 20, durationSec: 1 });
    expect(report.bots).toBe(4);
    expect(report.failed).toEqual({});
    expect(report.sent).toBeGreaterThanOrEqual(15);
    expect(report.sent).toBeLessThanOrEqual(21);
    expect(report.expected).toBe(report.sent * 3);
    expect(report.delivered).toBe(report.expected);
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
    expect(report.drops).toBe(0);
    expect(report.peakQueuedSends).toBeLessThanOrEqual(1000);
    expect(report.latencyMs.p50).toBeGreaterThan(0);
    expect(report.latencyMs.p50).toBeLessThanOrEqual(report.latencyMs.p99);
    expect(report.latencyMs.p99).toBeLessThanOrEqual(report.latencyMs.max);
  });

  it('the CLI prints sent, delivered, lost and latency percentiles', async () => {
    const { code, stdout } = await botsCli([
      '--url',
      sample.url,
      '--count',
      '3',
      '--room',
      'general',
      '--rate',
      '10',
      '--duration',
      '1',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^bots\s+3 in room "general"/m);
    const sent = Number(/^sent\s+(\d+)/m.exec(stdout)?.[1]);
    expect(sent).toBeGreaterThan(5);
    expect(stdout).toMatch(new RegExp(`^delivered\\s+${sent * 2} of ${sent * 2} expected`, 'm'));
    expect(stdout).toMatch(/^lost\s+0$/m);
    expect(stdout).toMatch(/^latency\s+p50 [\d.]+ ms\s+p99 [\d.]+ ms\s+max [\d.]+ ms$/m);
  }, 60_000);

  it('the CLI refuses a server that is not on loopback, before any connection', async () => {
    const { code, stderr } = await botsCli(['--url', 'http://example.com:3000', '--count', '1']);
    expect(code).toBe(2);
    expect(stderr).toContain('refusing example.com: the bot fleet only talks to a loopback server');
  }, 60_000);

  it('accepts loopback addresses only and bounds count, rate and duration', () => {
    for (const url of [
      'http://127.0.0.1:3000',
      'http://localhost:3000',
      'http://[::1]:3000',
      'ws://127.0.0.2:1',
    ]) {
      expect(() => resolveBotFleetOptions({ url })).not.toThrow();
    }
    for (const url of [
      'http://10.0.0.1:3000',
      'http://192.168.1.2',
      'http://localhost.evil.com',
      'ftp://127.0.0.1',
    ]) {
      expect(() => resolveBotFleetOptions({ url })).toThrow();
    }
    const url = 'http://127.0.0.1:3000';
    expect(() => resolveBotFleetOptions({ url, count: BOT_FLEET_LIMITS.maxCount + 1 })).toThrow(/count/);
    expect(() => resolveBotFleetOptions({ url, count: 0 })).toThrow(/count/);
    expect(() => resolveBotFleetOptions({ url, count: 1.5 })).toThrow(/count/);
    expect(() => resolveBotFleetOptions({ url, rate: BOT_FLEET_LIMITS.maxRate + 1 })).toThrow(/rate/);
    expect(() => resolveBotFleetOptions({ url, durationSec: BOT_FLEET_LIMITS.maxDurationSec + 1 })).toThrow(
      /duration/,
    );
    expect(resolveBotFleetOptions({ url, count: 500 }).count).toBe(500);
    expect(resolveBotFleetOptions({ url }).connectRate).toBe(50);
    expect(() => resolveBotFleetOptions({ url, connectRate: 0 })).toThrow(/connectRate/);
    expect(() => resolveBotFleetOptions({ url, connectRate: BOT_FLEET_LIMITS.maxConnectRate + 1 })).toThrow(
      /connectRate/,
    );
  });

  it('parses the documented flags, in both --flag value and --flag=value forms', () => {
    expect(
      parseBotFleetArgs([
        '--url',
        'http://127.0.0.1:3000',
        '--count',
        '5',
        '--room=lobby',
        '--rate',
        '2.5',
        '--duration=3',
        '--connect',
        '20',
      ]),
    ).toEqual({
      url: 'http://127.0.0.1:3000',
      count: 5,
      room: 'lobby',
      rate: 2.5,
      durationSec: 3,
      connectRate: 20,
    });
    expect(() => parseBotFleetArgs(['--count', '5'])).toThrow(/--url is required/);
    expect(() => parseBotFleetArgs(['--url', 'http://127.0.0.1', '--bogus', '1'])).toThrow(
      /unknown option --bogus/,
    );
    expect(() => parseBotFleetArgs(['--url', 'http://127.0.0.1', '--count', 'many'])).toThrow(
      /must be a number/,
    );
  });
});
