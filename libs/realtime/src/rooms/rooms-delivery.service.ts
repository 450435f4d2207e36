// Delivery of /ws/chat: every message the conversation layer stored (whichever transport posted it)
// reaches this node's connections of the room, or the two users of a direct message; presence
// notices go the same way. A frame is serialised once and handed to fanOut, and counted for
// RoomsMonitor once per group (one increment of N, not N increments). A message posted with a request
// id is written to the posting connection apart, with the id: one more serialisation per message (a
// splice of the shared frame), never one per recipient.
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { ConversationBus } from '../conversations/conversation-bus';
import type { ConversationEvent, MessageOrigin } from '../conversations/conversation.types';
import { fanOut } from '../core/transport/fan-out';
import { RawWsConnection } from '../core/transport/raw-ws-connection';
import { RoomsOutbound, type RoomsOutboundType } from '../protocol';
import type { ConnectionGroup } from './connection-group';
import { OutboundBatcher } from './outbound-batcher';
import { RoomMembersRegistry } from './room-members.registry';
import { RoomsMonitor } from './rooms-monitor.service';
import { serializeDirectMessage, serializeRoomMessage, withRequestRef } from './rooms.frames';

@Injectable()
export class RoomsDelivery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RoomsDelivery');
  private readonly batcher = new OutboundBatcher();
  private subscription: Subscription | null = null;

  constructor(
    private readonly bus: ConversationBus,
    private readonly members: RoomMembersRegistry,
    private readonly monitor: RoomsMonitor,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.bus.events$.subscribe((event) => this.deliver(event));
  }

  beforeApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.batcher.stop();
  }

  /**
   * Writes one serialised frame to every connection of the group; returns how many took it. `type`
   * names the frame for the monitor; without it, the monitor reads it from the frame's start. An
   * `origin` connection of the group gets the frame with the origin's request id instead (another
   * frame of the same type, counted alike); an origin outside the group changes nothing.
   */
  toGroup(
    group: ConnectionGroup | undefined,
    serialized: string,
    type?: RoomsOutboundType,
    origin?: MessageOrigin,
  ): number {
    if (!group) return 0;
    const delivered =
      origin === undefined ? this.toEveryone(group, serialized) : this.withOwnCopy(group, serialized, origin);
    if (delivered > 0) {
      if (type === undefined) this.monitor.sentSerialized(serialized, delivered);
      else this.monitor.sent(type, delivered);
    }
    return delivered;
  }

  /** A presence notice to the group's connections of other users than `userId` (not a hot path). */
  toGroupExceptUser(group: ConnectionGroup | undefined, serialized: string, userId: string): number {
    if (!group) return 0;
    let delivered = 0;
    for (const connection of group.direct) {
      if (connection.identity?.userId !== userId && connection.sendSerialized(serialized)) delivered += 1;
    }
    for (const connection of group.batched) {
      if (connection.identity?.userId !== userId && this.batcher.enqueue(connection, serialized))
        delivered += 1;
    }
    if (delivered > 0) this.monitor.sentSerialized(serialized, delivered);
    return delivered;
  }

  /** The same frame to every connection of the group. */
  private toEveryone(group: ConnectionGroup, serialized: string): number {
    let delivered = fanOut(group.direct, serialized);
    for (const connection of group.batched) {
      if (this.batcher.enqueue(connection, serialized)) delivered += 1;
    }
    return delivered;
  }

  /** The frame with the request id to the posting connection when it is in the group, the same frame to the others. */
  private withOwnCopy(group: ConnectionGroup, serialized: string, origin: MessageOrigin): number {
    const sender = origin.connection;
    // Only a raw ws connection of this group is the sender here (not a Socket.IO socket, nor a
    // connection of another group, such as a direct message's sender for the recipient's group).
    if (!(sender instanceof RawWsConnection) || !group.has(sender)) return this.toEveryone(group, serialized);
    const own = withRequestRef(serialized, origin.ref);
    let delivered = fanOut(group.direct, serialized, sender);
    if (group.direct.has(sender) && sender.sendSerialized(own)) delivered += 1;
    for (const connection of group.batched) {
      if (this.batcher.enqueue(connection, connection === sender ? own : serialized)) delivered += 1;
    }
    return delivered;
  }

  /** Forgets frames still queued for a closed connection. */
  forget(connection: RawWsConnection): void {
    this.batcher.forget(connection);
  }

  private deliver(event: ConversationEvent): void {
    // The message is stored already: a failure here must not reach the publisher (or the process).
    try {
      if (event.kind === 'room') {
        const group = this.members.roomGroup(event.room);
        if (group) {
          this.toGroup(
            group,
            serializeRoomMessage(event.message, event.room),
            RoomsOutbound.ROOM_MESSAGE,
            event.origin,
          );
        }
        return;
      }
      const { senderId, recipientId } = event.message;
      const recipients = recipientId === null ? undefined : this.members.userGroup(recipientId);
      const senders = senderId === recipientId ? undefined : this.members.userGroup(senderId);
      if (!recipients && !senders) return;
      const serialized = serializeDirectMessage(event.message);
      this.toGroup(recipients, serialized, RoomsOutbound.DIRECT_MESSAGE, event.origin);
      this.toGroup(senders, serialized, RoomsOutbound.DIRECT_MESSAGE, event.origin);
    } catch (error) {
      this.logger.error(
        `Delivery of message ${event.message.id} failed`,
        error instanceof Error ? error.stack : String(error),
      );
    }
  }
}
