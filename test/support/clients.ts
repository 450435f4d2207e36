// Real clients for e2e specs: socket.io-client and ws, with bounded waits for expected events.
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import * as jwt from 'jsonwebtoken';
import { TEST_SECRET } from './sample-app';

const DEFAULT_WAIT_MS = 5000;

export function signToken(
  claims: Record<string, unknown>,
  options: jwt.SignOptions = {},
  secret = TEST_SECRET,
): string {
  // A token that carries its own `exp` gets no expiresIn.
  const lifetime: jwt.SignOptions = 'exp' in claims ? {} : { expiresIn: 3600 };
  return jwt.sign(claims, secret, { algorithm: 'HS256', ...lifetime, ...options });
}

/** Connects a Socket.IO client; resolves on `connect`, rejects with the `connect_error`. */
export function connectIo(
  url: string,
  auth: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Socket> {
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, ...extra });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** The `connect_error` a refused Socket.IO client gets. */
export async function ioRefusal(
  url: string,
  auth: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  try {
    const socket = await connectIo(url, auth, extra);
    socket.close();
  } catch (error) {
    return error as Error & { data?: { code?: string; message?: string } };
  }
  throw new Error('connection was accepted');
}

/** Resolves with the next `event` payload, or rejects after a bounded wait. */
export function nextEvent<T = unknown>(
  socket: Socket,
  event: string,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    };
    socket.once(event, handler);
  });
}

/** Records every event a socket receives, for "received nothing of X" assertions. */
export function recordEvents(socket: Socket): Array<{ event: string; payload: unknown }> {
  const seen: Array<{ event: string; payload: unknown }> = [];
  socket.onAny((event: string, payload: unknown) => seen.push({ event, payload }));
  return seen;
}

export interface WsFrame {
  type: string;
  data?: unknown;
  payload?: unknown;
  timestamp?: string;
  user_id?: number | string;
  /** The request id the server echoes on answers to a frame that carried one. */
  ref?: string;
}

/** A ws client that queues every frame, so a spec can await frames in order. */
export class TestWs {
  readonly frames: WsFrame[] = [];
  private waiters: Array<{ test: (f: WsFrame) => boolean; resolve: (f: WsFrame) => void }> = [];
  closed: Promise<{ code: number; reason: string }>;
  /** Ping frames received since the socket was created (counted before `open`, so none is missed). */
  pings = 0;

  private constructor(readonly socket: WebSocket) {
    socket.on('ping', () => (this.pings += 1));
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    socket.on('message', (raw, isBinary) => {
      // The protocol is JSON text frames: a binary frame never matches what a spec awaits.
      const frame = isBinary
        ? { type: 'binary_frame' }
        : (JSON.parse((raw as Buffer).toString('utf8')) as WsFrame);
      const waiter = this.waiters.find((w) => w.test(frame));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(frame);
      } else {
        this.frames.push(frame);
      }
    });
  }

  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<TestWs> {
    const socket = new WebSocket(url, options);
    const client = new TestWs(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame of that type (already received or arriving within the wait). */
  next(type: string, timeoutMs = DEFAULT_WAIT_MS): Promise<WsFrame> {
    return this.nextMatching((f) => f.type === type, timeoutMs, `"${type}"`);
  }

  /** The next frame that passes `test` (already received or arriving within the wait). */
  nextMatching(
    test: (f: WsFrame) => boolean,
    timeoutMs = DEFAULT_WAIT_MS,
    what = 'matching',
  ): Promise<WsFrame> {
    const index = this.frames.findIndex(test);
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0] as WsFrame);
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (f: WsFrame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `no ${what} frame within ${timeoutMs} ms (have: ${this.frames.map((f) => f.type).join(', ')})`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  closedWithin(timeoutMs = DEFAULT_WAIT_MS): Promise<{ code: number; reason: string }> {
    return closedWithin(this.closed, timeoutMs);
  }

  close(): void {
    this.socket.close();
  }
}

async function closedWithin(
  closed: Promise<{ code: number; reason: string }>,
  timeoutMs: number,
): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A Socket.IO peer spoken at the engine.io level (protocol v4, websocket transport, no
 * socket.io-client): it connects the main namespace, then never answers the server's pings, as a
 * client behind a dead network would. Packets: the server opens with `0{…}`, the peer sends `40` with
 * its auth to connect the namespace (`40{…}` accepted, `44{…}` refused), the server pings with `2`,
 * which a live client answers with `3`.
 */
export class SilentIoPeer {
  /** Engine pings received (none answered). */
  pings = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    socket.on('message', (raw) => {
      if ((raw as Buffer).toString('utf8') === '2') this.pings += 1;
    });
  }

  /** Resolves once the namespace is connected; rejects if it is refused or the wait runs out. */
  static open(
    url: string,
    auth: Record<string, unknown>,
    { path = '/socket.io', timeoutMs = DEFAULT_WAIT_MS } = {},
  ): Promise<SilentIoPeer> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}${path}/?EIO=4&transport=websocket`);
    const peer = new SilentIoPeer(socket);
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.terminate();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new Error(`namespace not connected within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.on('message', (raw) => {
        const packet = (raw as Buffer).toString('utf8');
        if (packet.startsWith('0')) socket.send(`40${JSON.stringify(auth)}`);
        else if (packet.startsWith('40')) {
          clearTimeout(timer);
          resolve(peer);
        } else if (packet.startsWith('44')) fail(new Error(`namespace refused: ${packet.slice(2)}`));
      });
      socket.once('error', fail);
    });
  }

  closedWithin(timeoutMs = DEFAULT_WAIT_MS): Promise<{ code: number; reason: string }> {
    return closedWithin(this.closed, timeoutMs);
  }

  close(): void {
    this.socket.close();
  }
}

/** The clients a test opened, closed after it: `afterEach(() => clients.closeAll())`. */
export class Clients {
  private readonly open: Array<{ close(): void }> = [];

  async io(url: string, auth: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Socket> {
    return this.track(await connectIo(url, auth, extra));
  }

  async ws(url: string, options: WebSocket.ClientOptions = {}): Promise<TestWs> {
    return this.track(await TestWs.open(url, options));
  }

  /** Closes `client` with the others. */
  track<T extends { close(): void }>(client: T): T {
    this.open.push(client);
    return client;
  }

  closeAll(): void {
    while (this.open.length) this.open.pop()?.close();
  }
}

/** Waits until `predicate` holds, polling, bounded. For server-side state with no event to await. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
