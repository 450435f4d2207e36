// Default UserDirectory on the library's TypeORM connection.
import { randomUUID } from 'crypto';
import { IsNull, Not, type DataSource } from 'typeorm';
import { RealtimeErrorCode } from '../../protocol';
import { RealtimeError } from '../../core/errors/realtime-error';
import { UserEntity } from './entities/user.entity';
import type { WriteQueue } from './write-transaction';
import type { RealtimeUser, RegisterUserInput, UserDirectory } from '../user-directory.interface';
import { checkRegistration } from '../user-registration';

function toUser(row: UserEntity): RealtimeUser {
  return {
    id: row.userId,
    username: row.username,
    email: row.email,
    roles: row.roles,
    createdAt: row.createdAt,
    lastSeenAt: row.lastSeenAt,
  };
}

export class TypeOrmUserDirectory implements UserDirectory {
  constructor(
    private readonly dataSource: DataSource,
    private readonly writes: WriteQueue,
  ) {}

  private get users() {
    return this.dataSource.getRepository(UserEntity);
  }

  async register(input: RegisterUserInput): Promise<RealtimeUser> {
    checkRegistration(input);
    return this.writes.transaction(async (manager) => {
      const repo = manager.getRepository(UserEntity);
      const existing = await repo.findOne({
        where:
          input.id !== undefined
            ? [{ userId: input.id }, { username: input.username }]
            : { username: input.username },
      });
      if (existing) {
        if (input.id !== undefined && existing.userId !== input.id) {
          throw new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, 'Username already taken', {
            field: 'username',
          });
        }
        if (input.roles !== undefined) existing.roles = input.roles;
        if (input.email !== undefined) existing.email = input.email;
        return toUser(await repo.save(existing));
      }
      const row = repo.create({
        userId: input.id ?? `pending:${randomUUID()}`,
        username: input.username,
        email: input.email ?? null,
        roles: input.roles ?? [],
        lastSeenAt: null,
      });
      const saved = await repo.save(row);
      if (input.id === undefined) {
        // No id from the host: the row number becomes the public, numeric user id.
        saved.userId = String(saved.seq);
        await repo.update({ seq: saved.seq }, { userId: saved.userId });
      }
      return toUser(saved);
    });
  }

  async findById(id: string): Promise<RealtimeUser | null> {
    const row = await this.users.findOne({ where: { userId: id } });
    return row ? toUser(row) : null;
  }

  async findByUsername(username: string): Promise<RealtimeUser | null> {
    const row = await this.users.findOne({ where: { username } });
    return row ? toUser(row) : null;
  }

  /** In turn with the library's other writers (see WriteQueue.write). */
  async markSeen(id: string, at: number): Promise<void> {
    await this.writes.write(() => this.users.update({ userId: id }, { lastSeenAt: at }));
  }

  async recentlySeen(limit: number): Promise<RealtimeUser[]> {
    if (limit <= 0) return [];
    const rows = await this.users.find({
      where: { lastSeenAt: Not(IsNull()) },
      order: { lastSeenAt: 'DESC' },
      take: limit,
    });
    return rows.map(toUser);
  }

  count(): Promise<number> {
    return this.users.count();
  }

  async deleteUserData(id: string): Promise<boolean> {
    const deleted = await this.writes.transaction((manager) => manager.delete(UserEntity, { userId: id }));
    return (deleted.affected ?? 0) > 0;
  }
}
