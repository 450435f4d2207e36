// EventsManager: server-to-client events over Socket.IO, targeted at everyone, the admins,
// the clients of a page, or every socket of one user. Each call serialises the packet once.
import { Injectable, Logger } from '@nestjs/common';
import type { RealtimeServerEventName, RealtimeServerEvents } from '../protocol';
import { ROOM_PREFIX } from '../realtime.constants';
import { SocketIoServerRef } from '../core/transport/socket-io-server.ref';

/** Payload type of an event: typed for the specification's rt_* events, free for custom ones. */
export type EventPayload<E extends string> = E extends RealtimeServerEventName
  ? RealtimeServerEvents[E]
  : unknown;

@Injectable()
export class EventsManager {
  private readonly logger = new Logger('EventsManager');
  private emitted = 0;

  constructor(private readonly serverRef: SocketIoServerRef) {}

  /** Events emitted since start (each call counts once, whatever the number of recipients). */
  get emittedCount(): number {
    return this.emitted;
  }

  broadcast<E extends string>(event: E, data: EventPayload<E>): void {
    this.emitTo([], event, data);
  }

  emitToAdmins<E extends string>(event: E, data: EventPayload<E>): void {
    this.emitTo([ROOM_PREFIX.admins], event, data);
  }

  /** To the admins connected to this node only (figures that describe this node). */
  emitToLocalAdmins<E extends string>(event: E, data: EventPayload<E>): void {
    this.emitted += 1;
    this.serverRef.get()?.local.to(ROOM_PREFIX.admins).emit(event, data);
  }

  emitToPage<E extends string>(page: string, event: E, data: EventPayload<E>): void {
    this.emitTo([ROOM_PREFIX.page + page], event, data);
  }

  /** Every socket of that user (all tabs), and nobody else. */
  emitToUser<E extends string>(userId: string, event: E, data: EventPayload<E>): void {
    this.emitTo([ROOM_PREFIX.user + userId], event, data);
  }

  /** One emission to the union of the targets: a socket in several of them receives the event once. */
  emitToTargets<E extends string>(
    targets: { pages?: string[]; users?: string[]; admins?: boolean },
    event: E,
    data: EventPayload<E>,
  ): void {
    const rooms = [
      ...(targets.pages ?? []).map((page) => ROOM_PREFIX.page + page),
      ...(targets.users ?? []).map((userId) => ROOM_PREFIX.user + userId),
      ...(targets.admins ? [ROOM_PREFIX.admins] : []),
    ];
    if (rooms.length === 0) return;
    this.emitTo(rooms, event, data);
  }

  /** An empty room list means everyone. */
  private emitTo(rooms: string[], event: string, data: unknown): void {
    const server = this.serverRef.get();
    this.emitted += 1;
    if (!server) {
      this.logger.debug(`No Socket.IO server: "${event}" reached nobody`);
      return;
    }
    if (rooms.length === 0) server.emit(event, data);
    else server.to(rooms).emit(event, data);
  }
}
