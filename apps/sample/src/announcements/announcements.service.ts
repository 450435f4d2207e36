// Admin announcements: rate-limited per admin with the library's injectable RealtimeRateLimiter (a
// bucket of their own, across both transports), then sent to every Socket.IO client and published
// for the raw WebSocket gateway's listeners.
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'crypto';
import {
  EventsManager,
  RealtimeRateLimiter,
  type RealtimeIdentity,
  type RealtimeRateLimitBucket,
} from 'nest-realtime';
import { Subject, type Observable } from 'rxjs';
import { ANNOUNCEMENTS_BUCKET, AnnouncementEvent, type Announcement } from './announcement.types';

@Injectable()
export class AnnouncementsService implements OnModuleDestroy {
  private readonly published = new Subject<Announcement>();

  constructor(
    private readonly limiter: RealtimeRateLimiter,
    private readonly events: EventsManager,
    @Inject(ANNOUNCEMENTS_BUCKET) private readonly bucket: RealtimeRateLimitBucket,
  ) {}

  /** Every announcement made, for the raw WebSocket listeners. */
  get announcements(): Observable<Announcement> {
    return this.published.asObservable();
  }

  /** Throws RATE_LIMITED (details.retry_after_ms) past the admin's announcements per minute. */
  async announce(user: RealtimeIdentity, text: string): Promise<Announcement> {
    await this.limiter.consume(user.userId, this.bucket);
    const announcement: Announcement = { id: randomUUID(), text, from: user.username, at: Date.now() };
    this.events.broadcast(AnnouncementEvent.ANNOUNCEMENT, announcement);
    this.published.next(announcement);
    return announcement;
  }

  onModuleDestroy(): void {
    this.published.complete();
  }
}
