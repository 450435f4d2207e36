// Frame dispatch of the raw ws endpoints: one connection's frames are parsed and handled strictly in
// order (Nest's WsAdapter does not guarantee it), with back-pressure on a client that sends faster
// than its frames are handled, inbound batches, and direct routes ahead of Nest's handlers. Every bad
// frame (not JSON, past the input limits of core/input-limits.ts, unknown type…) is answered with an
// error frame, never dropped. An endpoint's monitor (rooms) hears of every
// message handled, with its handling time, and of every response sent. A frame's request id (`ref`)
// is echoed on its answers and errors, and is the connection's `requestRef` while its handler runs.
// Once the shutdown drains, a frame received from then on is answered SHUTTING_DOWN (each message of a
// batch with its own ref); those received before are handled, and counted as in flight until done.
import type { Logger } from '@nestjs/common';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { isRequestRef, RealtimeCloseCode } from '../../protocol';
import { isExpired } from '../auth/realtime-identity';
import { RealtimeError } from '../errors/realtime-error';
import { answerWsException } from '../filters/realtime-ws-exception.filter';
import type { StorageFaultLog } from '../filters/storage-fault-log';
import { inputShapeError } from '../input-limits';
import type { FrameRoute } from './direct-frame-route';
import { forEachHandlerValue } from './handler-result';
import type { SharedGatewayHandler } from './shared-gateway-handlers';
import type {
  RawWsConnection,
  RawWsDispatchTable,
  RawWsFrame,
  RawWsHandlerCallback,
} from './raw-ws-connection';
import { shuttingDownError, type ShutdownGate } from './shutdown-coordinator';

const NO_HANDLERS: readonly RawWsHandlerCallback[] = [];

/** Most inner messages one inbound batch frame may carry. */
const MAX_BATCH = 50;
/** Frames of one raw ws connection waiting to be handled before the socket is paused. */
const MAX_PENDING_FRAMES = 64;

/**
 * One endpoint's dispatch, shared by all its connections: which of Nest's handlers (by their index
 * in the list Nest gives each connection) answers a frame type, the gateway's handlers with their
 * pipeline when made once for the endpoint (shared-gateway-handlers.ts), the endpoint's direct routes,
 * and the shutdown gate. A connection keeps its frame queue, and Nest's handlers bound to it only
 * where the endpoint has no shared handlers.
 */
class EndpointDispatch implements RawWsDispatchTable {
  constructor(
    private readonly dispatcher: RawWsDispatcher,
    /** The frame types of Nest's handlers in the order Nest lists them. */
    readonly types: readonly string[],
    readonly handlerIndex: ReadonlyMap<string, number>,
    readonly routes: ReadonlyMap<string, FrameRoute>,
    readonly shutdown: ShutdownGate,
    /** The handlers of every connection, in the order of `types`; null: each connection's own. */
    readonly shared: readonly SharedGatewayHandler[] | null,
  ) {}

  /** Whether Nest's handler list of a connection is the one this table was built for. */
  fits(handlers: readonly MessageMappingProperties[]): boolean {
    if (handlers.length !== this.types.length) return false;
    return handlers.every((handler, i) => this.types[i] === String(handler.message));
  }

  received(connection: RawWsConnection, raw: RawWsFrame, isBinary: boolean): void {
    this.dispatcher.received(connection, this, raw, isBinary);
  }
}

interface WsResponseLike {
  event: string;
  data: unknown;
}

function isWsResponse(value: unknown): value is WsResponseLike {
  return typeof value === 'object' && value !== null && typeof (value as WsResponseLike).event === 'string';
}

function frameBytes(raw: RawWsFrame): number {
  if (Buffer.isBuffer(raw)) return raw.length;
  if (Array.isArray(raw)) return raw.reduce((n, part) => n + part.length, 0);
  return raw.byteLength;
}

export class RawWsDispatcher {
  private readonly shadowed = new Set<string>();
  /** Each endpoint's dispatch, by its direct routes (one map per endpoint). */
  private readonly dispatches = new WeakMap<ReadonlyMap<string, FrameRoute>, EndpointDispatch>();

  /** `storageFaults`: the app's log of database outages, once the module is there (see answerWsException). */
  constructor(
    private readonly log: Logger,
    private readonly storageFaults: () => StorageFaultLog | null = () => null,
  ) {}

  /**
   * Binds Nest's handlers of a gateway to a connection; `routes` are its endpoint's direct routes,
   * `shutdown` admits or refuses each frame. `sharedHandlers` gives the gateway's handlers made once
   * for the endpoint (asked when its dispatch is made, at its first connection), or null: the
   * connection keeps the handlers Nest bound to it. The endpoint's RawWsServer hands the
   * connection's frames to `connection.dispatch` (one listener of its own: no closure, map or promise
   * per connection).
   */
  bind(
    connection: RawWsConnection,
    handlers: MessageMappingProperties[],
    routes: ReadonlyMap<string, FrameRoute>,
    shutdown: ShutdownGate,
    sharedHandlers: () => readonly SharedGatewayHandler[] | null = () => null,
  ): void {
    const dispatch = this.dispatchFor(connection.path, handlers, routes, shutdown, sharedHandlers);
    connection.handlers =
      dispatch.shared === null
        ? handlers.map((handler): RawWsHandlerCallback => handler.callback)
        : NO_HANDLERS;
    connection.dispatch = dispatch;
  }

  /**
   * A connection's inbound frame: handled after the frames before it. A client that sends faster
   * than its frames are handled is paused (TCP back-pressure) rather than queued without bound.
   */
  received(
    connection: RawWsConnection,
    dispatch: EndpointDispatch,
    raw: RawWsFrame,
    isBinary: boolean,
  ): void {
    connection.pendingFrames += 1;
    if (connection.pendingFrames === MAX_PENDING_FRAMES) connection.socket.pause();
    connection.lastSeenAt = Date.now();
    connection.countReceived(frameBytes(raw));
    const shutdown = dispatch.shutdown;
    const admitted = shutdown.admit();
    const previous = connection.frameQueue ?? Promise.resolve();
    const queue = previous
      .then(() => this.dispatchFrame(connection, dispatch, raw, isBinary, admitted))
      .finally(() => {
        connection.pendingFrames -= 1;
        // The last frame handled: an idle connection keeps no promise.
        if (connection.frameQueue === queue) connection.frameQueue = null;
        if (admitted) shutdown.settled();
        if (connection.pendingFrames === MAX_PENDING_FRAMES / 2 && connection.socket.isPaused) {
          connection.socket.resume();
        }
      });
    connection.frameQueue = queue;
  }

  /** The endpoint's shared dispatch for this handler list, made at its first connection. */
  private dispatchFor(
    path: string,
    handlers: MessageMappingProperties[],
    routes: ReadonlyMap<string, FrameRoute>,
    shutdown: ShutdownGate,
    sharedHandlers: () => readonly SharedGatewayHandler[] | null,
  ): EndpointDispatch {
    const known = this.dispatches.get(routes);
    if (known !== undefined && known.shutdown === shutdown && known.fits(handlers)) return known;
    const types = handlers.map((handler) => String(handler.message));
    // By position in Nest's list; of two handlers of one type the last answers, as a map would keep it.
    const handlerIndex = new Map<string, number>();
    types.forEach((type, i) => {
      if (routes.has(type)) this.warnShadowed(path, type);
      else handlerIndex.set(type, i);
    });
    const shared = sharedHandlers();
    const dispatch = new EndpointDispatch(
      this,
      types,
      handlerIndex,
      routes,
      shutdown,
      shared !== null && shared.length === types.length ? shared : null,
    );
    this.dispatches.set(routes, dispatch);
    return dispatch;
  }

  /** A direct route takes precedence over a @SubscribeMessage handler of the same type: said once. */
  private warnShadowed(path: string, type: string): void {
    const key = `${path} ${type}`;
    if (this.shadowed.has(key)) return;
    this.shadowed.add(key);
    this.log.warn(`"${type}" on ${path} has a direct route: its @SubscribeMessage handler is not called`);
  }

  private async dispatchFrame(
    connection: RawWsConnection,
    dispatch: EndpointDispatch,
    raw: RawWsFrame,
    isBinary: boolean,
    admitted: boolean,
  ): Promise<void> {
    if (!connection.isOpen) return;
    // Known once decoded; the errors of the frame's own handling echo it.
    let ref: string | undefined;
    try {
      if (connection.identity && isExpired(connection.identity)) {
        connection.sendError(RealtimeError.authFailed('Token expired'));
        connection.close(RealtimeCloseCode.AUTH_FAILED, 'Token expired');
        return;
      }
      if (isBinary) {
        connection.monitor?.unreadable();
        connection.sendError(RealtimeError.invalidFormat('Binary frames are not supported'));
        return;
      }
      const text = Buffer.isBuffer(raw)
        ? raw.toString('utf8')
        : Buffer.from(raw as ArrayBuffer).toString('utf8');
      const decoded = connection.decode(text);
      if (!decoded.ok) {
        connection.monitor?.unreadable();
        connection.sendError(
          new RealtimeError(decoded.error.code, decoded.error.message, decoded.error.details),
        );
        return;
      }
      ref = decoded.ref;
      // Before any handler, pipe or batch walk reads it: class-transformer recurses, and throws on
      // some keys.
      const shapeError = inputShapeError(decoded.data);
      if (shapeError !== null) {
        connection.monitor?.unreadable();
        connection.sendError(shapeError, ref);
        return;
      }
      const batchType = connection.batchType;
      if (batchType !== undefined && decoded.type === batchType) {
        await this.dispatchBatch(connection, dispatch, decoded.data, batchType, ref, admitted);
        return;
      }
      await this.dispatchMessage(connection, dispatch, decoded.type, decoded.data, ref, admitted);
    } catch (error) {
      answerWsException(connection, error, this.log, ref, this.storageFaults());
    }
  }

  /**
   * Handles one decoded message with its direct route or its gateway handler (Nest answers the
   * handler's errors through the gateway's filter; a route's errors are thrown to the caller).
   * `ref` is the message's request id: its answers carry it, and so does the connection while the
   * handler runs (for the filter, and for the own copy of a message it posts). A message not
   * `admitted` (received during the shutdown) is refused with SHUTTING_DOWN, nothing carried out (a
   * `ping` is still answered).
   */
  private async dispatchMessage(
    connection: RawWsConnection,
    dispatch: EndpointDispatch,
    type: string,
    data: unknown,
    ref: string | undefined,
    admitted: boolean,
  ): Promise<void> {
    // A ping stores nothing: answered until the connection closes, so that a client's heartbeat does
    // not fail during the drain.
    if (!admitted && type !== 'ping') throw shuttingDownError();
    const monitor = connection.monitor;
    // Read only when monitored: the unmonitored path (the log stream) pays nothing.
    const startedAt = monitor === null ? 0 : performance.now();
    connection.requestRef = ref;
    try {
      let result: unknown;
      const route = dispatch.routes.get(type);
      if (route !== undefined) {
        result = route.run(connection, data);
      } else {
        const index = dispatch.handlerIndex.get(type);
        const shared = index === undefined ? undefined : dispatch.shared?.[index];
        const handler = index === undefined || shared !== undefined ? undefined : connection.handlers[index];
        if (shared !== undefined) result = shared(connection, data, type);
        else if (handler !== undefined) result = handler(data, type);
        else {
          connection.sendError(RealtimeError.invalidFormat(`Unknown message type "${type}"`, { type }), ref);
          return;
        }
      }
      // Every response is sent as it comes; the next frame waits until the handler is done.
      await forEachHandlerValue(result, (value) => {
        if (isWsResponse(value) && connection.send(value.event, value.data, ref))
          monitor?.sent(value.event, 1);
      });
    } finally {
      connection.requestRef = undefined;
      // A failed message is handled too (its error frame follows from the caller's catch).
      monitor?.handled(connection, type, data, startedAt);
    }
  }

  /**
   * Inbound batch: each inner `{ type, data, ref? }` in order, each answered as if sent alone (with its
   * own request id, never the batch's); `ref` is the batch frame's, echoed on its own errors.
   */
  private async dispatchBatch(
    connection: RawWsConnection,
    dispatch: EndpointDispatch,
    data: unknown,
    batchType: string,
    ref: string | undefined,
    admitted: boolean,
  ): Promise<void> {
    const messages = (data as { messages?: unknown } | null)?.messages;
    if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH) {
      connection.monitor?.unreadable();
      connection.sendError(
        RealtimeError.invalidFormat(
          `${batchType} needs data.messages, an array of 1 to ${MAX_BATCH} messages`,
          {
            field: 'messages',
            max: MAX_BATCH,
          },
        ),
        ref,
      );
      return;
    }
    for (const [index, inner] of messages.entries()) {
      if (!connection.isOpen) return;
      const message = inner as { type?: unknown; data?: unknown; ref?: unknown } | null;
      if (typeof message !== 'object' || message === null) {
        this.badInner(connection, index, undefined);
        continue;
      }
      // An invalid id cannot be echoed: its error goes without one, as for an invalid top-level ref.
      const innerRef = message.ref;
      if (innerRef !== undefined && !isRequestRef(innerRef)) {
        connection.monitor?.unreadable();
        connection.sendError(
          RealtimeError.invalidFormat(
            `messages[${index}].ref must be 1 to 64 letters, digits, "-", "_", "." or ":"`,
            { field: 'ref', index },
          ),
        );
        continue;
      }
      if (typeof message.type !== 'string' || message.type === batchType) {
        this.badInner(connection, index, innerRef);
        continue;
      }
      try {
        await this.dispatchMessage(
          connection,
          dispatch,
          message.type,
          message.data ?? {},
          innerRef,
          admitted,
        );
      } catch (error) {
        answerWsException(connection, error, this.log, innerRef, this.storageFaults());
      }
    }
  }

  private badInner(connection: RawWsConnection, index: number, ref: string | undefined): void {
    connection.monitor?.unreadable();
    connection.sendError(
      RealtimeError.invalidFormat(
        `messages[${index}] must be an object with a "type" (batches do not nest)`,
        {
          field: `messages[${index}].type`,
          index,
        },
      ),
      ref,
    );
  }
}
