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
}

/** A ws client that queues every frame, so a spec can await frames in order. */
export class TestWs {
  readonly frames: WsFrame[] = [];
  private waiters: Array<{ test: (f: WsFrame) => boolean; resolve: (f: WsFrame) => void }> = [];
  closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
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
    const index = this.frames.findIndex((f) => f.type === type);
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0] as WsFrame);
    return new Promise((resolve, reject) => {
      const waiter = {
        test: (f: WsFrame) => f.type === type,
        resolve: (f: WsFrame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `no "${type}" frame within ${timeoutMs} ms (have: ${this.frames.map((f) => f.type).join(', ')})`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async closedWithin(timeoutMs = DEFAULT_WAIT_MS): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.close();
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
