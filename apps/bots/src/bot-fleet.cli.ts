// Command-line arguments of `npm run bots`: --url, --count, --room, --rate, --duration, --drain, --connect.
import type { BotFleetOptions } from './bot-fleet.options';
import type { BotFleetReport } from './run-bots';

export const BOT_FLEET_USAGE =
  'usage: npm run bots -- --url http://127.0.0.1:3000 [--count N] [--room general] [--rate R] [--duration S] [--connect C]';

const NUMERIC = {
  count: 'count',
  rate: 'rate',
  duration: 'durationSec',
  drain: 'drainTimeoutMs',
  connect: 'connectRate',
} as const;

export function parseBotFleetArgs(argv: string[]): BotFleetOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (!match?.[1]) throw new TypeError(`unexpected argument "${arg}"\n${BOT_FLEET_USAGE}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new TypeError(`--${match[1]} needs a value\n${BOT_FLEET_USAGE}`);
    values.set(match[1], value);
  }
  const url = values.get('url');
  if (!url) throw new TypeError(`--url is required\n${BOT_FLEET_USAGE}`);
  const options: BotFleetOptions = { url };
  const room = values.get('room');
  if (room !== undefined) options.room = room;
  for (const [flag, key] of Object.entries(NUMERIC)) {
    const raw = values.get(flag);
    if (raw === undefined) continue;
    const value = Number(raw);
    if (Number.isNaN(value)) throw new TypeError(`--${flag} must be a number (got "${raw}")`);
    options[key] = value;
  }
  for (const flag of values.keys()) {
    if (flag !== 'url' && flag !== 'room' && !(flag in NUMERIC))
      throw new TypeError(`unknown option --${flag}\n${BOT_FLEET_USAGE}`);
  }
  return options;
}

export function formatBotFleetReport(report: BotFleetReport): string {
  const failures = Object.entries(report.failed)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  return [
    `bots       ${report.bots} in room "${report.room}" for ${(report.durationMs / 1000).toFixed(1)} s`,
    `sent       ${report.sent}${failures ? `   (refused: ${failures})` : ''}`,
    `delivered  ${report.delivered} of ${report.expected} expected${report.duplicates ? `, ${report.duplicates} duplicates` : ''}`,
    `lost       ${report.lost}`,
    `drops      ${report.drops}   (connections lost during the run; most sends queued at once: ${report.peakQueuedSends})`,
    `latency    p50 ${report.latencyMs.p50} ms   p99 ${report.latencyMs.p99} ms   max ${report.latencyMs.max} ms`,
  ].join('\n');
}
