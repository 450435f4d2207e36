// Binds Nest's gateway handlers to Socket.IO sockets with one shared listener per event for every
// socket, where Nest's IoAdapter builds an RxJS chain per handler per socket (fromEvent, mergeMap,
// takeUntil and a shared disconnect stream): kilobytes held by every idle connection. On the
// library's server a gateway's handlers are made once for every socket where they can be
// (shared-gateway-handlers.ts), and the socket keeps none; elsewhere it keeps Nest's bound callbacks,
// by event. Same behaviour: the handler's result (value, promise or observable) is emitted when it
// names an event, else given to the ack unless the handler acknowledges itself. On the library's
// server, a payload past the input limits (depth, keys, no `__proto__` or `constructor` key:
// core/input-limits.ts) is answered INVALID_FORMAT before any handler, pipe or guard sees it, and an
// event received once the shutdown drains is answered SHUTTING_DOWN (the others are counted in flight
// until their handler is done).
import type { Logger } from '@nestjs/common';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { isExpired, type RealtimeIdentity } from '../auth/realtime-identity';
import { logClientError } from '../filters/client-error-log';
import { sendIoError } from '../filters/realtime-io-exception.filter';
import { inputShapeError } from '../input-limits';
import type { TransportCounters } from '../metrics/transport-counters.service';
import { tokenExpiredEnding, type LivenessEnding } from './connection-liveness';
import { forEachHandlerValue } from './handler-result';
import type { SharedGatewayHandler } from './shared-gateway-handlers';
import { shuttingDownError, type ShutdownGate } from './shutdown-coordinator';

type HandlerCallback = MessageMappingProperties['callback'];

/** What the binding needs of the realtime server's policy (resolved when the first event arrives). */
export interface BindingContext {
  readonly counters: TransportCounters;
  readonly shutdown: ShutdownGate;
}

/** What every authenticated Socket.IO socket carries in `socket.data`. */
export interface RealtimeSocketData {
  identity: RealtimeIdentity;
}

/** Per-socket state, kept on the socket object itself (not `socket.data`, which connection state
 * recovery copies to the next socket). */
const HANDLERS = Symbol('realtime.handlers');
const DISCONNECT_HOOKS = Symbol('realtime.disconnectHooks');

export interface BoundSocket extends Socket {
  /** Nest's callbacks bound to this socket, by event. */
  [HANDLERS]?: Record<string, HandlerCallback>;
  /** Nest's disconnect hooks of a socket of the realtime server (null: none yet). */
  [DISCONNECT_HOOKS]?: null | (() => void) | Array<() => void>;
}

/**
 * Ends a socket for the liveness rule: Socket.IO has no close code, so the client is told by an
 * `error` event first, then disconnected (its reason: `io server disconnect`).
 */
export function endSocket(socket: Socket, ending: LivenessEnding): void {
  socket.emit('error', ending.error.toPayload());
  socket.disconnect(true);
}

/** Marks a socket of the realtime server: its disconnect hooks run from its one shared listener. */
export function collectDisconnectHooks(socket: Socket): void {
  (socket as BoundSocket)[DISCONNECT_HOOKS] = null;
}

/** Runs the Nest disconnect hooks collected for a socket of the realtime server. */
export function runDisconnectHooks(socket: Socket): void {
  const hooks = (socket as BoundSocket)[DISCONNECT_HOOKS];
  if (typeof hooks === 'function') hooks();
  else if (Array.isArray(hooks)) for (const hook of hooks) hook();
}

type SocketListener = (this: BoundSocket, ...args: unknown[]) => void;

export class SocketIoBinding {
  private readonly sharedListeners = new Map<string, SocketListener>();
  /** The listener of each gateway handler shared by every socket (see `sharedHandlers`). */
  private readonly pipelineListeners = new Map<SharedGatewayHandler, SocketListener>();
  private readonly pipelineListenerSet = new Set<SocketListener>();
  /** Each gateway's shared handlers (null: none), with the events Nest lists for it, in order. */
  private readonly sharedTables: Array<{
    events: readonly unknown[];
    table: readonly SharedGatewayHandler[] | null;
  }> = [];

  /**
   * @param context the transport counters and the shutdown gate
   * @param mapPayload the adapter's payload mapping (`{ data, ack }` from the event's arguments)
   * @param sharedHandlers a gateway's handlers made once for every socket of the realtime server
   *   (shared-gateway-handlers.ts), for the list Nest binds to one; null: each socket keeps Nest's
   */
  constructor(
    private readonly context: () => BindingContext,
    private readonly mapPayload: (payload: unknown) => { data?: unknown; ack?: unknown },
    private readonly log: Logger,
    private readonly sharedHandlers: (
      handlers: readonly MessageMappingProperties[],
    ) => readonly SharedGatewayHandler[] | null = () => null,
  ) {}

  /**
   * Binds a gateway's handlers to a socket: on the realtime server, its handlers shared by every
   * socket where there are (the socket keeps no handler), else Nest's handlers bound to the socket.
   */
  bindHandlers(socket: BoundSocket, handlers: MessageMappingProperties[]): void {
    // Only the realtime server's sockets (marked by collectDisconnectHooks) are its gateways'.
    const shared = socket[DISCONNECT_HOOKS] !== undefined ? this.sharedTableOf(handlers) : null;
    handlers.forEach(({ message, callback, isAckHandledManually }, i) => {
      const event = String(message);
      if (this.handles(socket, event)) {
        // Two gateways handle the same event on this socket: the second gets a listener of its own.
        socket.on(event, (...args: unknown[]) =>
          this.handleEvent(socket, callback, isAckHandledManually, args),
        );
        return;
      }
      const pipeline = shared?.[i];
      if (pipeline !== undefined) {
        socket.on(event, this.pipelineListener(pipeline, isAckHandledManually));
        return;
      }
      const table = (socket[HANDLERS] ??= {});
      table[event] = callback;
      socket.on(event, this.sharedListener(event, isAckHandledManually));
    });
  }

  /** Whether a gateway's handler of `event` is bound to the socket already. */
  private handles(socket: BoundSocket, event: string): boolean {
    if (socket[HANDLERS]?.[event] !== undefined) return true;
    // listenerCount first: the usual socket has no listener of the event yet, and no array is made.
    return (
      this.pipelineListenerSet.size > 0 &&
      socket.listenerCount(event) > 0 &&
      socket.listeners(event).some((listener) => this.pipelineListenerSet.has(listener as SocketListener))
    );
  }

  private sharedTableOf(
    handlers: readonly MessageMappingProperties[],
  ): readonly SharedGatewayHandler[] | null {
    // Found by comparing the events in place: every connection's handshake passes here.
    const known = this.sharedTables.find(
      ({ events }) =>
        events.length === handlers.length && events.every((message, i) => message === handlers[i]!.message),
    );
    if (known !== undefined) return known.table;
    const made = this.sharedHandlers(handlers);
    const table = made !== null && made.length === handlers.length ? made : null;
    this.sharedTables.push({ events: handlers.map((handler) => handler.message as unknown), table });
    return table;
  }

  /** The one listener of a shared gateway handler: called with the socket as `this`. */
  private pipelineListener(pipeline: SharedGatewayHandler, isAckHandledManually: boolean): SocketListener {
    let listener = this.pipelineListeners.get(pipeline);
    if (listener === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the listener's `this` is the socket
      const binding = this;
      listener = function (this: BoundSocket, ...args: unknown[]): void {
        binding.handleEvent(this, (data, ack) => pipeline(this, data, ack), isAckHandledManually, args);
      };
      this.pipelineListeners.set(pipeline, listener);
      this.pipelineListenerSet.add(listener);
    }
    return listener;
  }

  /**
   * Collects a disconnect hook of a socket of the realtime server (called by its one shared
   * 'disconnect' listener); false for a socket of a host's own Socket.IO server.
   */
  addDisconnectHook(socket: BoundSocket, callback: () => void): boolean {
    const hooks = socket[DISCONNECT_HOOKS];
    if (hooks === undefined) return false;
    socket[DISCONNECT_HOOKS] =
      hooks === null ? callback : Array.isArray(hooks) ? [...hooks, callback] : [hooks, callback];
    return true;
  }

  private sharedListener(event: string, isAckHandledManually: boolean): SocketListener {
    const key = `${isAckHandledManually ? 'manual' : 'auto'}:${event}`;
    let listener = this.sharedListeners.get(key);
    if (listener === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the listener's `this` is the socket
      const binding = this;
      listener = function (this: BoundSocket, ...args: unknown[]): void {
        const callback = this[HANDLERS]?.[event];
        if (callback !== undefined) binding.handleEvent(this, callback, isAckHandledManually, args);
      };
      this.sharedListeners.set(key, listener);
    }
    return listener;
  }

  private handleEvent(
    socket: Socket,
    callback: (data: unknown, ack: unknown) => unknown,
    isAckHandledManually: boolean | undefined,
    args: unknown[],
  ): void {
    const identity = (socket.data as Partial<RealtimeSocketData>).identity;
    const { data, ack } = this.mapPayload(args.length > 1 ? args : args[0]);
    let shutdown: ShutdownGate | null = null;
    if (identity !== undefined) {
      // A socket of the realtime server: counted, and an event sent past its token's expiry (before
      // the liveness rule's timer came) is not handled.
      const { counters, shutdown: gate } = this.context();
      counters.messagesReceived += 1;
      if (isExpired(identity)) {
        endSocket(socket, tokenExpiredEnding());
        return;
      }
      // Socket.IO's parser has parsed it; Nest's pipes (class-transformer) would recurse into it.
      const shapeError = inputShapeError(data);
      if (shapeError !== null) {
        counters.error();
        sendIoError(socket, shapeError, ack);
        return;
      }
      if (!gate.admit()) {
        counters.error();
        sendIoError(socket, shuttingDownError(), ack);
        return;
      }
      shutdown = gate;
    }
    let result: unknown;
    try {
      result = callback(data, ack);
    } catch (error) {
      shutdown?.settled();
      throw error;
    }
    forEachHandlerValue(result, (response) => {
      if (response === null || response === undefined) return;
      const named = response as { event?: string; data?: unknown };
      if (typeof named === 'object' && named.event) {
        socket.emit(named.event, named.data);
        return;
      }
      if (!isAckHandledManually && typeof ack === 'function') (ack as (value: unknown) => void)(response);
    }).then(
      () => shutdown?.settled(),
      (error: unknown) => {
        shutdown?.settled();
        this.failedAfterHandler(socket, error);
      },
    );
  }

  /** Nest's exception filters answer handler errors; this is an observable failing afterwards. */
  private failedAfterHandler(socket: Socket, error: unknown): void {
    logClientError(
      this.log,
      socket,
      `Unhandled error after a Socket.IO handler (socket ${socket.id})`,
      error instanceof Error ? error.stack : String(error),
    );
  }
}
