// The sample's RoomPolicy: rooms whose name starts with "admins-" are for admins only (join, post,
// history), on the chat and the rooms endpoint alike; every other room follows the library's rules.
import { Injectable } from '@nestjs/common';
import type { RealtimeIdentity, RoomPolicy, RoomSummary } from 'nest-realtime';

/** Rooms named with this prefix admit admins only. */
export const ADMIN_ROOM_PREFIX = 'admins-';

@Injectable()
export class AdminRoomsPolicy implements RoomPolicy {
  canJoin(user: RealtimeIdentity, room: RoomSummary): boolean {
    return this.allows(user, room);
  }

  // Asked for every message: a string test, no I/O.
  canPost(user: RealtimeIdentity, room: RoomSummary): boolean {
    return this.allows(user, room);
  }

  canRead(user: RealtimeIdentity, room: RoomSummary): boolean {
    return this.allows(user, room);
  }

  private allows(user: RealtimeIdentity, room: RoomSummary): boolean {
    return user.isAdmin || !room.name.startsWith(ADMIN_ROOM_PREFIX);
  }
}
