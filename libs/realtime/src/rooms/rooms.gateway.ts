// Rooms and direct messages over raw ws at `paths.rooms` (default /ws/chat): one handler per inbound frame type, each
// validating its DTO and calling RoomsSessionService. Parsing, INVALID_FORMAT for bad frames, inbound
// message_batch, ordering, heartbeat and limits are the adapter's; delivery is RoomsDelivery's.
// room_message and direct_message, one per message posted, and join_room and leave_room, one per
// connection or more (a reconnecting fleet joins all at once), are routed directly (same DTO
// validation, same error frames, same request ids) rather than through Nest's per-call pipeline: see
// RawWsServer.routeDirect.
// RoomsMonitor watches the endpoint (log lines, Prometheus series). `auth_refresh` gives an open
// connection a fresh token of its user (RawWsServer.refresh): its rooms are kept.
import { UseFilters, UsePipes } from '@nestjs/common';
import {
  MessageBody,
  SubscribeMessage,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  type WsResponse,
} from '@nestjs/websockets';
import { AuthRefreshDto } from '../core/auth/auth-refresh.dto';
import { ConnectedUser, identityOfClient } from '../core/auth/connected-user.decorator';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeWsExceptionFilter } from '../core/filters/realtime-ws-exception.filter';
import { CompiledValidationPipe } from '../core/compiled-validation.pipe';
import { dataEnvelopeCodec } from '../core/transport/frame-codec';
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import { RawWsServer } from '../core/transport/raw-ws-server';
import { RealtimeGateway } from '../core/transport/realtime-gateway.decorator';
import {
  RoomsInbound,
  RoomsOutbound,
  toWireUserId,
  type AuthRefreshAckData,
  type DmConversationListData,
  type JoinRoomAckData,
  type LeaveRoomAckData,
  type MessageHistoryData,
  type PongData,
} from '../protocol';
import { WsConnection } from '../core/transport/ws-connection.decorator';
import { DirectMessageDto } from './dto/direct-message.dto';
import { DmConversationsDto } from './dto/dm-conversations.dto';
import { DmHistoryDto } from './dto/dm-history.dto';
import { JoinRoomDto } from './dto/join-room.dto';
import { LeaveRoomDto } from './dto/leave-room.dto';
import { RoomHistoryDto } from './dto/room-history.dto';
import { RoomMessageDto } from './dto/room-message.dto';
import { RoomsMonitor } from './rooms-monitor.service';
import { RoomsSessionService } from './rooms-session.service';

@RealtimeGateway({ transport: 'ws', path: '@rooms', codec: dataEnvelopeCodec, batchType: 'message_batch' })
@UseFilters(RealtimeWsExceptionFilter)
@UsePipes(new CompiledValidationPipe())
export class RoomsGateway implements OnGatewayInit<RawWsServer>, OnGatewayConnection, OnGatewayDisconnect {
  /** The endpoint this gateway serves (set in afterInit). */
  private endpoint: RawWsServer | null = null;

  constructor(
    private readonly sessions: RoomsSessionService,
    private readonly monitor: RoomsMonitor,
  ) {}

  afterInit(server: RawWsServer): void {
    // Bound to another adapter than RealtimeAdapter: RealtimeAdapterCheck stops the boot right after,
    // with the line to add.
    if (!(server instanceof RawWsServer)) return;
    this.endpoint = server;
    this.monitor.watch(server.path);
    server.routeDirect(RoomsInbound.ROOM_MESSAGE, RoomMessageDto, (connection, dto) =>
      this.roomMessage(connection, identityOfClient(connection), dto),
    );
    server.routeDirect(RoomsInbound.DIRECT_MESSAGE, DirectMessageDto, (connection, dto) =>
      this.directMessage(connection, identityOfClient(connection), dto),
    );
    server.routeDirect(RoomsInbound.JOIN_ROOM, JoinRoomDto, (connection, dto) =>
      this.joinRoom(connection, identityOfClient(connection), dto),
    );
    server.routeDirect(RoomsInbound.LEAVE_ROOM, LeaveRoomDto, (connection, dto) =>
      this.leaveRoom(connection, identityOfClient(connection), dto),
    );
  }

  handleConnection(client: RawWsConnection): void {
    const user = identityOfClient(client);
    this.sessions.open(client, user);
    this.monitor.opened(client, user);
  }

  /** After the endpoint's cleanup (RawWsServer.closed), which recorded the close code. */
  handleDisconnect(client: RawWsConnection): void {
    this.monitor.closed(client, client.closeCode ?? 1006);
    this.sessions.close(client);
  }

  async joinRoom(
    connection: RawWsConnection,
    user: RealtimeIdentity,
    dto: JoinRoomDto,
  ): Promise<WsResponse<JoinRoomAckData>> {
    return { event: RoomsOutbound.JOIN_ROOM_ACK, data: await this.sessions.join(connection, user, dto.room) };
  }

  async leaveRoom(
    connection: RawWsConnection,
    user: RealtimeIdentity,
    dto: LeaveRoomDto,
  ): Promise<WsResponse<LeaveRoomAckData>> {
    return {
      event: RoomsOutbound.LEAVE_ROOM_ACK,
      data: await this.sessions.leave(connection, user, dto.room),
    };
  }

  /**
   * No direct answer: the stored message comes back as a `room_message` to every member, sender
   * included (the sending connection's copy with the frame's `ref`, when it has one).
   */
  async roomMessage(connection: RawWsConnection, user: RealtimeIdentity, dto: RoomMessageDto): Promise<void> {
    await this.sessions.postToRoom(connection, user, dto.room, dto);
  }

  /** No direct answer: the stored message reaches the recipient's and the sender's connections. */
  async directMessage(
    connection: RawWsConnection,
    user: RealtimeIdentity,
    dto: DirectMessageDto,
  ): Promise<void> {
    await this.sessions.postDirect(connection, user, dto.to_user_id, dto);
  }

  @SubscribeMessage(RoomsInbound.ROOM_HISTORY)
  async roomHistory(
    @ConnectedUser() user: RealtimeIdentity,
    @MessageBody() dto: RoomHistoryDto,
  ): Promise<WsResponse<MessageHistoryData>> {
    return {
      event: RoomsOutbound.MESSAGE_HISTORY,
      data: await this.sessions.roomHistory(user, dto.room, dto),
    };
  }

  @SubscribeMessage(RoomsInbound.DM_HISTORY)
  async dmHistory(
    @ConnectedUser() user: RealtimeIdentity,
    @MessageBody() dto: DmHistoryDto,
  ): Promise<WsResponse<MessageHistoryData>> {
    return {
      event: RoomsOutbound.MESSAGE_HISTORY,
      data: await this.sessions.dmHistory(user, dto.with_user, dto),
    };
  }

  @SubscribeMessage(RoomsInbound.DM_CONVERSATIONS)
  async dmConversations(
    @ConnectedUser() user: RealtimeIdentity,
    @MessageBody() dto: DmConversationsDto,
  ): Promise<WsResponse<DmConversationListData>> {
    return {
      event: RoomsOutbound.DM_CONVERSATIONS,
      data: await this.sessions.dmConversations(user, dto),
    };
  }

  /** Refused: `error` AUTH_FAILED (`details.reason: 'refresh_refused'`), the connection keeping its token. */
  @SubscribeMessage(RoomsInbound.AUTH_REFRESH)
  authRefresh(
    @WsConnection() connection: RawWsConnection,
    @MessageBody() dto: AuthRefreshDto,
  ): WsResponse<AuthRefreshAckData> {
    if (!this.endpoint) throw new Error('The rooms endpoint is not bound to RealtimeAdapter');
    const { userId, expiresAt } = this.endpoint.refresh(connection, dto.token);
    return {
      event: RoomsOutbound.AUTH_REFRESH_ACK,
      data: {
        user_id: toWireUserId(userId),
        expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString(),
      },
    };
  }

  @SubscribeMessage(RoomsInbound.PING)
  ping(): WsResponse<PongData> {
    return { event: RoomsOutbound.PONG, data: { timestamp: new Date().toISOString() } };
  }
}
