// The room policy seam: who may join, post to and read a room, decided by the host on top of the
// library's own rule (a private room admits its members and admins only).
import { Inject } from '@nestjs/common';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import type { RoomSummary } from './conversation.types';

/** What a user asks to do in a room. */
export type RoomAction = 'join' | 'post' | 'read';

/**
 * The `id` of the provisional summary a policy without `canCreate` is asked about before a join or a
 * post creates a missing room: the room does not exist yet (stored rooms have ids from 1).
 */
export const PROVISIONAL_ROOM_ID = 0;

/**
 * Implemented by the host and registered under {@link ROOM_POLICY}, exported by a `@Global()` module
 * of the host or by a module listed in `RealtimeModule.forRootAsync({ imports })` (docs/rooms.md).
 * Both the chat and the rooms endpoint ask it, through RoomDirectory and
 * MessagesService, before a join, a post and a history read; anything but `true` refuses, and the
 * client gets PERMISSION_DENIED with `details.room`.
 *
 * It is asked after the library's own rule, so it can refuse more but never admit a non-member to a
 * private room (add the member instead). Before a join or a post brings a missing room into being
 * (auto-creation) the policy is asked first, and a refusal stores nothing: `canCreate` when the
 * policy has it (then the action's own check once the room exists), else the action's own check
 * (`canJoin` / `canPost`) on the provisional summary `{ id: PROVISIONAL_ROOM_ID, name, isPrivate:
 * false }`. `canPost` is asked for every message, so keep it cheap (no I/O, or cache its answers).
 * A policy that throws fails the request with that error.
 *
 * Without a registered policy the library's own rule alone applies, at no extra cost per message.
 */
export interface RoomPolicy {
  /**
   * Bringing the missing room `name` into being by a join or a post (optional). Without it, the
   * action's own check is asked on a provisional summary instead (see above).
   */
  canCreate?(user: RealtimeIdentity, name: string): boolean | Promise<boolean>;
  /**
   * Joining a room (the chat's `join` and its first message to a room on this node, the rooms
   * endpoint's `join_room`).
   */
  canJoin(user: RealtimeIdentity, room: RoomSummary): boolean | Promise<boolean>;
  /** Posting a message to a room, asked for every message. */
  canPost(user: RealtimeIdentity, room: RoomSummary): boolean | Promise<boolean>;
  /** Reading a room's history. */
  canRead(user: RealtimeIdentity, room: RoomSummary): boolean | Promise<boolean>;
}

/** Injection token of the host's {@link RoomPolicy}. */
export const ROOM_POLICY = Symbol('ROOM_POLICY');

export const InjectRoomPolicy = (): ParameterDecorator & PropertyDecorator => Inject(ROOM_POLICY);
