// @RealtimeGateway(): a WebSocketGateway served by RealtimeAdapter, on Socket.IO or on raw `ws` by path.
import { WebSocketGateway } from '@nestjs/websockets';
import type { FrameCodec } from './frame-codec';

/** A path given literally ('/ws/echo') or as the key of an option of `paths` ('@rooms', '@logs'). */
export type RealtimePathRef = `/${string}` | '@rooms' | '@logs';

export interface RealtimeSocketIoGatewayOptions {
  transport: 'socket.io';
}

export interface RealtimeWsGatewayOptions {
  transport: 'ws';
  path: RealtimePathRef;
  codec: FrameCodec;
  /**
   * 'handshake': the token is verified at the upgrade; a refused client gets an AUTH_FAILED error
   * frame and close code 4401. 'deferred': the gateway authenticates later (e.g. a first `auth` frame).
   * @default 'handshake'
   */
  authentication?: 'handshake' | 'deferred';
  /**
   * Inbound batching: a frame of this type carries `data.messages`, an array of `{ type, data }`
   * handled one after the other exactly as separate frames (each answered).
   * @default undefined (no batching)
   */
  batchType?: string;
}

export type RealtimeGatewayOptions = RealtimeSocketIoGatewayOptions | RealtimeWsGatewayOptions;

/** What the decorator stores; `path` is the key Nest uses to share one server between gateways. */
export interface RealtimeGatewayMetadata {
  path: string;
  realtime: RealtimeGatewayOptions;
}

export const SOCKET_IO_PATH_REF = '@socket.io';

export function RealtimeGateway(options: RealtimeGatewayOptions): ClassDecorator {
  const path = options.transport === 'socket.io' ? SOCKET_IO_PATH_REF : options.path;
  return WebSocketGateway<RealtimeGatewayMetadata>({ path, realtime: options });
}

export function isRealtimeGatewayMetadata(
  value: unknown,
): value is RealtimeGatewayMetadata & { path: string } {
  return typeof value === 'object' && value !== null && 'realtime' in value;
}
