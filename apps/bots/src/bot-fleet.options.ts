// Options of the bot fleet, validated once: loopback servers only, and bounded in bots, rate and time,
// so that the fleet cannot be pointed at someone else's server or left running.

export interface BotFleetOptions {
  /** Sample app base URL; loopback only (localhost, 127.0.0.0/8, ::1). */
  url: string;
  /** Simulated users, each with its own login and connection. @default 10 */
  count?: number;
  /** Room every bot joins and talks in. @default 'general' */
  room?: string;
  /** Messages per second sent by the whole fleet, spread over the bots in turn. @default 5 */
  rate?: number;
  /** Sending time, in seconds. @default 10 */
  durationSec?: number;
  /** Time allowed after the last send for the last deliveries, in ms. @default 5000 */
  drainTimeoutMs?: number;
  /**
   * New connections per second while the fleet connects, so that it stays under the server's limit of
   * handshakes per second from one address (`limits.maxHandshakesPerSecondPerIp`, 100 by default). @default 50
   */
  connectRate?: number;
  /** Prefix of the bots' user names; a run id is appended so that runs do not share users. @default 'bot' */
  usernamePrefix?: string;
}

export type ResolvedBotFleetOptions = Required<BotFleetOptions>;

export const BOT_FLEET_LIMITS = {
  maxCount: 500,
  maxRate: 1000,
  maxConnectRate: 1000,
  maxDurationSec: 300,
  maxDrainTimeoutMs: 60_000,
};

const LOOPBACK_HOSTS = new Set(['localhost', '::1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function bounded(name: string, value: number, min: number, max: number, integer: boolean): number {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `invalid ${name}: must be ${integer ? 'an integer ' : ''}from ${min} to ${max} (got ${value})`,
    );
  }
  return value;
}

export function resolveBotFleetOptions(options: BotFleetOptions): ResolvedBotFleetOptions {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError(`invalid url: ${options.url}`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new TypeError(`invalid url: ${options.url} (http, https, ws or wss)`);
  }
  if (!isLoopbackHost(url.hostname)) {
    throw new RangeError(`refusing ${url.hostname}: the bot fleet only talks to a loopback server`);
  }
  const room = options.room ?? 'general';
  if (room.trim() === '') throw new TypeError('invalid room: empty');
  return {
    url: url.origin.replace(/^ws/, 'http'),
    count: bounded('count', options.count ?? 10, 1, BOT_FLEET_LIMITS.maxCount, true),
    room,
    rate: bounded('rate', options.rate ?? 5, 0.1, BOT_FLEET_LIMITS.maxRate, false),
    durationSec: bounded('duration', options.durationSec ?? 10, 0.1, BOT_FLEET_LIMITS.maxDurationSec, false),
    drainTimeoutMs: bounded(
      'drainTimeoutMs',
      options.drainTimeoutMs ?? 5000,
      0,
      BOT_FLEET_LIMITS.maxDrainTimeoutMs,
      true,
    ),
    connectRate: bounded('connectRate', options.connectRate ?? 50, 1, BOT_FLEET_LIMITS.maxConnectRate, false),
    usernamePrefix: options.usernamePrefix ?? 'bot',
  };
}
