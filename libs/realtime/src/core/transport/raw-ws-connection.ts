// One raw WebSocket client: its identity, its codec, and bounded sending.
import type { IncomingMessage } from 'http';
import type { Duplex } from 'stream';
import { WebSocket } from 'ws';
import { RealtimeCloseCode, RealtimeErrorCode, type DecodedFrame } from '../../protocol';
import type { RealtimeIdentity } from '../auth/realtime-identity';
import type { RealtimeError } from '../errors/realtime-error';
import type { RawWsMonitor } from '../metrics/raw-ws-monitor';
import type { TransportCounters } from '../metrics/transport-counters.service';
import type { FrameCodec } from './frame-codec';
import type { EncodedTextFrame } from './text-frame';

/** A gateway handler bound by Nest to one connection: called with the message's data and type. */
export type RawWsHandlerCallback = (data: unknown, type: string) => unknown;

/** An inbound ws message as ws gives it. */
export type RawWsFrame = Buffer | ArrayBuffer | Buffer[];

/** How an endpoint's frames are dispatched, shared by its connections (see RawWsDispatcher). */
export interface RawWsDispatchTable {
  /** Frame type → index of its handler in each connection's `handlers`. */
  readonly handlerIndex: ReadonlyMap<string, number>;
  /** Handles one inbound frame of a connection bound to this table. */
  received(connection: RawWsConnection, raw: RawWsFrame, isBinary: boolean): void;
}

const NO_HANDLERS: readonly RawWsHandlerCallback[] = [];

/** ws send options of a Buffer that holds a text frame's UTF-8. */
const TEXT_FRAME = { binary: false } as const;

/** The close code of a connection refused or ended with `error`. */
export function closeCodeFor(error: RealtimeError): number {
  if (error.code === RealtimeErrorCode.AUTH_FAILED) return RealtimeCloseCode.AUTH_FAILED;
  // A connection limit, or too many connection attempts from the client's address (a handshake's
  // RATE_LIMITED): the client should come back later either way.
  if (error.code === RealtimeErrorCode.CONNECTION_LIMIT || error.code === RealtimeErrorCode.RATE_LIMITED) {
    return RealtimeCloseCode.CONNECTION_LIMIT;
  }
  // Only the handshake's origin check refuses a connection with PERMISSION_DENIED.
  if (error.code === RealtimeErrorCode.PERMISSION_DENIED) return RealtimeCloseCode.FORBIDDEN_ORIGIN;
  return 1011;
}

/** The number of the last connection made in this process (see `RawWsConnection.id`). */
let lastConnectionNumber = 0;

export class RawWsConnection {
  /**
   * Connection id, unique in the process (the registry's key, beside Socket.IO's ids, which never
   * hold a colon). A counter: every upgrade makes one, and a random UUID cost about 4 µs of it. The
   * id is never sent to a client.
   */
  readonly id = `ws:${(lastConnectionNumber += 1)}`;
  /** Null until authenticated (endpoints with deferred authentication). */
  identity: RealtimeIdentity | null = null;
  /** Epoch ms of the last inbound frame (idle timeout). */
  lastSeenAt = Date.now();
  /** Pings sent without a pong since (heartbeat). */
  missedPongs = 0;
  /** Epoch ms of the upgrade (the monitor's connection duration). */
  readonly openedAt: number;
  /** The close code ws reported, once closed (read by the disconnect hooks). */
  closeCode: number | null = null;
  /**
   * Nest's disconnect hook of the gateway (RealtimeAdapter.bindClientDisconnect), run by the endpoint
   * after its own cleanup: a field, not a second `close` listener on the socket.
   */
  disconnectHook: (() => void) | null = null;
  /**
   * Inbound frame state, owned by RawWsDispatcher: the endpoint's shared dispatch table, Nest's
   * handlers bound to this connection (in the table's order; none where the table holds the
   * gateway's handlers for all its connections), the frames being handled (a promise only while some
   * are) and how many.
   */
  dispatch: RawWsDispatchTable | null = null;
  handlers: readonly RawWsHandlerCallback[] = NO_HANDLERS;
  frameQueue: Promise<void> | null = null;
  pendingFrames = 0;
  /** The client address counted for this connection by the per-address limits; null once given back. */
  clientAddress: string | null = null;
  /**
   * The request id (`ref`) of the message being handled, set by the dispatcher while its handler runs
   * (frames of one connection are handled one at a time): its errors carry it, and a message it posts
   * carries it back on this connection's own copy.
   */
  requestRef: string | undefined = undefined;
  /**
   * The upgrade request, while the connection is being set up (the gateway's `handleConnection`
   * reads the URL and headers there); null afterwards, so that an idle connection does not keep the
   * request, its headers and its token.
   */
  request: IncomingMessage | null;
  /** The endpoint path, without the query (which may hold a token). */
  readonly path: string;
  /** The endpoint's monitor (rooms), told of this connection's messages, frames and errors. */
  readonly monitor: RawWsMonitor | null;
  /** The upgraded socket, when broadcast frames may be written to it as they are (see `writeFramesTo`). */
  private wire: Duplex | null = null;

  constructor(
    readonly socket: WebSocket,
    request: IncomingMessage,
    private readonly codec: FrameCodec,
    private readonly maxBufferedBytes: number,
    private readonly counters: TransportCounters,
    /** The endpoint's inbound batch frame type, if it batches. */
    readonly batchType?: string,
  ) {
    this.request = request;
    this.openedAt = this.lastSeenAt;
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    this.path = internedPath(query < 0 ? url : url.slice(0, query));
    this.monitor = counters.monitorOf(this.path);
  }

  /**
   * Lets broadcasts write their ready-made frame straight to the upgraded socket, in one write,
   * instead of through ws's sender. Only for a connection that negotiated no extension
   * (permessage-deflate frames differ per connection): ws then writes every frame of its own
   * synchronously, so that order is kept. A Blob sent through `socket` directly (read
   * asynchronously by ws) could be overtaken by a broadcast.
   */
  writeFramesTo(socket: Duplex): void {
    this.wire = this.socket.extensions === '' ? socket : null;
  }

  /** Called once the connection is set up: the request is no longer kept. */
  releaseRequest(): void {
    this.request = null;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Decodes one inbound text frame with the endpoint's codec; never throws. */
  decode(text: string): DecodedFrame {
    return this.codec.decode(text);
  }

  /** Encodes and sends one frame; `ref` is the request id it answers, if any. */
  send(type: string, body: unknown, ref?: string): boolean {
    return this.sendSerialized(this.codec.encode(type, body, ref));
  }

  /** Sends an already serialised frame. */
  sendSerialized(text: string): boolean {
    if (!this.mayWrite()) return false;
    this.socket.send(text);
    this.counters.sent(Buffer.byteLength(text));
    return true;
  }

  /**
   * Sends a frame encoded and framed once for many connections (a broadcast calls this per
   * recipient): its bytes as they are where `writeFramesTo` allows, else its UTF-8 payload as a text
   * frame through ws.
   */
  sendEncoded(frame: EncodedTextFrame): boolean {
    if (!this.mayWrite()) return false;
    if (this.wire !== null) this.wire.write(frame.wire);
    else this.socket.send(frame.payload, TEXT_FRAME);
    this.counters.sent(frame.payload.length);
    return true;
  }

  /** Open, and its unsent backlog within the bound; a client past the bound is closed. */
  private mayWrite(): boolean {
    if (this.socket.readyState !== WebSocket.OPEN) return false;
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.close(RealtimeCloseCode.SLOW_CONSUMER, 'Slow consumer: send buffer full');
      return false;
    }
    return true;
  }

  /** Sends an `error` frame; `ref` is the request id of the frame that caused it, if any. */
  sendError(error: RealtimeError, ref?: string): boolean {
    this.counters.error();
    const written = this.sendSerialized(this.codec.encodeError(error, ref));
    this.monitor?.error(error.code, written);
    return written;
  }

  /** Counts an inbound frame (the adapter calls it once per frame). */
  countReceived(bytes: number): void {
    this.counters.received(bytes);
  }

  /** Lets Nest's default exception filter (`client.emit('exception', …)`) reach the client as a frame. */
  emit(event: string, body: unknown): boolean {
    return this.send(event, body);
  }

  /** Tells the client the error, then closes with its close code (a refusal, a limit). */
  endWith(error: RealtimeError): void {
    this.sendError(error);
    this.close(closeCodeFor(error), error.message);
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(code, closeReason(reason));
    }
  }
}

/** Distinct endpoint paths seen, so that every connection of an endpoint shares one string. */
const PATHS = new Map<string, string>();
/** Paths beyond this many are not interned (an endpoint has few spellings: trailing slashes). */
const MAX_INTERNED_PATHS = 64;

/** The connection's path as one shared flat string per distinct path. */
function internedPath(path: string): string {
  const known = PATHS.get(path);
  if (known !== undefined) return known;
  const flat = flatString(path);
  if (PATHS.size < MAX_INTERNED_PATHS) PATHS.set(flat, flat);
  return flat;
}

/** A flat (sequential) copy of a string that V8 may hold as a tree of concatenated pieces. */
function flatString(value: string): string {
  return Buffer.from(value, 'latin1').toString('latin1');
}

/** A close reason is at most 123 bytes of UTF-8: cut on a character boundary. */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = '';
  for (const char of reason) {
    if (Buffer.byteLength(cut + char) > 123) break;
    cut += char;
  }
  return cut;
}
