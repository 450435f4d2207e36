// Admin events of the events API: rt_global_stats_updated with the deployment's figures, coalesced over a
// short window and sent to admins only when a figure changed.
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import stringify from 'safe-stable-stringify';
import type { Subscription } from 'rxjs';
import type { GlobalStats } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { DeploymentPresence } from '../core/scale-out/deployment-presence.service';
import { InjectUserDirectory, type UserDirectory } from '../storage/user-directory.interface';
import { EventsManager } from './events-manager.service';

@Injectable()
export class AdminEvents implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AdminEvents');
  private timer: NodeJS.Timeout | null = null;
  private lastSent: string | null = null;
  private subscription: Subscription | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly events: EventsManager,
    private readonly presence: DeploymentPresence,
    @InjectUserDirectory() private readonly users: UserDirectory,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.presence.changes$.subscribe(() => this.scheduleStatsUpdate());
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    this.subscription?.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async getStats(): Promise<GlobalStats> {
    const [totalUsers, live] = await Promise.all([this.users.count(), this.presence.stats()]);
    return { totalUsers, ...live };
  }

  /** Asks for a stats update; several requests within the window make one computation. */
  scheduleStatsUpdate(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(async () => {
        await this.emitIfChanged();
      });
    }, this.options.events.statsThrottleMs);
    this.timer.unref();
  }

  /** Sends `rt_global_stats_updated` to admins if the figures differ from the last ones sent. */
  async emitIfChanged(): Promise<boolean> {
    try {
      const stats = await this.getStats();
      const fingerprint = stringify(stats) ?? '';
      // A computation that was already running when the app shut down sends nothing.
      if (this.stopped || fingerprint === this.lastSent) return false;
      this.lastSent = fingerprint;
      // The figures are the deployment's; each node tells its own admins when they change (a change
      // on another node reaches this one as a notice), so an admin hears each change once.
      this.events.emitToLocalAdmins('rt_global_stats_updated', { stats });
      return true;
    } catch (error) {
      this.logger.error(
        'Could not compute global stats',
        error instanceof Error ? error.stack : String(error),
      );
      return false;
    }
  }
}
