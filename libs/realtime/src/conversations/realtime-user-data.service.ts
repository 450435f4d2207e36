// The one call that deletes what the library holds of a user (an erasure request, a closed account):
// their room messages, their direct conversations with every message of them, their room memberships
// (and their id as the creator of rooms), the log entries attributed to them (`LogEntry.userId`) and
// their record in the user directory. Each store deletes its part in small batches (see the stores'
// `deleteUserData`); with `redis` the other nodes drop the user's log entries from their in-memory
// backlog too. Open connections of the user are left open (the host ends its sessions, see
// docs/rooms.md): what they send afterwards is stored again.
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { RealtimeError } from '../core/errors/realtime-error';
import { REALTIME_REDIS, type RealtimeRedisClients } from '../core/scale-out/redis-clients.provider';
import { RedisRelay } from '../core/scale-out/redis-relay';
import { RealtimeSetupError } from '../core/transport/adapter-check.service';
import {
  InjectMessageStore,
  InjectRoomStore,
  type MessageStore,
  type RoomStore,
} from '../storage/realtime-storage.interface';
import { InjectUserDirectory, type UserDirectory } from '../storage/user-directory.interface';
import { LOG_STORE, type LogStore } from '../stream/log-store';

/** What `RealtimeUserData.deleteUserData` deleted. */
export interface DeletedUserData {
  /** Messages: the user's room messages and every message of their direct conversations. */
  messages: number;
  /** Room memberships of the user. */
  memberships: number;
  /** Direct conversations of the user (each with both users' messages). */
  directConversations: number;
  /** Log entries attributed to the user, kept or not yet written (0 without the log stream). */
  logEntries: number;
  /** Whether the user directory held a record of the user. */
  userRecord: boolean;
}

/** Messages deleted per statement. */
const USER_DATA_BATCH_SIZE = 500;

interface RelayedDeletion {
  userId: string;
}

@Injectable()
export class RealtimeUserData implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeUserData');
  private readonly relay: RedisRelay<RelayedDeletion> | null;

  constructor(
    @InjectMessageStore() private readonly messages: MessageStore,
    @InjectRoomStore() private readonly rooms: RoomStore,
    @InjectUserDirectory() private readonly users: UserDirectory,
    // Absent without the log stream (`gateways.logs: false`).
    @Optional() @Inject(LOG_STORE) private readonly logs: LogStore | null = null,
    @Optional() @Inject(REALTIME_REDIS) redis: RealtimeRedisClients | null = null,
  ) {
    this.relay =
      redis !== null && logs !== null
        ? new RedisRelay<RelayedDeletion>(redis, 'user-data', ({ userId }) => this.forgetRemotely(userId))
        : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const missing = this.missingMethods();
    if (missing.length > 0) {
      this.logger.warn(
        `deleteUserData() will refuse: the storage given does not implement ${missing.join(', ')}`,
      );
    }
    await this.relay?.start();
  }

  onModuleDestroy(): void {
    this.relay?.stop();
  }

  /**
   * Deletes everything the library stores of `userId` (see the file header) and returns what it
   * deleted. Other users' data stays, except their messages in direct conversations with this user.
   * A call that failed midway can be made again; the user's record goes last. RealtimeSetupError when
   * a store of the host's `storage` has no `deleteUserData`.
   */
  async deleteUserData(userId: string): Promise<DeletedUserData> {
    if (typeof userId !== 'string' || userId === '') {
      throw RealtimeError.invalidFormat('userId must be a non-empty string', { field: 'userId' });
    }
    const deleteMessages = this.messages.deleteUserData?.bind(this.messages);
    const deleteMemberships = this.rooms.deleteUserData?.bind(this.rooms);
    const deleteUser = this.users.deleteUserData?.bind(this.users);
    const deleteLogs = this.logs?.deleteUserData?.bind(this.logs);
    if (!deleteMessages || !deleteMemberships || !deleteUser || (this.logs !== null && !deleteLogs)) {
      throw new RealtimeSetupError(
        `deleteUserData() needs ${this.missingMethods().join(', ')}, which the storage given does not implement`,
      );
    }
    const started = Date.now();
    const { messages, directConversations } = await deleteMessages(userId, {
      batchSize: USER_DATA_BATCH_SIZE,
    });
    const memberships = await deleteMemberships(userId);
    const logEntries = deleteLogs ? await deleteLogs(userId) : 0;
    await this.relay?.send({ userId }, `the deletion of a user's log entries`);
    const userRecord = await deleteUser(userId);
    this.logger.log(
      `Deleted a user's data in ${Date.now() - started} ms: ${messages} messages, ` +
        `${directConversations} direct conversations, ${memberships} memberships, ${logEntries} log entries`,
    );
    return { messages, memberships, directConversations, logEntries, userRecord };
  }

  private missingMethods(): string[] {
    const stores: Array<[string, { deleteUserData?: unknown } | null]> = [
      ['storage.messages', this.messages],
      ['storage.rooms', this.rooms],
      ['storage.users', this.users],
      ['storage.logs', this.logs],
    ];
    return stores
      .filter(([, store]) => store !== null && typeof store.deleteUserData !== 'function')
      .map(([name]) => `${name}.deleteUserData`);
  }

  /** Another node deleted a user's data: their entries leave this node's log backlog too. */
  private forgetRemotely(userId: string): void {
    this.logs?.deleteUserData?.(userId).catch((error: unknown) => {
      this.logger.error(
        "Deleting a user's log entries relayed by another node failed",
        error instanceof Error ? error.stack : String(error),
      );
    });
  }
}
