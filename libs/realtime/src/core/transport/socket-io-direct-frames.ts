// Broadcasts of the library's Socket.IO server written to each member's WebSocket as one frame built
// once. Socket.IO's adapter encodes a broadcast once and frames it once (`wsPreEncodedFrame`), but
// engine.io still runs its per-packet path for every member: a packet object, `packetCreate`, its
// write buffer, `flush` and `drain` events on the connection and on the server, a write callback and
// its tick, and the frame's header and payload written apart under cork. Here the frame becomes one
// buffer per broadcast, written with the WebSocket's own sender whenever nothing of the connection
// waits in engine.io or in `ws` (so the bytes keep their order); otherwise, and for every other
// packet, engine.io writes as before. The bytes are counted and the send bound checked as for a
// packet (socket-io-send-bound.ts).
import type { Socket } from 'socket.io';
import type { SocketIoSendBound } from './socket-io-send-bound';

type EngineConnection = Socket['conn'];

/** The single-buffer frame of a broadcast, kept on the broadcast's packet options (one per emit). */
const SINGLE_FRAME = Symbol('realtime.singleFrame');

/** What socket.io-adapter passes to `conn.write` for a broadcast packet. */
interface PacketOptions {
  wsPreEncodedFrame?: Buffer[];
  /**
   * A volatile emit: Socket.IO drops it while the transport is not writable, which engine.io's send
   * tracks and a direct frame does not; so those take engine.io's path.
   */
  volatile?: boolean;
  [SINGLE_FRAME]?: Buffer;
}

/** The part of a `ws` Sender (engine.io's websocket transport's) read here; engine.io calls `sendFrame` too. */
interface FrameSender {
  /** 0: no message is being compressed or read from a Blob. */
  _state: number;
  _queue: unknown[];
  sendFrame(list: Buffer[], callback: undefined): void;
}

/** The part of a `ws` WebSocket read here. */
interface FrameSocket {
  readyState?: number;
  readonly bufferedAmount: number;
  _sender?: Partial<FrameSender>;
  /** The TCP socket; `writable` is false once it is ending or destroyed. */
  _socket?: { readonly writable: boolean };
}

/** The parts of engine.io's connection and transport read here (public at run time, not typed). */
interface DirectConnection {
  readyState: string;
  writeBuffer: unknown[];
  transport: { name: string; perMessageDeflate?: unknown; socket?: FrameSocket };
}

type EngineWrite = (this: EngineConnection, data: unknown, options?: unknown, callback?: unknown) => unknown;

const WS_OPEN = 1;

/** The connection's TCP socket is ending or destroyed: nothing written to it can arrive. */
const ENDED = Symbol('realtime.ended');

/**
 * The WebSocket a frame may be written to now, bypassing engine.io: the connection is open on the
 * websocket transport, and no packet waits in engine.io's write buffer nor any message in `ws`'s
 * sender (which writes what it holds before anything handed to it later). Else null: engine.io writes.
 */
function idleWebSocket(
  connection: DirectConnection,
): (FrameSocket & { _sender: FrameSender }) | null | typeof ENDED {
  if (connection.readyState !== 'open' || connection.writeBuffer.length !== 0) return null;
  const transport = connection.transport;
  // engine.io itself writes pre-encoded frames only without its permessage-deflate.
  if (transport.name !== 'websocket' || transport.perMessageDeflate) return null;
  const socket = transport.socket;
  if (socket?.readyState !== WS_OPEN) return null;
  // Ended or destroyed under a WebSocket that has not seen it yet (its `close` or `error` event comes
  // on a later tick): a write would only build a write-after-end error (with its stack) to drop.
  if (socket._socket?.writable === false) return ENDED;
  const sender = socket._sender;
  if (sender === undefined || sender._state !== 0 || sender._queue?.length !== 0) return null;
  return typeof sender.sendFrame === 'function' ? (socket as FrameSocket & { _sender: FrameSender }) : null;
}

function singleFrame(options: PacketOptions, list: Buffer[]): Buffer {
  let frame = options[SINGLE_FRAME];
  if (frame === undefined) {
    frame = list.length === 1 ? list[0]! : Buffer.concat(list);
    options[SINGLE_FRAME] = frame;
  }
  return frame;
}

export class SocketIoDirectFrames {
  /** Shared by every connection (`this`): engine.io's `write`, with the broadcast frame's shortcut. */
  private readonly write: EngineWrite;
  /** engine.io's own `write` (its Socket's prototype's), found on the first connection. */
  private engineWrite: EngineWrite | null = null;

  /**
   * @param sent counts the bytes of a packet written (its encoded length, as `packetCreate` gives it)
   * @param sendBound checked after each frame written here
   */
  constructor(sent: (bytes: number) => void, sendBound: SocketIoSendBound) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the function's `this` is the connection
    const frames = this;
    this.write = function (this: EngineConnection, data, options, callback) {
      const packetOptions = options as PacketOptions | undefined;
      const list = packetOptions?.wsPreEncodedFrame;
      if (
        list !== undefined &&
        packetOptions?.volatile !== true &&
        callback === undefined &&
        typeof data === 'string'
      ) {
        const socket = idleWebSocket(this as unknown as DirectConnection);
        // Dropped as ws drops a write after close; the connection's close follows, and its client
        // catches up on reconnect.
        if (socket === ENDED) return this;
        if (socket !== null) {
          socket._sender.sendFrame([singleFrame(options as PacketOptions, list)], undefined);
          sent(data.length);
          sendBound.wroteFrame(this, socket.bufferedAmount);
          return this;
        }
      }
      return frames.engineWrite!.call(this, data, options, callback);
    };
  }

  /** Routes a connection's broadcast packets through the shortcut (once per connection). */
  watch(connection: EngineConnection): void {
    const writable = connection as unknown as { write: EngineWrite };
    if (writable.write === this.write) return;
    this.engineWrite ??= writable.write;
    writable.write = this.write;
  }
}
