// Announcements on Socket.IO: any authenticated client gets `announcement`; only admins may
// `announce` (`@RealtimeRoles('admin')`, checked by the library's guards on the handler).
import { UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import { MessageBody, SubscribeMessage, type WsResponse } from '@nestjs/websockets';
import {
  ConnectedUser,
  createRealtimeValidationPipe,
  RealtimeAuthGuard,
  RealtimeGateway,
  RealtimeIoExceptionFilter,
  RealtimeRoles,
  RealtimeRolesGuard,
  type RealtimeIdentity,
} from 'nest-realtime';
import { AnnounceDto } from './announce.dto';
import { AnnouncementEvent, type Announcement } from './announcement.types';
import { AnnouncementsService } from './announcements.service';

/** Socket.IO: `announce` on the library's authenticated server; everyone gets `announcement`. */
@RealtimeGateway({ transport: 'socket.io' })
@UseFilters(RealtimeIoExceptionFilter)
@UsePipes(createRealtimeValidationPipe())
export class AnnouncementsIoGateway {
  constructor(private readonly announcements: AnnouncementsService) {}

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
