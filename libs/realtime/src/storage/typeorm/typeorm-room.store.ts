// RoomStore on the library's TypeORM connection: rooms and memberships.
import type { DataSource } from 'typeorm';
import { MembershipEntity } from './entities/membership.entity';
import { RoomEntity } from './entities/room.entity';
import type { RoomRecord, RoomStore } from '../realtime-storage.interface';
import type { WriteQueue } from './write-transaction';

function toRecord(room: RoomEntity): RoomRecord {
  return { id: room.id, name: room.name, isPrivate: room.isPrivate, createdBy: room.createdBy };
}

export class TypeOrmRoomStore implements RoomStore {
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

  async addMember(roomId: number, userId: string, at: number): Promise<void> {
    await this.memberships.upsert({ roomId, userId, joinedAt: at }, ['roomId', 'userId']);
  }

  async removeMember(roomId: number, userId: string): Promise<void> {
    await this.memberships.delete({ roomId, userId });
  }

  isMember(roomId: number, userId: string): Promise<boolean> {
    return this.memberships.exists({ where: { roomId, userId } });
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
