// Picks the WebSocket class: the injected one, else the platform global, else `ws` (Node only).
import { platformFallbackWebSocket } from './node-websocket';
import type { WebSocketConstructor } from './websocket.types';

export function resolveWebSocket(injected?: WebSocketConstructor): WebSocketConstructor {
  if (injected) return injected;
  const platform = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (platform) return platform;
  const fallback = platformFallbackWebSocket();
  if (fallback) return fallback;
  throw new Error('No WebSocket implementation available: pass the `webSocket` option');
}
