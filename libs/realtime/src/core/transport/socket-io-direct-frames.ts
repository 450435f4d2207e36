// Broadcasts of the library's Socket.IO server written to each member's WebSocket as one frame built
// once. Socket.IO's adapter encodes a broadcast once and frames it once (`wsPreEncodedFrame`), but
// engine.io still runs its per-packet path for every member: a packet object, `packetCreate`, its
// write buffer, `flush` and `drain` events on the connection and on the server, a write callback and
// its tick, and the frame's header and payload written apart under cork. Here the frame becomes one
// buffer per broadcast, written with the WebSocket's own sender whenever nothing of the connection
// waits in engine.io or in `ws` (so the bytes keep their order); otherwise, and for every other
// packet, engine.io writes as before. The bytes are counted and the send bound checked as for a
// packet (socket-io-send-bound.ts).
//
// Several broadcasts reaching one member in the same turn of the event loop (a busy server reads
// several messages at once and broadcasts them one after the other) leave in one write: the first
// frame is written at once, the member's TCP socket is corked at the second, and every socket
// corked in the turn is uncorked at its end (`setImmediate`), so the kernel gets one `writev` per
// member and turn instead of one `write` per frame. Only the timing of the bytes changes: they go
// through the same stream, in the same order, and an `end()` flushes what is corked. Measured (chat,
// 100 members, 1 KB, lean clients, interleaved with bare Socket.IO and the previous tree on a busy
// 2-core machine): at 700 to 1,300 msg/s, write system calls per delivery (SQLite's included) 1.1 →
// 0.13–0.43, server CPU per delivery 1.8–4.8 µs and every message delivered, where bare Socket.IO
// (1.01 writes per delivery, 5.8–18 µs) and the previous tree fell seconds behind in 11 of 12 runs;
// in a loop, 8 frames per socket and turn cost 5.0 µs of CPU
// per frame written one by one and 1.5 µs this way. A socket's first frame of a turn is not held, so
// a server that reads one message per turn writes as before.
import type { Socket } from 'socket.io';
import type { SocketIoSendBound } from './socket-io-send-bound';

type EngineConnection = Socket['conn'];

/** The single-buffer frame of a broadcast, kept on the broadcast's packet options (one per emit). */
const SINGLE_FRAME = Symbol('realtime.singleFrame');

/** On a TCP socket: the turn (FrameBatches) in which a direct frame was last written to it. */
const LAST_TURN = Symbol('realtime.lastFrameTurn');

/** On a TCP socket: corked by FrameBatches until the end of the turn. */
const CORKED = Symbol('realtime.framesCorked');

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

/** The TCP socket under a WebSocket (a `net.Socket`), as used here. */
interface FrameTcpSocket {
  /** False once it is ending or destroyed. */
  readonly writable: boolean;
  cork(): void;
  uncork(): void;
  [LAST_TURN]?: number;
  [CORKED]?: boolean;
}

/** The part of a `ws` WebSocket read here. */
interface FrameSocket {
  readyState?: number;
  readonly bufferedAmount: number;
  _sender?: Partial<FrameSender>;
  _socket?: Partial<FrameTcpSocket>;
}

/** The parts of engine.io's connection and transport read here (public at run time, not typed). */
interface DirectConnection {
  readyState: string;
  writeBuffer: unknown[];
  transport: { name: string; perMessageDeflate?: unknown; socket?: FrameSocket };
}

type EngineWrite = (this: EngineConnection, data: unknown, options?: unknown, callback?: unknown) => unknown;

/** A WebSocket a direct frame may be written to: its sender and TCP socket are the ones read here. */
type IdleWebSocket = FrameSocket & { _sender: FrameSender; _socket: FrameTcpSocket };

const WS_OPEN = 1;

/** The connection's TCP socket is ending or destroyed: nothing written to it can arrive. */
const ENDED = Symbol('realtime.ended');

/**
 * The WebSocket a frame may be written to now, bypassing engine.io: the connection is open on the
 * websocket transport, and no packet waits in engine.io's write buffer nor any message in `ws`'s
 * sender (which writes what it holds before anything handed to it later). Else null: engine.io writes.
 */
function idleWebSocket(connection: DirectConnection): IdleWebSocket | null | typeof ENDED {
  if (connection.readyState !== 'open' || connection.writeBuffer.length !== 0) return null;
  const transport = connection.transport;
  // engine.io itself writes pre-encoded frames only without its permessage-deflate.
  if (transport.name !== 'websocket' || transport.perMessageDeflate) return null;
  const socket = transport.socket;
  if (socket?.readyState !== WS_OPEN) return null;
  const tcp = socket._socket;
  if (tcp === undefined || typeof tcp.cork !== 'function' || typeof tcp.uncork !== 'function') return null;
  // Ended or destroyed under a WebSocket that has not seen it yet (its `close` or `error` event comes
  // on a later tick): a write would only build a write-after-end error (with its stack) to drop.
  if (tcp.writable === false) return ENDED;
  const sender = socket._sender;
  if (sender === undefined || sender._state !== 0 || sender._queue?.length !== 0) return null;
  return typeof sender.sendFrame === 'function' ? (socket as IdleWebSocket) : null;
}

function singleFrame(options: PacketOptions, list: Buffer[]): Buffer {
  let frame = options[SINGLE_FRAME];
  if (frame === undefined) {
    frame = list.length === 1 ? list[0]! : Buffer.concat(list);
    options[SINGLE_FRAME] = frame;
  }
  return frame;
}

/**
 * The direct frames of one turn of the event loop, per TCP socket: a socket's first frame of the
 * turn is written at once; at its second the socket is corked, and it is uncorked when the turn ends.
 */
export class FrameBatches {
  /** Counts the turns in which a direct frame was written; a socket remembers the last of its own. */
  private turn = 1;
  private endScheduled = false;
  private readonly corked: FrameTcpSocket[] = [];
  private readonly endTurn = (): void => {
    this.endScheduled = false;
    this.turn += 1;
    const corked = this.corked;
    // Uncorked in the order corked; a socket destroyed meanwhile drops what it held, as it drops
    // what waits in its stream.
    for (let i = 0; i < corked.length; i += 1) {
      const tcp = corked[i]!;
      tcp[CORKED] = false;
      tcp.uncork();
    }
    corked.length = 0;
  };

  /** Called before a direct frame is written to `tcp`: corks it if it had one already this turn. */
  beforeFrame(tcp: FrameTcpSocket): void {
    if (tcp[LAST_TURN] !== this.turn) {
      tcp[LAST_TURN] = this.turn;
      // Both marks are added together and in this order, so that every socket written to here
      // takes the same one shape (a mark added later, at the first cork, would make two).
      if (tcp[CORKED] === undefined) tcp[CORKED] = false;
      if (!this.endScheduled) {
        this.endScheduled = true;
        setImmediate(this.endTurn);
      }
    } else if (tcp[CORKED] !== true) {
      tcp[CORKED] = true;
      tcp.cork();
      this.corked.push(tcp);
    }
  }
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
  constructor(
    sent: (bytes: number) => void,
    sendBound: SocketIoSendBound,
    batches: FrameBatches = new FrameBatches(),
  ) {
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
          batches.beforeFrame(socket._socket);
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
