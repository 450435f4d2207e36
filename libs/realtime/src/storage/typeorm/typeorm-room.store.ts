// RoomStore on the library's TypeORM connection: rooms and memberships. Every write goes through the
// write queue: on SQLite's one shared connection, a statement run while another writer's transaction
// is open is part of that transaction (and lost if it rolls back).
import type { DataSource } from 'typeorm';
import { MembershipEntity } from './entities/membership.entity';
import { RoomEntity } from './entities/room.entity';
import type { RoomRecord, RoomStore } from '../realtime-storage.interface';
import { nativeSqlite, PreparedStatements, type WriteQueue } from './write-transaction';

function toRecord(room: RoomEntity): RoomRecord {
  return { id: room.id, name: room.name, isPrivate: room.isPrivate, createdBy: room.createdBy };
}

export class TypeOrmRoomStore implements RoomStore {
  private readonly statements = new PreparedStatements();
  private membershipStatements: { upsert: string; remove: string } | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly writes: WriteQueue,
  ) {}

  private get rooms() {
    return this.dataSource.getRepository(RoomEntity);
  }

  private get memberships() {
    return this.dataSource.getRepository(MembershipEntity);
  }

  async findByName(name: string): Promise<RoomRecord | null> {
    const room = await this.rooms.findOne({ where: { name } });
    return room === null ? null : toRecord(room);
  }

  async create(room: { name: string; isPrivate: boolean; createdBy: string | null }): Promise<RoomRecord> {
    // save() opens a transaction of its own: queued with the library's other writers on SQLite.
    const saved = await this.writes.transaction((manager) =>
      manager
        .getRepository(RoomEntity)
        .save(manager.getRepository(RoomEntity).create({ ...room, messageCount: 0, lastSeq: 0 })),
    );
    return toRecord(saved);
  }

  async list(): Promise<RoomRecord[]> {
    return (await this.rooms.find({ order: { id: 'ASC' } })).map(toRecord);
  }

  count(): Promise<number> {
    return this.rooms.count();
  }

  /**
   * Records a member (a second join refreshes the time). In turn with the library's other writers:
   * on the embedded SQLite, a prepared statement, as every join of a public room writes one.
   */
  async addMember(roomId: number, userId: string, at: number): Promise<void> {
    const db = nativeSqlite(this.dataSource);
    if (db !== null) {
      const upsert = this.statements.get(db, this.membershipSql().upsert);
      await this.writes.sqliteTransaction(db, () => upsert.run(roomId, userId, at));
      return;
    }
    await this.writes.write(() =>
      this.memberships.upsert({ roomId, userId, joinedAt: at }, ['roomId', 'userId']),
    );
  }

  async removeMember(roomId: number, userId: string): Promise<void> {
    const db = nativeSqlite(this.dataSource);
    if (db !== null) {
      const remove = this.statements.get(db, this.membershipSql().remove);
      await this.writes.sqliteTransaction(db, () => remove.run(roomId, userId));
      return;
    }
    await this.writes.write(() => this.memberships.delete({ roomId, userId }));
  }

  isMember(roomId: number, userId: string): Promise<boolean> {
    return this.memberships.exists({ where: { roomId, userId } });
  }

  /** The membership statements of the embedded SQLite, named from the entity's metadata (built once). */
  private membershipSql(): { upsert: string; remove: string } {
    if (this.membershipStatements === null) {
      const metadata = this.dataSource.getMetadata(MembershipEntity);
      const { driver } = this.dataSource;
      const column = (property: keyof MembershipEntity): string =>
        driver.escape(metadata.findColumnWithPropertyName(property)!.databaseName);
      const table = driver.escape(metadata.tableName);
      const [room, user, joinedAt] = [column('roomId'), column('userId'), column('joinedAt')];
      this.membershipStatements = {
        upsert:
          `INSERT INTO ${table} (${room}, ${user}, ${joinedAt}) VALUES (?, ?, ?) ` +
          `ON CONFLICT (${room}, ${user}) DO UPDATE SET ${joinedAt} = excluded.${joinedAt}`,
        remove: `DELETE FROM ${table} WHERE ${room} = ? AND ${user} = ?`,
      };
    }
    return this.membershipStatements;
  }

  /** One statement per table (memberships have no index by user alone: a scan, for a rare call). */
  deleteUserData(userId: string): Promise<number> {
    return this.writes.transaction(async (manager) => {
      const deleted = await manager.delete(MembershipEntity, { userId });
      await manager.update(RoomEntity, { createdBy: userId }, { createdBy: null });
      return deleted.affected ?? 0;
    });
  }
}
