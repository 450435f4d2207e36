// Admin announcements on Socket.IO and raw WebSocket. It imports nothing from the library: the
// sample mounts RealtimeModule globally, so the guards, filters and RealtimeRateLimiter resolve here.
import { Module, type DynamicModule } from '@nestjs/common';
import type { RealtimeRateLimitBucket } from 'nest-realtime';
import { ANNOUNCEMENTS_BUCKET } from './announcement.types';
import { AnnouncementsIoGateway } from './announcements-io.gateway';
import { AnnouncementsWsGateway } from './announcements-ws.gateway';
import { AnnouncementsService } from './announcements.service';

@Module({})
export class AnnouncementsModule {
  static register(perMinute: number): DynamicModule {
    const bucket: RealtimeRateLimitBucket = { name: 'announce', perMinute };
    return {
      module: AnnouncementsModule,
      providers: [
        { provide: ANNOUNCEMENTS_BUCKET, useValue: bucket },
        AnnouncementsService,
        AnnouncementsIoGateway,
        AnnouncementsWsGateway,
      ],
    };
  }
}
