// User events of the events API: rt_user_logged_in / rt_user_logged_out to admins, rt_user_profile_updated
// to admins and to the user's own sockets.
import { Injectable, Logger } from '@nestjs/common';
import type { UserLoggedInPayload, UserProfileUpdatedPayload } from '../protocol';
import { AdminEvents } from './admin-events.service';
import { EventsManager } from './events-manager.service';

@Injectable()
export class UserEvents {
  private readonly logger = new Logger('UserEvents');

  constructor(
    private readonly events: EventsManager,
    private readonly admin: AdminEvents,
  ) {}

  emitUserLoggedIn(user: UserLoggedInPayload): void {
    this.logger.log(`User logged in: ${user.name} (ID: ${user.id})`);
    this.events.emitToAdmins('rt_user_logged_in', {
      id: user.id,
      name: user.name,
      email: user.email,
      isAdmin: user.isAdmin,
    });
    this.admin.scheduleStatsUpdate();
  }

  emitUserLoggedOut(user: { id: string; name: string }, logoutTime: string = new Date().toISOString()): void {
    this.logger.log(`User logged out: ${user.name} (ID: ${user.id})`);
    this.events.emitToAdmins('rt_user_logged_out', { id: user.id, name: user.name, logoutTime });
    this.admin.scheduleStatsUpdate();
  }

  emitUserProfileUpdated(user: UserProfileUpdatedPayload): void {
    this.events.emitToTargets({ admins: true, users: [user.id] }, 'rt_user_profile_updated', {
      id: user.id,
      name: user.name,
      email: user.email,
    });
  }
}
