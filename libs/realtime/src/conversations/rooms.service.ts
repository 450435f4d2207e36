// Rooms: created at start from the options or through this service; private rooms admit members only.
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RealtimeErrorCode } from '../protocol';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeError } from '../core/errors/realtime-error';
import { REALTIME_CONNECTION, REALTIME_OPTIONS } from '../realtime.constants';
import { ROOM_NAME, type ResolvedRealtimeOptions } from '../realtime.options';
import { MembershipEntity } from '../storage/entities/membership.entity';
import { RoomEntity } from '../storage/entities/room.entity';
import type { RoomSummary } from './conversation.types';

function summary(room: RoomEntity): RoomSummary {
  return { id: room.id, name: room.name, isPrivate: room.isPrivate };
}

@Injectable()
export class RoomsService implements OnApplicationBootstrap {
  constructor(
    @InjectDataSource(REALTIME_CONNECTION) private readonly dataSource: DataSource,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  private get rooms() {
    return this.dataSource.getRepository(RoomEntity);
  }

  private get memberships() {
    return this.dataSource.getRepository(MembershipEntity);
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const room of this.options.rooms.initial) {
      if (!(await this.find(room.name))) await this.create({ name: room.name, isPrivate: room.isPrivate });
    }
  }

  /** Creates a room; INVALID_FORMAT for a bad name, PERMISSION_DENIED when the name is taken. */
  async create(input: { name: string; isPrivate?: boolean; createdBy?: string }): Promise<RoomSummary> {
    if (!ROOM_NAME.test(input.name)) {
      throw RealtimeError.invalidFormat('Room name must be 1-64 letters, digits, _ . or -', {
        field: 'room',
      });
    }
    if (await this.find(input.name)) {
      throw new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, 'Room already exists', {
        room: input.name,
      });
    }
    const room = await this.rooms.save(
      this.rooms.create({
        name: input.name,
        isPrivate: input.isPrivate === true,
        createdBy: input.createdBy ?? null,
        messageCount: 0,
      }),
    );
    if (room.isPrivate && input.createdBy) await this.addMember(room.name, input.createdBy);
    return summary(room);
  }

  async list(): Promise<RoomSummary[]> {
    return (await this.rooms.find({ order: { id: 'ASC' } })).map(summary);
  }

  async find(name: string): Promise<RoomEntity | null> {
    return this.rooms.findOne({ where: { name } });
  }

  /** The room, or ROOM_NOT_FOUND with details.room. */
  async require(name: string): Promise<RoomEntity> {
    const room = await this.find(name);
    if (!room) throw new RealtimeError(RealtimeErrorCode.ROOM_NOT_FOUND, 'Room not found', { room: name });
    return room;
  }

  async addMember(roomName: string, userId: string): Promise<void> {
    const room = await this.require(roomName);
    await this.memberships.upsert({ roomId: room.id, userId, joinedAt: Date.now() }, ['roomId', 'userId']);
  }

  async removeMember(roomName: string, userId: string): Promise<void> {
    const room = await this.require(roomName);
    await this.memberships.delete({ roomId: room.id, userId });
  }

  async isMember(roomId: number, userId: string): Promise<boolean> {
    return this.memberships.exists({ where: { roomId, userId } });
  }

  /** May this user read and write in the room? Private rooms: members (and admins) only. */
  async assertAccess(user: RealtimeIdentity, room: RoomEntity): Promise<void> {
    if (!room.isPrivate || user.isAdmin) return;
    if (!(await this.isMember(room.id, user.userId))) {
      throw new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, 'This room is private', {
        room: room.name,
      });
    }
  }

  /** Checks access and records the membership (public rooms); returns the room. */
  async join(user: RealtimeIdentity, name: string): Promise<RoomSummary> {
    const room = await this.require(name);
    await this.assertAccess(user, room);
    if (!room.isPrivate) {
      await this.memberships.upsert({ roomId: room.id, userId: user.userId, joinedAt: Date.now() }, [
        'roomId',
        'userId',
      ]);
    }
    return summary(room);
  }
}
