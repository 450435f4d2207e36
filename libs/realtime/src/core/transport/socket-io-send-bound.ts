// Bounds what the library's Socket.IO server queues for one client, as `limits.maxBufferedBytes`
// bounds a raw ws connection: the packets waiting in engine.io's write buffer plus the bytes its
// WebSocket has not handed to the kernel yet. Without it, a client that stops reading while its rooms
// stay busy makes engine.io queue every packet for it until the heartbeat gives up. Past the bound the
// client's transport is closed at once and its queue dropped (a WebSocket with close code 4508, as on
// raw ws); the socket disconnects ("forced close") and the client may reconnect.
import type { Socket } from 'socket.io';
import { RealtimeCloseCode } from '../../protocol';

const QUEUED = Symbol('realtime.queuedBytes');
const WATCHED = Symbol('realtime.sendBound');
const CLOSING = Symbol('realtime.slowConsumer');

type EngineConnection = Socket['conn'];

interface BoundedConnection extends EngineConnection {
  /** Bytes of the packets created since engine.io last flushed its write buffer to the transport. */
  [QUEUED]?: number;
  [WATCHED]?: true;
  [CLOSING]?: true;
}

/** The part of a `ws` WebSocket (engine.io's websocket transport's socket) read here. */
interface TransportWebSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  close(code: number, reason: string): void;
}

const WS_OPEN = 1;

/** Bytes of an engine.io packet's data; a string's length stands for bytes (equal for ASCII JSON). */
export function packetLength(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (Buffer.isBuffer(data)) return data.length;
  if (data instanceof ArrayBuffer) return data.byteLength;
  return 0;
}

/** The WebSocket under a connection on the websocket transport; null on HTTP long-polling. */
function webSocketOf(connection: EngineConnection): TransportWebSocket | null {
  const transport = connection.transport as unknown as { name?: unknown; socket?: unknown };
  if (transport.name !== 'websocket') return null;
  const socket = transport.socket as Partial<TransportWebSocket> | null | undefined;
  return typeof socket?.bufferedAmount === 'number' && typeof socket.close === 'function'
    ? (socket as TransportWebSocket)
    : null;
}

/** Bytes queued on the server for a connection: its engine.io write buffer and its WebSocket's. */
export function sendBacklogOf(connection: EngineConnection): number {
  return ((connection as BoundedConnection)[QUEUED] ?? 0) + (webSocketOf(connection)?.bufferedAmount ?? 0);
}

function closeSlowConsumer(connection: EngineConnection): void {
  if (connection.readyState === 'closed') return;
  const ws = webSocketOf(connection);
  // The code tells a client that reads again why; engine.io's own close would send none.
  if (ws !== null && ws.readyState === WS_OPEN) {
    ws.close(RealtimeCloseCode.SLOW_CONSUMER, 'Slow consumer: send buffer full');
  }
  // discard: the write buffer is dropped, not flushed first.
  connection.close(true);
}

/** Marks a connection past the bound and closes it right after the broadcast in progress. */
function closeAfterBroadcast(connection: BoundedConnection): void {
  connection[CLOSING] = true;
  // Not inside the broadcast creating this packet (closing runs the socket's disconnect, presence
  // and rooms, synchronously), but right after it, before the next message is delivered.
  queueMicrotask(closeSlowConsumer.bind(null, connection));
}

export class SocketIoSendBound {
  /** Shared by every connection (`this`): each packet created for it is counted and the bound checked. */
  private readonly onPacketCreate: (this: BoundedConnection, packet: { data?: unknown }) => void;

  /**
   * @param created told the bytes of every packet created for a watched connection (the transport's
   *   byte counters): one `packetCreate` listener per connection does both
   */
  constructor(
    readonly maxBufferedBytes: number,
    created: (bytes: number) => void = () => undefined,
  ) {
    this.onPacketCreate = function (this: BoundedConnection, packet: { data?: unknown }): void {
      const bytes = packetLength(packet.data);
      created(bytes);
      const queued = (this[QUEUED] ?? 0) + bytes;
      this[QUEUED] = queued;
      if (this[CLOSING] === true) return;
      if (queued + (webSocketOf(this)?.bufferedAmount ?? 0) > maxBufferedBytes) closeAfterBroadcast(this);
    };
  }

  /**
   * Checks the bound after a frame was written to the connection's WebSocket past engine.io (no
   * packet, so no packetCreate: socket-io-direct-frames.ts); `buffered` is the WebSocket's
   * `bufferedAmount` after the write.
   */
  wroteFrame(connection: EngineConnection, buffered: number): void {
    const bounded = connection as BoundedConnection;
    if (bounded[CLOSING] === true) return;
    if ((bounded[QUEUED] ?? 0) + buffered > this.maxBufferedBytes) closeAfterBroadcast(bounded);
  }

  /** Puts a connection under the bound (once, however many namespaces it joins). */
  watch(connection: EngineConnection): void {
    const bounded = connection as BoundedConnection;
    if (bounded[WATCHED] === true) return;
    bounded[WATCHED] = true;
    bounded[QUEUED] = 0;
    bounded.on('packetCreate', this.onPacketCreate);
    bounded.on('drain', onDrain);
  }
}

/** engine.io handed its whole write buffer to the transport: nothing of it is queued there any more. */
function onDrain(this: BoundedConnection): void {
  this[QUEUED] = 0;
}
