// Clients that misbehave on purpose, for the flood and slow-client specs: connection attempts that each
// end accepted, refused (with the coded error the server gave) or hung (no answer within a bounded
// wait), run with bounded concurrency; and readers whose socket stops reading while the server writes.
import type { Socket as NetSocket } from 'net';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

const ATTEMPT_WAIT_MS = 15_000;

/** How one connection attempt ended. */
export type AttemptOutcome =
  | { kind: 'accepted'; close(): void }
  | { kind: 'refused'; code: string; details: Record<string, unknown>; closeCode: number | null }
  | { kind: 'hung' | 'failed'; reason: string };

interface ErrorFrame {
  type: string;
  data?: { code?: unknown; details?: unknown };
  payload?: { code?: unknown; details?: unknown };
}

function settleWithin(
  timeoutMs: number,
  body: (settle: (outcome: AttemptOutcome) => void) => void,
): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = setTimeout(
      () => settle({ kind: 'hung', reason: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    function settle(outcome: AttemptOutcome): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    }
    body(settle);
  });
}

/**
 * One raw ws attempt: accepted once the server answers a `ping` (in the rooms endpoint's `data`
 * envelope, or the log stream's `payload` one), refused when it sends an `error` frame and closes
 * (its code, details and close code kept).
 */
export function attemptRawWs(
  url: string,
  options: WebSocket.ClientOptions & { envelope?: 'data' | 'payload' } = {},
  timeoutMs = ATTEMPT_WAIT_MS,
): Promise<AttemptOutcome> {
  const { envelope = 'data', ...wsOptions } = options;
  return settleWithin(timeoutMs, (settle) => {
    const ws = new WebSocket(url, wsOptions);
    let refusal: { code: string; details: Record<string, unknown> } | null = null;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'ping', [envelope]: {} })));
    ws.on('message', (raw) => {
      const frame = JSON.parse((raw as Buffer).toString('utf8')) as ErrorFrame;
      if (frame.type === 'pong') settle({ kind: 'accepted', close: () => ws.close() });
      const error =
        frame.type === 'error' || frame.type === 'auth_error' ? (frame.data ?? frame.payload) : null;
      if (error && typeof error.code === 'string') {
        refusal = { code: error.code, details: (error.details ?? {}) as Record<string, unknown> };
      }
    });
    ws.on('close', (closeCode) =>
      settle(
        refusal
          ? { kind: 'refused', ...refusal, closeCode }
          : { kind: 'failed', reason: `closed with ${closeCode} and no error frame` },
      ),
    );
    ws.on('error', (error) => settle({ kind: 'failed', reason: error.message }));
  });
}

/** One Socket.IO attempt: accepted on `connect`, refused on a coded `connect_error`. */
export function attemptIo(
  url: string,
  auth: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  timeoutMs = ATTEMPT_WAIT_MS,
): Promise<AttemptOutcome> {
  return settleWithin(timeoutMs, (settle) => {
    const socket: Socket = io(url, {
      auth,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: timeoutMs,
      ...extra,
    });
    socket.once('connect', () => settle({ kind: 'accepted', close: () => socket.close() }));
    socket.once('connect_error', (error: Error & { data?: { code?: unknown; details?: unknown } }) => {
      socket.close();
      const code = error.data?.code;
      settle(
        typeof code === 'string'
          ? {
              kind: 'refused',
              code,
              details: (error.data?.details ?? {}) as Record<string, unknown>,
              closeCode: null,
            }
          : { kind: 'failed', reason: error.message },
      );
    });
  });
}

/** Runs `count` attempts, at most `concurrency` at a time; the outcomes in attempt order. */
export async function inWaves<T>(
  count: number,
  concurrency: number,
  attempt: (index: number) => Promise<T>,
): Promise<T[]> {
  const outcomes: T[] = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      outcomes[index] = await attempt(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return outcomes;
}

/** Outcomes counted by kind, refusals by code (`refused:RATE_LIMITED`). */
export function tally(outcomes: AttemptOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.kind === 'refused' ? `refused:${outcome.code}` : outcome.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * A raw ws client whose TCP socket can be paused: once paused, it reads nothing more (neither frames
 * nor pings), so that what the server writes piles up on the server's side.
 */
export class PausableWs {
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Text frames received (while reading). */
  received = 0;

  private constructor(
    readonly ws: WebSocket,
    private readonly tcp: NetSocket,
  ) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('message', () => (this.received += 1));
  }

  /** `onMessage`, if given, hears every message from the first (which may come with the upgrade). */
  static open(
    url: string,
    options: WebSocket.ClientOptions = {},
    onMessage?: (ws: WebSocket, text: string) => void,
  ): Promise<PausableWs> {
    const ws = new WebSocket(url, options);
    if (onMessage) ws.on('message', (raw) => onMessage(ws, (raw as Buffer).toString('utf8')));
    return new Promise((resolve, reject) => {
      let tcp: NetSocket | null = null;
      ws.once('upgrade', (response) => (tcp = response.socket));
      ws.once('open', () => (tcp ? resolve(new PausableWs(ws, tcp)) : reject(new Error('no socket'))));
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** The next text frame of that type (while reading), bounded. */
  next(type: string, timeoutMs = 5000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ws.off('message', onMessage);
        reject(new Error(`no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (raw: WebSocket.RawData): void => {
        const frame = JSON.parse((raw as Buffer).toString('utf8')) as { type: string };
        if (frame.type !== type) return;
        clearTimeout(timer);
        this.ws.off('message', onMessage);
        resolve(frame);
      };
      this.ws.on('message', onMessage);
    });
  }

  pause(): void {
    this.tcp.pause();
  }

  resume(): void {
    this.tcp.resume();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/**
 * A Socket.IO client spoken at the engine.io level (protocol v4, websocket transport) over a pausable
 * socket: it answers engine pings and connects the main namespace; paused, it reads nothing more.
 */
export class PausableIoPeer {
  /** The Socket.IO socket id the server gave (the `40{"sid"}` packet). */
  sid = '';

  private constructor(readonly client: PausableWs) {}

  static async open(url: string, auth: Record<string, unknown>, timeoutMs = 5000): Promise<PausableIoPeer> {
    let connected: (sid: string) => void = () => undefined;
    let refused: (error: Error) => void = () => undefined;
    const namespace = new Promise<string>((resolve, reject) => {
      connected = resolve;
      refused = reject;
    });
    const client = await PausableWs.open(
      `${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`,
      {},
      (ws, packet) => {
        if (packet === '2') ws.send('3');
        else if (packet.startsWith('0')) ws.send(`40${JSON.stringify(auth)}`);
        else if (packet.startsWith('40')) connected((JSON.parse(packet.slice(2)) as { sid: string }).sid);
        else if (packet.startsWith('44')) refused(new Error(`namespace refused: ${packet.slice(2)}`));
      },
    );
    const peer = new PausableIoPeer(client);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`namespace not connected within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      peer.sid = await Promise.race([namespace, timeout]);
    } catch (error) {
      client.terminate();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return peer;
  }
}
