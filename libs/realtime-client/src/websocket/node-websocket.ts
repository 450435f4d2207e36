// Node fallback of the WebSocket class: the `ws` package, loaded only when the platform has no
// WebSocket global. The browser bundle replaces this file with browser-websocket.ts.
import type { WebSocketConstructor } from './websocket.types';

export function platformFallbackWebSocket(): WebSocketConstructor | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('ws') as WebSocketConstructor;
}
