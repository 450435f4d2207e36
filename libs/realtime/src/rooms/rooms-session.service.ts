// What a /ws/chat connection may do, on top of the transport-free conversation layer: join and leave
// rooms (with presence notices), post to joined rooms, send direct messages, read history. The
// gateway validates frames and calls one method here; the rules live in RoomDirectory/MessagesService.
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { DirectConversationsService } from '../conversations/direct-conversations.service';
import { MessagesService } from '../conversations/messages.service';
import { RoomDirectory } from '../conversations/room-directory.service';
import type { HistoryQuery, MessageOrigin, NewMessage } from '../conversations/conversation.types';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeError } from '../core/errors/realtime-error';
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import { DeploymentPresence, type RoomTransition } from '../core/scale-out/deployment-presence.service';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import {
  DEFAULT_HISTORY_LIMIT,
  fromWireUserId,
  MAX_DM_CONVERSATIONS,
  RealtimeErrorCode,
  ROOMS_BATCH_QUERY,
  RoomsOutbound,
  toWireUserId,
  type DmConversationListData,
  type DmConversationsData,
  type HistoryRequestFields,
  type JoinRoomAckData,
  type LeaveRoomAckData,
  type MessageBodyFields,
  type MessageHistoryData,
  type WireUserId,
} from '../protocol';
import { RoomMembersRegistry } from './room-members.registry';
import { RoomsDelivery } from './rooms-delivery.service';
import { dmConversationsPayload, historyPayload, serializePresence } from './rooms.frames';

function toNewMessage(body: MessageBodyFields): NewMessage {
  return {
    content: body.content,
    messageType: body.message_type,
    mediaUrl: body.media_url,
    mediaType: body.media_type,
    duration: body.duration,
    replyTo: body.reply_to,
  };
}

/** Absent limit: 50, or the configured maximum when that is lower. */
function toHistoryQuery(request: HistoryRequestFields, maxLimit: number): HistoryQuery {
  return {
    limit: request.limit ?? Math.min(DEFAULT_HISTORY_LIMIT, maxLimit),
    offset: request.offset ?? 0,
    afterId: request.after_id,
  };
}

/** The posting connection and the request id of the frame being handled, when it carries one. */
function originOf(connection: RawWsConnection): MessageOrigin | undefined {
  const ref = connection.requestRef;
  return ref === undefined ? undefined : { connection, ref };
}

/** What the URL parser decodes (%XX) or removes (tab, LF, CR) in a URL. */
const SPELLS_OTHERWISE = /[%\t\n\r]/;

/** `?batch=1` (or `true`) on the connection URL opts into outbound message_batch frames. */
export function wantsOutboundBatches(url: string | undefined): boolean {
  // Every upgrade passes here: without the name in the URL, and nothing that the URL parser would
  // decode or drop to spell it (percent-encoding; tabs and line breaks, which it removes), the
  // parameter is absent, and no URL is parsed.
  if (url === undefined || (!url.includes(ROOMS_BATCH_QUERY) && !SPELLS_OTHERWISE.test(url))) return false;
  const value = new URL(url, 'http://localhost').searchParams.get(ROOMS_BATCH_QUERY);
  return value === '1' || value === 'true';
}

@Injectable()
export class RoomsSessionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription: Subscription | null = null;

  constructor(
    private readonly rooms: RoomDirectory,
    private readonly messages: MessagesService,
    private readonly directConversations: DirectConversationsService,
    private readonly members: RoomMembersRegistry,
    private readonly delivery: RoomsDelivery,
    private readonly presence: DeploymentPresence,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  /**
   * With `redis`, a user's first connection in a room and their last one leaving it are counted for
   * the deployment: each node hears every transition and tells its own members of the room.
   */
  onApplicationBootstrap(): void {
    if (!this.presence.distributed) return;
    this.presence.trackRooms(() => this.members.userRooms());
    this.subscription = this.presence.rooms$.subscribe((transition) => this.announce(transition));
  }

  beforeApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
  }

  private announce({ joined, room, userId, username }: RoomTransition): void {
    const type = joined ? RoomsOutbound.USER_CONNECTED : RoomsOutbound.USER_DISCONNECTED;
    this.delivery.toGroupExceptUser(
      this.members.roomGroup(room),
      serializePresence(type, { userId, username }, room),
      userId,
    );
  }

  /** A connection opened (authenticated at the handshake). */
  open(connection: RawWsConnection, identity: RealtimeIdentity): void {
    this.members.connect(connection, identity, wantsOutboundBatches(connection.request?.url));
  }

  /**
   * A connection closed or dropped: it leaves every room, and the rooms where it was its user's last
   * connection hear `user_disconnected`.
   */
  close(connection: RawWsConnection): void {
    this.delivery.forget(connection);
    const { identity, roomsLeft } = this.members.disconnect(connection);
    if (!identity) return;
    for (const room of roomsLeft) {
      if (this.presence.distributed) {
        this.presence.roomLeft(room, identity);
        continue;
      }
      this.delivery.toGroup(
        this.members.roomGroup(room),
        serializePresence(RoomsOutbound.USER_DISCONNECTED, identity, room),
      );
    }
  }

  /**
   * Joins, creating a missing room when auto-creation allows (ROOM_NOT_FOUND otherwise); PERMISSION_DENIED
   * for a private room or a refusal of the host's RoomPolicy; announces the user's first connection.
   */
  async join(connection: RawWsConnection, user: RealtimeIdentity, room: string): Promise<JoinRoomAckData> {
    const joined = await this.rooms.join(user, room);
    // A connection that closed while the room was looked up is not announced.
    if (this.presence.distributed) {
      if (this.members.has(connection) && this.members.join(connection, joined.name).firstOfUser) {
        this.presence.roomJoined(joined.name, user);
      }
    } else if (this.members.has(connection) && !this.members.isJoined(connection, joined.name)) {
      // Announced to the members already there, before the joiner is added (it gets the ack instead).
      if (!this.members.isUserInRoom(user.userId, joined.name)) {
        this.delivery.toGroup(
          this.members.roomGroup(joined.name),
          serializePresence(RoomsOutbound.USER_CONNECTED, user, joined.name),
        );
      }
      this.members.join(connection, joined.name);
    }
    return { room: joined.name, success: true, message: 'Joined room successfully' };
  }

  /**
   * Leaves a room (idempotent); the others hear `user_disconnected` when it was the user's last connection
   * there. Leaving creates nothing: ROOM_NOT_FOUND for a missing room.
   */
  async leave(connection: RawWsConnection, user: RealtimeIdentity, room: string): Promise<LeaveRoomAckData> {
    if (!this.members.isJoined(connection, room)) {
      await this.rooms.require(room);
      return { room, success: true, message: 'Not in room' };
    }
    if (this.members.leave(connection, room).lastOfUser) {
      if (this.presence.distributed) this.presence.roomLeft(room, user);
      else
        this.delivery.toGroup(
          this.members.roomGroup(room),
          serializePresence(RoomsOutbound.USER_DISCONNECTED, user, room),
        );
    }
    return { room, success: true, message: 'Left room successfully' };
  }

  /**
   * Posts to a room this connection joined. Not joined: PERMISSION_DENIED when a join would succeed in
   * finding or creating the room (nothing is created), else the join's error (ROOM_NOT_FOUND, with
   * `reason: 'room_limit'` at the cap). Delivery, the sender's own connection included, follows from
   * the bus once stored; the posting connection's copy carries the frame's request id.
   */
  async postToRoom(
    connection: RawWsConnection,
    user: RealtimeIdentity,
    room: string,
    body: MessageBodyFields,
  ): Promise<void> {
    if (!this.members.isJoined(connection, room)) {
      await this.rooms.assertJoinable(room);
      throw new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, 'Join the room before sending to it', {
        room,
      });
    }
    await this.messages.postToRoom(user, room, toNewMessage(body), originOf(connection));
  }

  /**
   * Sends a direct message; the recipient's and the sender's connections receive it from the bus, the
   * posting connection's copy with the frame's request id.
   */
  async postDirect(
    connection: RawWsConnection,
    user: RealtimeIdentity,
    to: WireUserId,
    body: MessageBodyFields,
  ): Promise<void> {
    const origin = originOf(connection);
    await this.withWireUserId(to, () =>
      this.messages.postDirect(user, fromWireUserId(to), toNewMessage(body), origin),
    );
  }

  async roomHistory(
    user: RealtimeIdentity,
    room: string,
    request: HistoryRequestFields,
  ): Promise<MessageHistoryData> {
    const query = toHistoryQuery(request, this.options.limits.maxHistoryLimit);
    this.messages.checkHistoryQuery(query);
    return historyPayload(await this.messages.roomHistory(user, room, query), { room });
  }

  async dmHistory(
    user: RealtimeIdentity,
    withUser: WireUserId,
    request: HistoryRequestFields,
  ): Promise<MessageHistoryData> {
    const query = toHistoryQuery(request, this.options.limits.maxHistoryLimit);
    this.messages.checkHistoryQuery(query);
    const otherId = fromWireUserId(withUser);
    const page = await this.withWireUserId(withUser, () => this.messages.dmHistory(user, otherId, query));
    return historyPayload(page, { with_user: toWireUserId(otherId) });
  }

  /** The user's direct conversations with messages after `after_id`, newest first (bounded). */
  async dmConversations(
    user: RealtimeIdentity,
    request: DmConversationsData,
  ): Promise<DmConversationListData> {
    const page = await this.directConversations.list(user.userId, {
      afterId: request.after_id,
      beforeId: request.before_id,
      limit: MAX_DM_CONVERSATIONS,
    });
    return dmConversationsPayload(page);
  }

  /** USER_NOT_FOUND names the user in wire form (a number for numeric ids), as the other payloads do. */
  private async withWireUserId<T>(userId: WireUserId, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof RealtimeError && error.code === RealtimeErrorCode.USER_NOT_FOUND) {
        throw new RealtimeError(error.code, error.message, {
          ...error.details,
          user_id: toWireUserId(fromWireUserId(userId)),
        });
      }
      throw error;
    }
  }
}
