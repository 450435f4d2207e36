// Connection-level state of /ws/chat on this node: which rooms each connection joined, each room's
// connections, each user's connections, and how many of a user's connections sit in a room (a user
// is announced on their first connection in a room and leaves with their last).
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import { ConnectionGroup } from './connection-group';

interface ConnectionState {
  identity: RealtimeIdentity;
  batched: boolean;
  /** The rooms joined: a small array, replaced on change (most connections join one or two), or a set past SMALL_ROOMS. */
  rooms: readonly string[] | Set<string>;
}

/** Rooms a connection's state keeps in an array (a Set and its table cost about 150 bytes more). */
const SMALL_ROOMS = 8;
const NO_ROOMS: readonly string[] = [];

function inRooms(rooms: ConnectionState['rooms'], room: string): boolean {
  return Array.isArray(rooms) ? rooms.includes(room) : (rooms as Set<string>).has(room);
}

/** Joined rooms plus `room` (not already in them). */
function withRoom(rooms: ConnectionState['rooms'], room: string): ConnectionState['rooms'] {
  if (!Array.isArray(rooms)) return (rooms as Set<string>).add(room);
  return rooms.length < SMALL_ROOMS ? rooms.concat(room) : new Set(rooms).add(room);
}

/** Joined rooms without `room` (one of them). */
function withoutRoom(rooms: ConnectionState['rooms'], room: string): ConnectionState['rooms'] {
  if (!Array.isArray(rooms)) {
    (rooms as Set<string>).delete(room);
    return rooms;
  }
  return rooms.length === 1 ? NO_ROOMS : rooms.filter((joined) => joined !== room);
}

export interface JoinOutcome {
  /** False when the connection was already in the room (or is gone). */
  joined: boolean;
  /** The user had no other connection in the room: announce them. */
  firstOfUser: boolean;
}

export interface LeaveOutcome {
  /** False when the connection was not in the room. */
  left: boolean;
  /** The user has no connection left in the room: announce their departure. */
  lastOfUser: boolean;
}

@Injectable()
export class RoomMembersRegistry implements OnApplicationShutdown {
  private readonly connections = new Map<RawWsConnection, ConnectionState>();
  private readonly rooms = new Map<string, ConnectionGroup>();
  private readonly users = new Map<string, ConnectionGroup>();
  /** room → userId → the user's connections in that room. */
  private readonly usersInRoom = new Map<string, Map<string, number>>();

  /** Open connections registered here. */
  get size(): number {
    return this.connections.size;
  }

  connect(connection: RawWsConnection, identity: RealtimeIdentity, batched: boolean): void {
    if (this.connections.has(connection)) return;
    this.connections.set(connection, { identity, batched, rooms: NO_ROOMS });
    this.groupOf(this.users, identity.userId).add(connection, batched);
  }

  /** Forgets the connection; returns the rooms its user is no longer in (empty when unknown). */
  disconnect(connection: RawWsConnection): { identity: RealtimeIdentity | null; roomsLeft: string[] } {
    const state = this.connections.get(connection);
    if (!state) return { identity: null, roomsLeft: [] };
    const roomsLeft: string[] = [];
    for (const room of [...state.rooms]) {
      if (this.leave(connection, room).lastOfUser) roomsLeft.push(room);
    }
    this.connections.delete(connection);
    this.shrink(this.users, state.identity.userId, connection);
    return { identity: state.identity, roomsLeft };
  }

  /** Whether joining would make this the user's first connection in the room (nothing changes). */
  isUserInRoom(userId: string, room: string): boolean {
    return (this.usersInRoom.get(room)?.get(userId) ?? 0) > 0;
  }

  has(connection: RawWsConnection): boolean {
    return this.connections.has(connection);
  }

  isJoined(connection: RawWsConnection, room: string): boolean {
    const state = this.connections.get(connection);
    return state !== undefined && inRooms(state.rooms, room);
  }

  join(connection: RawWsConnection, room: string): JoinOutcome {
    const state = this.connections.get(connection);
    if (!state || inRooms(state.rooms, room)) return { joined: false, firstOfUser: false };
    const group = this.groupOf(this.rooms, room);
    state.rooms = state.rooms === NO_ROOMS ? group.onlyRoom(room) : withRoom(state.rooms, room);
    group.add(connection, state.batched);
    let counts = this.usersInRoom.get(room);
    if (!counts) {
      counts = new Map();
      this.usersInRoom.set(room, counts);
    }
    const before = counts.get(state.identity.userId) ?? 0;
    counts.set(state.identity.userId, before + 1);
    return { joined: true, firstOfUser: before === 0 };
  }

  leave(connection: RawWsConnection, room: string): LeaveOutcome {
    const state = this.connections.get(connection);
    if (!state || !inRooms(state.rooms, room)) return { left: false, lastOfUser: false };
    state.rooms = withoutRoom(state.rooms, room);
    this.shrink(this.rooms, room, connection);
    const counts = this.usersInRoom.get(room);
    const remaining = (counts?.get(state.identity.userId) ?? 1) - 1;
    if (counts) {
      if (remaining > 0) counts.set(state.identity.userId, remaining);
      else counts.delete(state.identity.userId);
      if (counts.size === 0) this.usersInRoom.delete(room);
    }
    return { left: true, lastOfUser: remaining <= 0 };
  }

  /** The room's connections on this node (undefined when none). */
  roomGroup(room: string): ConnectionGroup | undefined {
    return this.rooms.get(room);
  }

  /** The user's /ws/chat connections on this node (undefined when none). */
  userGroup(userId: string): ConnectionGroup | undefined {
    return this.users.get(userId);
  }

  /** Each room and user with a connection of this node in it (a user's identity from one of them). */
  *userRooms(): IterableIterator<{ room: string; identity: RealtimeIdentity }> {
    for (const [room, counts] of this.usersInRoom) {
      for (const userId of counts.keys()) {
        const group = this.rooms.get(room);
        if (!group) continue;
        for (const connection of group) {
          const identity = this.connections.get(connection)?.identity;
          if (identity?.userId !== userId) continue;
          yield { room, identity };
          break;
        }
      }
    }
  }

  roomsOf(connection: RawWsConnection): ReadonlySet<string> {
    return new Set(this.connections.get(connection)?.rooms);
  }

  onApplicationShutdown(): void {
    this.connections.clear();
    this.rooms.clear();
    this.users.clear();
    this.usersInRoom.clear();
  }

  private groupOf(groups: Map<string, ConnectionGroup>, key: string): ConnectionGroup {
    let group = groups.get(key);
    if (!group) {
      group = new ConnectionGroup();
      groups.set(key, group);
    }
    return group;
  }

  /** Removes the connection from a group, dropping the group once empty. */
  private shrink(groups: Map<string, ConnectionGroup>, key: string, connection: RawWsConnection): void {
    const group = groups.get(key);
    if (!group) return;
    group.delete(connection);
    if (group.size === 0) groups.delete(key);
  }
}
