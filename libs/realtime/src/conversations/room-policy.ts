// The room policy seam: who may join, post to and read a room, decided by the host on top of the
// library's own rule (a private room admits its members and admins only).
import { Inject } from '@nestjs/common';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import type { RoomSummary } from './conversation.types';

/** What a user asks to do in a room. */
export type RoomAction = 'join' | 'post' | 'read';

/**
 * Implemented by the host and registered under {@link ROOM_POLICY} in a `@Global()` module of the
 * host (exported). Both the chat and the rooms endpoint ask it, through RoomDirectory and
 * MessagesService, before a join, a post and a history read; anything but `true` refuses, and the
 * client gets PERMISSION_DENIED with `details.room`.
 *
 * It is asked after the library's own rule, so it can refuse more but never admit a non-member to a
 * private room (add the member instead). A room a join or a post brings into being (auto-creation)
 * is created first, then the policy is asked. `canPost` is asked for every message, so keep it cheap
 * (no I/O, or cache its answers). A policy that throws fails the request with that error.
 *
 * Without a registered policy the library's own rule alone applies, at no extra cost per message.
 */
export interface RoomPolicy {
  /** Joining a room (the chat's `join`, its first message to a room, the rooms endpoint's `join_room`). */
  canJoin(user: RealtimeIdentity, room: RoomSummary): boolean | Promise<boolean>;
  /** Posting a message to a room, asked for every message. */
  canPost(user: RealtimeIdentity, room: RoomSummary): boolean | Promise<boolean>;
  /** Reading a room's history. */
  canRead(user: RealtimeIdentity, room: RoomSummary): boolean | Promise<boolean>;
}

/** Injection token of the host's {@link RoomPolicy}. */
export const ROOM_POLICY = Symbol('ROOM_POLICY');

export const InjectRoomPolicy = (): ParameterDecorator & PropertyDecorator => Inject(ROOM_POLICY);
