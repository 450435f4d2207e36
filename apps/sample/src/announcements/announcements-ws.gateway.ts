// Announcements on raw WebSocket at /ws/announcements: every announcement as a frame to every
// listener; only admins may `announce` (`@RealtimeRoles('admin')`, checked by the library's guards).
import { UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import { MessageBody, SubscribeMessage, type OnGatewayInit, type WsResponse } from '@nestjs/websockets';
import {
  ConnectedUser,
  createRealtimeValidationPipe,
  dataEnvelopeCodec,
  fanOut,
  RealtimeAuthGuard,
  RealtimeGateway,
  RealtimeRoles,
  RealtimeRolesGuard,
  RealtimeWsExceptionFilter,
  type RawWsServer,
  type RealtimeIdentity,
} from 'nest-realtime';
import { AnnounceDto } from './announce.dto';
import { ANNOUNCEMENTS_WS_PATH, AnnouncementEvent, type Announcement } from './announcement.types';
import { AnnouncementsService } from './announcements.service';

/** Raw WebSocket at /ws/announcements: the same `announce`, and every announcement as a frame. */
@RealtimeGateway({ transport: 'ws', path: ANNOUNCEMENTS_WS_PATH, codec: dataEnvelopeCodec })
@UseFilters(RealtimeWsExceptionFilter)
@UsePipes(createRealtimeValidationPipe())
export class AnnouncementsWsGateway implements OnGatewayInit<RawWsServer> {
  constructor(private readonly announcements: AnnouncementsService) {}

  afterInit(server: RawWsServer): void {
    // Serialised once per announcement for all listeners; the subscription ends with the service.
    this.announcements.announcements.subscribe((announcement) => {
      fanOut(server.connections, dataEnvelopeCodec.encode(AnnouncementEvent.ANNOUNCEMENT, announcement));
    });
  }

  @SubscribeMessage(AnnouncementEvent.ANNOUNCE)
  @UseGuards(RealtimeAuthGuard, RealtimeRolesGuard)
  @RealtimeRoles('admin')
  async announce(
    @ConnectedUser() user: RealtimeIdentity,
    @MessageBody() dto: AnnounceDto,
  ): Promise<WsResponse<Announcement>> {
    return { event: AnnouncementEvent.ANNOUNCED, data: await this.announcements.announce(user, dto.text) };
  }
}
