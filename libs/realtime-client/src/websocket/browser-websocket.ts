// Browser replacement of node-websocket.ts (swapped in by build.mjs): no fallback beyond the
// platform WebSocket, so `ws` never enters a browser bundle.
import type { WebSocketConstructor } from './websocket.types';

export function platformFallbackWebSocket(): WebSocketConstructor | undefined {
  return undefined;
}
