// Rooms: created at start from the options, through this service, or on first use (a join or a post
// naming a missing room, once the host's RoomPolicy and the per-user creation limit allow it); who may
// join, post and read is the library's rule plus the host's RoomPolicy. Storage is the RoomStore's
// (no SQL here).
import { Inject, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { LRUCache } from 'lru-cache';
import { RealtimeErrorCode } from '../protocol';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeError } from '../core/errors/realtime-error';
import { RealtimeSetupError } from '../core/transport/adapter-check.service';
import { REALTIME_OPTIONS } from '../realtime.constants';
import { ROOM_NAME } from '../protocol';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { InjectRoomStore, type RoomRecord, type RoomStore } from '../storage/realtime-storage.interface';
import type { RoomSummary } from './conversation.types';
import { RealtimeRateLimiter, type RealtimeRateLimitBucket } from './realtime-rate-limiter.service';
import { PROVISIONAL_ROOM_ID, ROOM_POLICY, type RoomAction, type RoomPolicy } from './room-policy';

function summary(room: RoomSummary): RoomSummary {
  return { id: room.id, name: room.name, isPrivate: room.isPrivate };
}

function roomNotFound(name: string): RealtimeError {
  return new RealtimeError(RealtimeErrorCode.ROOM_NOT_FOUND, 'Room not found', { room: name });
}

function privateRoom(name: string): RealtimeError {
  return new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, 'This room is private', { room: name });
}

const REFUSALS: Record<RoomAction, string> = {
  join: 'The room policy does not let this user join the room',
  post: 'The room policy does not let this user post to the room',
  read: "The room policy does not let this user read the room's history",
};

/** Rooms whose id and privacy are remembered (neither changes once a room exists). */
const KNOWN_ROOMS_MAX = 10_000;

/**
 * Rooms one user may bring into being by first use (a join or a post naming a missing room), counted
 * by the module's RealtimeRateLimiter (in memory, or on `rooms.rateLimitStorage` across nodes), so
 * that one user cannot spend `rooms.maxRooms` for everyone. Past it: RATE_LIMITED with
 * `details.retry_after_ms` and `details.bucket: 'room-create'` (docs/rooms.md).
 */
export const ROOM_CREATION_BUCKET: Readonly<RealtimeRateLimitBucket> = {
  name: 'room-create',
  perMinute: 10,
  perHour: 30,
};

/** The actions that may bring a missing room into being. */
type CreatingAction = Extract<RoomAction, 'join' | 'post'>;

@Injectable()
export class RoomDirectory implements OnApplicationBootstrap {
  private readonly logger = new Logger('RoomDirectory');
  /**
   * Existing rooms by name, so that posting a message costs no room lookup. Only rooms found are
   * kept (a missing one may be created later, on any node); no API renames or deletes a room.
   */
  private readonly known = new LRUCache<string, RoomSummary>({ max: KNOWN_ROOMS_MAX });
  /** First uses of a missing room in progress on this node: concurrent ones share one creation. */
  private readonly creating = new Map<string, Promise<RoomSummary>>();

  constructor(
    @InjectRoomStore() private readonly rooms: RoomStore,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly limiter: RealtimeRateLimiter,
    // Optional: without a host policy the library's own rule alone applies.
    @Optional() @Inject(ROOM_POLICY) private readonly policy?: RoomPolicy,
    @Optional() private readonly modulesContainer?: ModulesContainer,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.policy) this.assertNoHiddenPolicy();
    if (this.options.rooms.autoCreate && typeof this.rooms.count !== 'function') {
      this.logger.warn(
        `The room store has no count(): rooms created on first use are not capped at rooms.maxRooms (${this.options.rooms.maxRooms})`,
      );
    }
    for (const room of this.options.rooms.initial) {
      if (!(await this.find(room.name))) await this.create({ name: room.name, isPrivate: room.isPrivate });
    }
  }

  /** Creates a room; INVALID_FORMAT for a bad name, PERMISSION_DENIED when the name is taken. */
  async create(input: { name: string; isPrivate?: boolean; createdBy?: string }): Promise<RoomSummary> {
    if (!ROOM_NAME.test(input.name)) throw this.invalidName();
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

  /** The room, or ROOM_NOT_FOUND with details.room (never creates: reads and leaves use this). */
  async require(name: string): Promise<RoomRecord> {
    const room = await this.find(name);
    if (!room) throw roomNotFound(name);
    this.known.set(room.name, summary(room));
    return room;
  }

  /** Id, name and privacy of a room (remembered once found), or ROOM_NOT_FOUND: history reads. */
  async requireSummary(name: string): Promise<RoomSummary> {
    return this.known.get(name) ?? summary(await this.require(name));
  }

  /**
   * The room a server-side call names (remembered once found). A missing one comes into being, public,
   * when `rooms.autoCreate` is on, the name follows the room-name rule (INVALID_FORMAT otherwise) and
   * the store holds fewer than `rooms.maxRooms` rooms; otherwise ROOM_NOT_FOUND (with
   * `details.reason: 'room_limit'` at the cap). Private rooms are never made here. Neither the host's
   * RoomPolicy nor the per-user creation limit is asked: a user's join or post goes through
   * {@link findOrCreateFor}.
   */
  async findOrCreate(name: string, createdBy: string | null = null): Promise<RoomSummary> {
    return (await this.lookUp(name)) ?? this.createShared(name, createdBy);
  }

  /**
   * The room a user's join or post names, with that action authorized (the hot path of posting: a
   * known room costs no lookup). A missing room is created, as {@link findOrCreate} would, only once
   * the host's RoomPolicy allows it, asked before anything is stored: its `canCreate(user, name)`, or
   * without one the action's own check (`canJoin` / `canPost`) on the provisional summary
   * `{ id: PROVISIONAL_ROOM_ID (0), name, isPrivate: false }`; a refusal is PERMISSION_DENIED. Then
   * the creation counts in the user's {@link ROOM_CREATION_BUCKET} (RATE_LIMITED past it). Nothing is
   * stored when either refuses.
   */
  async findOrCreateFor(action: CreatingAction, user: RealtimeIdentity, name: string): Promise<RoomSummary> {
    const existing = await this.lookUp(name);
    if (existing) {
      await this.authorize(action, user, existing);
      return existing;
    }
    await this.assertMayCreate(name);
    const policy = this.policy;
    if (policy?.canCreate) {
      if ((await policy.canCreate(user, name)) !== true) {
        throw new RealtimeError(
          RealtimeErrorCode.PERMISSION_DENIED,
          'The room policy does not let this user create the room',
          { room: name },
        );
      }
    } else if (policy) {
      const provisional: RoomSummary = { id: PROVISIONAL_ROOM_ID, name, isPrivate: false };
      if ((await this.askPolicy(policy, action, user, provisional)) !== true) {
        throw new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, REFUSALS[action], { room: name });
      }
    }
    // Joining a creation already in flight on this node creates nothing more: only creations count.
    if (!this.creating.has(name)) await this.limiter.consume(user.userId, ROOM_CREATION_BUCKET);
    const room = await this.createShared(name, user.userId);
    // The action was asked on the provisional summary, and a room created here is public (the library's
    // rule admits everyone). Still asked: with canCreate, the action itself; and a room another node
    // or the host made under this name meanwhile, which may be private.
    if (policy?.canCreate || room.isPrivate) await this.authorize(action, user, room);
    return room;
  }

  /**
   * Whether a join of this name would find or create the room, creating nothing: resolves when it
   * would, else the error the join would get (ROOM_NOT_FOUND, INVALID_FORMAT).
   */
  async assertJoinable(name: string): Promise<void> {
    if (this.known.has(name) || (await this.find(name))) return;
    await this.assertMayCreate(name);
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

  /**
   * The library's own rule, without the host's policy: private rooms admit members and admins only
   * (PERMISSION_DENIED otherwise). {@link authorize} applies it and then asks the policy.
   */
  async assertAccess(user: RealtimeIdentity, room: RoomSummary): Promise<void> {
    if (!room.isPrivate || user.isAdmin) return;
    if (!(await this.isMember(room.id, user.userId))) throw privateRoom(room.name);
  }

  /**
   * May this user join, post to or read the room? The library's rule, then the host's RoomPolicy
   * when one is registered (anything but `true` refuses); PERMISSION_DENIED with details.room.
   */
  async authorize(action: RoomAction, user: RealtimeIdentity, room: RoomSummary): Promise<void> {
    // The library's rule inline rather than through assertAccess, and no policy: nothing awaited for
    // a public room, so posting costs what it did before the seam existed.
    if (room.isPrivate && !user.isAdmin && !(await this.isMember(room.id, user.userId))) {
      throw privateRoom(room.name);
    }
    if (!this.policy) return;
    if ((await this.askPolicy(this.policy, action, user, summary(room))) !== true) {
      throw new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, REFUSALS[action], { room: room.name });
    }
  }

  /**
   * Finds or creates the room (see {@link findOrCreateFor}), checks the join and records the
   * membership (public rooms); returns the room.
   */
  async join(user: RealtimeIdentity, name: string): Promise<RoomSummary> {
    const room = await this.findOrCreateFor('join', user, name);
    if (!room.isPrivate) await this.rooms.addMember(room.id, user.userId, Date.now());
    return summary(room);
  }

  private askPolicy(
    policy: RoomPolicy,
    action: RoomAction,
    user: RealtimeIdentity,
    room: RoomSummary,
  ): boolean | Promise<boolean> {
    switch (action) {
      case 'join':
        return policy.canJoin(user, room);
      case 'post':
        return policy.canPost(user, room);
      case 'read':
        return policy.canRead(user, room);
    }
  }

  /** The room if it exists (remembered once found), else null. */
  private async lookUp(name: string): Promise<RoomSummary | null> {
    const known = this.known.get(name);
    if (known) return known;
    const room = await this.find(name);
    return room ? this.remember(room) : null;
  }

  /** Creates a missing room on first use; concurrent first uses of one name on this node share it. */
  private createShared(name: string, createdBy: string | null): Promise<RoomSummary> {
    let pending = this.creating.get(name);
    if (!pending) {
      pending = this.createOnFirstUse(name, createdBy).finally(() => this.creating.delete(name));
      this.creating.set(name, pending);
    }
    return pending;
  }

  private async createOnFirstUse(name: string, createdBy: string | null): Promise<RoomSummary> {
    await this.assertMayCreate(name);
    let room: RoomRecord;
    try {
      room = await this.rooms.create({ name, isPrivate: false, createdBy });
      this.logger.log(`Room "${name}" created on first use`);
    } catch (error) {
      // Another node (or a request racing this one) created it first, and the store's unique name
      // refused ours: that room is the one both meant.
      const existing = await this.find(name);
      if (!existing) throw error;
      room = existing;
    }
    return this.remember(room);
  }

  /** Auto-creation is on, the name is valid and the store is under its cap; else the error to answer. */
  private async assertMayCreate(name: string): Promise<void> {
    if (!this.options.rooms.autoCreate) throw roomNotFound(name);
    if (!ROOM_NAME.test(name)) throw this.invalidName();
    const max = this.options.rooms.maxRooms;
    // A store without count() (a host's own, written before the cap existed) is not capped.
    if (typeof this.rooms.count === 'function' && (await this.rooms.count()) >= max) {
      throw new RealtimeError(
        RealtimeErrorCode.ROOM_NOT_FOUND,
        `Room not found, and no room is created on first use: the server holds its maximum of ${max} rooms`,
        { room: name, reason: 'room_limit', max_rooms: max },
      );
    }
  }

  private invalidName(): RealtimeError {
    return RealtimeError.invalidFormat('Room name must be 1-64 letters, digits, _ . or -', { field: 'room' });
  }

  private remember(room: RoomSummary): RoomSummary {
    const known = summary(room);
    this.known.set(known.name, known);
    return known;
  }

  /**
   * A policy the host registered in a non-global module that RealtimeModule does not import (or did
   * not export) is invisible to this module and would be ignored without a word, leaving rooms open
   * that the host meant to close. Stop the boot with the fix.
   */
  private assertNoHiddenPolicy(): void {
    const holder = [...(this.modulesContainer?.values() ?? [])].find((module) =>
      module.providers.has(ROOM_POLICY),
    );
    if (!holder) return;
    throw new RealtimeSetupError(
      `a RoomPolicy is registered under ROOM_POLICY in ${holder.metatype.name}, which RealtimeModule ` +
        'cannot see, so joins, posts and history reads would ignore it. Provide and export it from a ' +
        'global module imported once by the application module:\n' +
        '  @Global() @Module({ providers: [{ provide: ROOM_POLICY, useClass: MyRoomPolicy }], ' +
        'exports: [ROOM_POLICY] })\n' +
        'or export it from its module and list that module in RealtimeModule.forRootAsync({ imports: [...] })',
    );
  }
}
