// Chat presence: `userStatus` when a user's first connection opens and when the last one
// closes (several tabs, or a chat socket and a ws connection, are one presence; with `redis`, on any
// node of the deployment: sent once, by the node that saw the transition); lastSeen is stored.
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { DeploymentPresence, type UserTransition } from '../core/scale-out/deployment-presence.service';
import { SocketIoServerRef } from '../core/transport/socket-io-server.ref';
import type { OnlineUsersPayload, UserStatusPayload } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { InjectUserDirectory, type UserDirectory } from '../storage/user-directory.interface';

@Injectable()
export class PresenceService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Presence');
  private subscription: Subscription | null = null;

  constructor(
    private readonly presence: DeploymentPresence,
    private readonly serverRef: SocketIoServerRef,
    @InjectUserDirectory() private readonly users: UserDirectory,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.presence.users$.subscribe((transition) => this.onTransition(transition));
  }

  beforeApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }

  /** Online users, then the most recently seen offline ones with their lastSeen. */
  async onlineUsers(): Promise<OnlineUsersPayload> {
    const online: UserStatusPayload[] = (await this.presence.onlineUsers()).map(({ userId, username }) => ({
      userId,
      username,
      isOnline: true,
    }));
    const onlineIds = new Set(online.map((user) => user.userId));
    const recent = await this.users.recentlySeen(this.options.chat.recentlySeenLimit + onlineIds.size);
    const offline: UserStatusPayload[] = recent
      .filter((user) => !onlineIds.has(user.id) && user.lastSeenAt !== null)
      .slice(0, this.options.chat.recentlySeenLimit)
      .map((user) => ({
        userId: user.id,
        username: user.username,
        isOnline: false,
        lastSeen: new Date(user.lastSeenAt ?? 0).toISOString(),
      }));
    return { users: [...online, ...offline] };
  }

  private onTransition({ online, userId, username, at, observed }: UserTransition): void {
    if (online) {
      this.emit({ userId, username, isOnline: true });
      return;
    }
    this.emit({ userId, username, isOnline: false, lastSeen: new Date(at).toISOString() });
    if (!observed) return;
    this.users.markSeen(userId, at).catch((error: unknown) => {
      this.logger.warn(
        `Could not store lastSeen of ${userId}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }

  /** To this node's sockets: with `redis`, every node hears each transition and tells its own. */
  private emit(status: UserStatusPayload): void {
    this.serverRef.get()?.local.emit('userStatus', status);
  }
}
