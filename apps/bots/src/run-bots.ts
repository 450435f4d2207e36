// The bot fleet: N users log in through the sample app, connect with the SDK's RoomsClient, join one
// room and send at the fleet's rate; every bot counts what it receives from the others, so the report
// says what was sent, delivered, lost, and how long delivery took.
import {
  ConnectionPool,
  RealtimeClientError,
  RoomsClient,
  type RoomMessagePayload,
} from 'nest-realtime-client';
import {
  resolveBotFleetOptions,
  type BotFleetOptions,
  type ResolvedBotFleetOptions,
} from './bot-fleet.options';
import { LatencyRecorder, type LatencySummary } from './latency-recorder';

export interface BotFleetReport {
  bots: number;
  room: string;
  /** Messages the server acknowledged (stored and echoed to the sender). */
  sent: number;
  /** Sends the server refused or that failed, by error code. */
  failed: Record<string, number>;
  /** Deliveries due: every acknowledged message to every other bot. */
  expected: number;
  /** Deliveries that arrived (a duplicate is not counted twice). */
  delivered: number;
  /** expected − delivered once the drain time is over. */
  lost: number;
  duplicates: number;
  /** Connections the bots lost while exchanging (each reconnects by itself and catches up). */
  drops: number;
  /** The most sends one bot had queued at once (its bound: the client's `maxQueueSize`, 1000). */
  peakQueuedSends: number;
  /** Send-to-receipt time of the deliveries, in ms. */
  latencyMs: LatencySummary;
  durationMs: number;
}

interface LoginAnswer {
  token: string;
  user: { id: string; username: string };
}

const CONTENT_PREFIX = 'bot';

async function login(baseUrl: string, username: string): Promise<LoginAnswer> {
  const response = await fetch(`${baseUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  if (!response.ok) throw new Error(`login of ${username} failed: HTTP ${response.status}`);
  return (await response.json()) as LoginAnswer;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Runs the fleet and returns its figures; every connection is closed before it resolves. */
export async function runBots(input: BotFleetOptions): Promise<BotFleetReport> {
  const options = resolveBotFleetOptions(input);
  const runId = Date.now().toString(36);
  const accounts = await Promise.all(
    Array.from({ length: options.count }, (_, i) =>
      login(options.url, `${options.usernamePrefix}-${runId}-${i}`),
    ),
  );
  let next = 0;
  const pool = new ConnectionPool(() => {
    const account = accounts[next++];
    if (!account) throw new Error('more bots than accounts');
    return new RoomsClient({ url: options.url, token: account.token, maxQueueSize: 1000 });
  }, options.count);
  try {
    // Paced at connectRate, so that the fleet stays under the server's handshake limit per address.
    const started = performance.now();
    const bots = await Promise.all(
      accounts.map(async (_, i) => {
        await sleep(started + (i * 1000) / options.connectRate - performance.now());
        return pool.acquire();
      }),
    );
    await Promise.all(bots.map((bot) => bot.joinRoom(options.room)));
    return await exchange(bots, options, runId);
  } finally {
    pool.closeAll();
  }
}

async function exchange(
  bots: RoomsClient[],
  options: ResolvedBotFleetOptions,
  runId: string,
): Promise<BotFleetReport> {
  const marker = `${CONTENT_PREFIX}:${runId}:`;
  const sentAt = new Map<number, number>();
  const received = bots.map(() => new Set<number>());
  const latencies = new LatencyRecorder();
  const failed: Record<string, number> = {};
  let sent = 0;
  let duplicates = 0;
  let drops = 0;
  let peakQueuedSends = 0;

  bots.forEach((bot, index) => {
    bot.onDisconnect(() => {
      drops += 1;
    });
    bot.on('room_message', (message: RoomMessagePayload) => {
      if (!message.content.startsWith(marker) || String(message.user_id) === bot.userId) return;
      const seq = Number(message.content.slice(marker.length));
      const seen = received[index];
      if (!seen) return;
      if (seen.has(seq)) {
        duplicates += 1;
        return;
      }
      seen.add(seq);
      const start = sentAt.get(seq);
      if (start !== undefined) latencies.recordMs(performance.now() - start);
    });
  });

  const inFlight: Array<Promise<void>> = [];
  const started = performance.now();
  const sendingMs = options.durationSec * 1000;
  let seq = 0;
  // Sends what is due at the fleet's rate every few ms, taking the bots in turn.
  while (performance.now() - started < sendingMs) {
    const due = Math.floor(((performance.now() - started) / 1000) * options.rate) + 1;
    while (seq < due && performance.now() - started < sendingMs) {
      const current = seq++;
      const bot = bots[current % bots.length];
      if (!bot) break;
      sentAt.set(current, performance.now());
      peakQueuedSends = Math.max(peakQueuedSends, bot.queuedSends);
      inFlight.push(
        bot.sendRoomMessage(options.room, `${marker}${current}`).then(
          () => {
            sent += 1;
          },
          (error: unknown) => {
            sentAt.delete(current);
            const code = error instanceof RealtimeClientError ? error.code : 'SEND_FAILED';
            failed[code] = (failed[code] ?? 0) + 1;
          },
        ),
      );
    }
    await sleep(Math.max(1, Math.min(20, 1000 / options.rate)));
  }
  await Promise.all(inFlight);

  const expectedFor = () => sentAt.size * (bots.length - 1);
  const deliveredCount = () =>
    received.reduce((sum, seen) => sum + [...seen].filter((id) => sentAt.has(id)).length, 0);
  const drainUntil = performance.now() + options.drainTimeoutMs;
  while (deliveredCount() < expectedFor() && performance.now() < drainUntil) await sleep(20);

  const expected = expectedFor();
  const delivered = deliveredCount();
  const report: BotFleetReport = {
    bots: bots.length,
    room: options.room,
    sent,
    failed,
    expected,
    delivered,
    lost: expected - delivered,
    duplicates,
    drops,
    peakQueuedSends,
    latencyMs: latencies.summary(),
    durationMs: Math.round(performance.now() - started),
  };
  latencies.destroy();
  return report;
}
