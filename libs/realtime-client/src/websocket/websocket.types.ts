// The part of the WebSocket API the SDK uses: the platform WebSocket of browsers and the `ws` class of
// Node both satisfy it, so the SDK needs neither the DOM typings nor `ws` in a browser bundle.

/** `readyState` value of an open socket (the same in browsers and in `ws`). */
export const WEBSOCKET_OPEN = 1;

export interface WebSocketMessageEventLike {
  data: unknown;
}

export interface WebSocketCloseEventLike {
  code: number;
  reason: string;
}

/** The minimal WebSocket instance the SDK drives. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: WebSocketMessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (event: WebSocketCloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `ws` in Node, or a test double. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;
