// Rooms: created at start from the options or through this service; private rooms admit members only.
// Storage is the RoomStore's (no SQL here).
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { RealtimeErrorCode } from '../protocol';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeError } from '../core/errors/realtime-error';
import { REALTIME_OPTIONS } from '../realtime.constants';
import { ROOM_NAME } from '../protocol';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { InjectRoomStore, type RoomRecord, type RoomStore } from '../storage/realtime-storage.interface';
import type { RoomSummary } from './conversation.types';

function summary(room: RoomSummary): RoomSummary {
  return { id: room.id, name: room.name, isPrivate: room.isPrivate };
}

/** Rooms whose id and privacy are remembered (neither changes once a room exists). */
const KNOWN_ROOMS_MAX = 10_000;

@Injectable()
export class RoomDirectory implements OnApplicationBootstrap {
  /**
   * Existing rooms by name, so that posting a message costs no room lookup. Only rooms found are
   * kept (a missing one may be created later, on any node); no API renames or deletes a room.
   */
  private readonly known = new LRUCache<string, RoomSummary>({ max: KNOWN_ROOMS_MAX });

  constructor(
    @InjectRoomStore() private readonly rooms: RoomStore,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

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
    const room = await this.rooms.create({
      name: input.name,
      isPrivate: input.isPrivate === true,
      createdBy: input.createdBy ?? null,
    });
    if (room.isPrivate && input.createdBy) await this.addMember(room.name, input.createdBy);
    return summary(room);
  }

  async list(): Promise<RoomSummary[]> {
    return (await this.rooms.list()).map(summary);
  }

  async find(name: string): Promise<RoomRecord | null> {
    return this.rooms.findByName(name);
  }

  /** The room, or ROOM_NOT_FOUND with details.room. */
  async require(name: string): Promise<RoomRecord> {
    const room = await this.find(name);
    if (!room) throw new RealtimeError(RealtimeErrorCode.ROOM_NOT_FOUND, 'Room not found', { room: name });
    this.known.set(room.name, summary(room));
    return room;
  }

  /** Id, name and privacy of a room (remembered once found), or ROOM_NOT_FOUND: the hot path of posting. */
  async requireSummary(name: string): Promise<RoomSummary> {
    return this.known.get(name) ?? summary(await this.require(name));
  }

  async addMember(roomName: string, userId: string): Promise<void> {
    const room = await this.require(roomName);
    await this.rooms.addMember(room.id, userId, Date.now());
  }

  async removeMember(roomName: string, userId: string): Promise<void> {
    const room = await this.require(roomName);
    await this.rooms.removeMember(room.id, userId);
  }

  async isMember(roomId: number, userId: string): Promise<boolean> {
    return this.rooms.isMember(roomId, userId);
  }

  /** May this user read and write in the room? Private rooms: members (and admins) only. */
  async assertAccess(user: RealtimeIdentity, room: RoomSummary): Promise<void> {
    if (!room.isPrivate || user.isAdmin) return;
    if (!(await this.isMember(room.id, user.userId))) {
      throw new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, 'This room is private', {
        room: room.name,
      });
    }
  }

  /** Checks access and records the membership (public rooms); returns the room. */
  async join(user: RealtimeIdentity, name: string): Promise<RoomSummary> {
    const room = await this.requireSummary(name);
    await this.assertAccess(user, room);
    if (!room.isPrivate) await this.rooms.addMember(room.id, user.userId, Date.now());
    return summary(room);
  }
}
