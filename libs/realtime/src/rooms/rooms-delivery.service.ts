// Delivery of /ws/chat: every message the conversation layer stored (whichever transport posted it)
// reaches this node's connections of the room, or the two users of a direct message; presence
// notices go the same way. A frame is serialised once and handed to fanOut, and counted for
// RoomsMonitor once per group (one increment of N, not N increments).
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { ConversationBus } from '../conversations/conversation-bus';
import type { ConversationEvent } from '../conversations/conversation.types';
import { fanOut } from '../core/transport/fan-out';
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import { RoomsOutbound, type RoomsOutboundType } from '../protocol';
import type { ConnectionGroup } from './connection-group';
import { OutboundBatcher } from './outbound-batcher';
import { RoomMembersRegistry } from './room-members.registry';
import { RoomsMonitor } from './rooms-monitor.service';
import { serializeDirectMessage, serializeRoomMessage } from './rooms.frames';

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
   * names the frame for the monitor; without it, the monitor reads it from the frame's start.
   */
  toGroup(group: ConnectionGroup | undefined, serialized: string, type?: RoomsOutboundType): number {
    if (!group) return 0;
    let delivered = fanOut(group.direct, serialized);
    for (const connection of group.batched) {
      if (this.batcher.enqueue(connection, serialized)) delivered += 1;
    }
    if (delivered > 0) {
      if (type === undefined) this.monitor.sentSerialized(serialized, delivered);
      else this.monitor.sent(type, delivered);
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
          this.toGroup(group, serializeRoomMessage(event.message, event.room), RoomsOutbound.ROOM_MESSAGE);
        }
        return;
      }
      const { senderId, recipientId } = event.message;
      const recipients = recipientId === null ? undefined : this.members.userGroup(recipientId);
      const senders = senderId === recipientId ? undefined : this.members.userGroup(senderId);
      if (!recipients && !senders) return;
      const serialized = serializeDirectMessage(event.message);
      this.toGroup(recipients, serialized, RoomsOutbound.DIRECT_MESSAGE);
      this.toGroup(senders, serialized, RoomsOutbound.DIRECT_MESSAGE);
    } catch (error) {
      this.logger.error(
        `Delivery of message ${event.message.id} failed`,
        error instanceof Error ? error.stack : String(error),
      );
    }
  }
}
