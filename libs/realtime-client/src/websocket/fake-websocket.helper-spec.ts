// A scriptable in-memory WebSocket for unit specs: the spec plays the server (open, frames, close).
import type {
  WebSocketCloseEventLike,
  WebSocketConstructor,
  WebSocketLike,
  WebSocketMessageEventLike,
} from './websocket.types';

type AnyListener = (event: never) => void;

export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: string[] = [];
  private readonly listeners = new Map<string, AnyListener[]>();

  constructor(readonly url: string) {}

  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: WebSocketMessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (event: WebSocketCloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: string, listener: AnyListener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(): void {
    this.readyState = 3;
  }

  /** Frames the client sent, parsed. */
  sentFrames(): Array<{ type: string; data?: unknown; payload?: unknown }> {
    return this.sent.map((text) => JSON.parse(text) as { type: string; data?: unknown; payload?: unknown });
  }

  serverOpen(): void {
    this.readyState = 1;
    this.emit('open', undefined);
  }

  serverSend(frame: object): void {
    this.emit('message', { data: JSON.stringify(frame) });
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.emit('close', { code, reason });
  }

  /** As a refused connection: error, then close 1006. */
  refuse(): void {
    this.emit('error', new Error('connect ECONNREFUSED'));
    this.serverClose(1006);
  }

  private emit(type: string, event: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) (listener as (event: unknown) => void)(event);
  }
}

/** A WebSocket class that records every socket it creates. */
export function fakeWebSocketClass(): { WebSocket: WebSocketConstructor; sockets: FakeWebSocket[] } {
  const sockets: FakeWebSocket[] = [];
  class RecordedFakeWebSocket extends FakeWebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return { WebSocket: RecordedFakeWebSocket, sockets };
}

/** The last socket created; fails the spec if there is none. */
export function lastSocket(sockets: FakeWebSocket[]): FakeWebSocket {
  const socket = sockets.at(-1);
  if (!socket) throw new Error('no socket was created');
  return socket;
}
