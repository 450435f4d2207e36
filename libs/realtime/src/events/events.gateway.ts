// The events API over Socket.IO: clients connect with a token and a page; the server pushes rt_* events;
// a reconnecting client asks `rt_sync` for the current state.
import { Inject, UseFilters } from '@nestjs/common';
import { SubscribeMessage } from '@nestjs/websockets';
import { RT_SYNC_EVENT, type SyncStatePayload } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { ConnectedUser } from '../core/auth/connected-user.decorator';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeIoExceptionFilter } from '../core/filters/realtime-io-exception.filter';
import { RealtimeGateway } from '../core/transport/realtime-gateway.decorator';
import { AdminEvents } from './admin-events.service';
import { ModuleEvents } from './module-events.service';

@RealtimeGateway({ transport: 'socket.io' })
@UseFilters(RealtimeIoExceptionFilter)
export class EventsGateway {
  constructor(
    private readonly modules: ModuleEvents,
    private readonly admin: AdminEvents,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  /** State sync after a reconnection: the modules' current state (see ModuleStateSource), and stats for admins. */
  @SubscribeMessage(RT_SYNC_EVENT)
  async sync(@ConnectedUser() user: RealtimeIdentity): Promise<SyncStatePayload> {
    const seesModules = user.isAdmin || user.page === this.options.events.modulesPage;
    const state: SyncStatePayload = {
      serverTime: new Date().toISOString(),
      user: { id: user.userId, username: user.username, isAdmin: user.isAdmin, page: user.page },
      modules: seesModules ? await this.modules.currentStates() : [],
    };
    if (user.isAdmin) state.stats = await this.admin.getStats();
    return state;
  }
}
