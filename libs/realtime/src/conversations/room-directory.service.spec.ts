// RoomDirectory on the in-memory room store: rooms that come into being on first use (within the
// room-name rule, the off switch and the cap, and across racing nodes), and the host's RoomPolicy
// asked after the private-room rule; plus how a host registers a policy (a global module) or is told
// at boot that the library cannot see it.
import {
  Global,
  Injectable,
  Logger,
  Module,
  type INestApplication,
  type ModuleMetadata,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeSetupError } from '../core/transport/adapter-check.service';
import { RealtimeAdapter } from '../core/transport/realtime.adapter';
import { RealtimeError } from '../core/errors/realtime-error';
import { RealtimeModule } from '../realtime.module';
import { resolveRealtimeOptions, type RealtimeRoomsOptions } from '../realtime.options';
import { InMemoryRoomStore } from '../storage/memory/in-memory-storage';
import type { RoomRecord, RoomStore } from '../storage/realtime-storage.interface';
import type { RoomSummary } from './conversation.types';
import { RoomDirectory } from './room-directory.service';
import { ROOM_POLICY, type RoomAction, type RoomPolicy } from './room-policy';

const SECRET = 'room-directory-spec-secret-0123456789';

function identity(userId: string, isAdmin = false): RealtimeIdentity {
  return { userId, username: `u${userId}`, roles: [], isAdmin, appId: null, page: null, expiresAt: null };
}

function directory(store: RoomStore, rooms: RealtimeRoomsOptions = {}, policy?: RoomPolicy): RoomDirectory {
  const options = resolveRealtimeOptions({ auth: { secret: SECRET }, rooms: { initial: [], ...rooms } });
  return new RoomDirectory(store, options, policy);
}

/** The error a call rejected with (fails the test when it resolved). */
async function failure(call: Promise<unknown>): Promise<RealtimeError> {
  const outcome = await call.then(
    () => new Error('resolved'),
    (error: unknown) => error,
  );
  if (!(outcome instanceof RealtimeError)) throw outcome;
  return outcome;
}

/** A policy that answers `allowed` for every action and records what it was asked. */
function recordingPolicy(
  allowed: (action: RoomAction, user: RealtimeIdentity, room: RoomSummary) => boolean,
) {
  const asked: Array<{ action: RoomAction; user: string; room: RoomSummary }> = [];
  const answer = (action: RoomAction) => (user: RealtimeIdentity, room: RoomSummary) => {
    asked.push({ action, user: user.userId, room });
    return Promise.resolve(allowed(action, user, room));
  };
  const policy: RoomPolicy = { canJoin: answer('join'), canPost: answer('post'), canRead: answer('read') };
  return { policy, asked };
}

beforeAll(() => {
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
});
afterAll(() => {
  jest.restoreAllMocks();
});

describe('RoomDirectory: rooms created on first use', () => {
  it('creates a missing room, public, on a join, and records the membership', async () => {
    const store = new InMemoryRoomStore();
    const rooms = directory(store);

    const joined = await rooms.join(identity('7'), 'fresh');

    const stored = await store.findByName('fresh');
    expect(stored).toEqual({ id: joined.id, name: 'fresh', isPrivate: false, createdBy: '7' });
    expect(joined).toEqual({ id: joined.id, name: 'fresh', isPrivate: false });
    expect(await store.isMember(joined.id, '7')).toBe(true);
  });

  it('creates one room for concurrent first uses of one name', async () => {
    const store = new InMemoryRoomStore();
    const rooms = directory(store);

    const results = await Promise.all(
      ['1', '2', '3', '4'].map((user) => rooms.findOrCreate('together', user)),
    );

    expect(new Set(results.map((room) => room.id)).size).toBe(1);
    expect(await store.count()).toBe(1);
  });

  it('uses the room another node created between its lookup and its create', async () => {
    /** Another node's create lands first: ours then hits the unique name, as a database would refuse it. */
    class RacedStore extends InMemoryRoomStore {
      override async create(room: { name: string; isPrivate: boolean; createdBy: string | null }) {
        await super.create({ ...room, createdBy: 'other-node' });
        return super.create(room);
      }
    }
    const store = new RacedStore();
    const rooms = directory(store);

    const room = await rooms.findOrCreate('raced', '1');

    expect(room).toEqual({ id: (await store.findByName('raced'))?.id, name: 'raced', isPrivate: false });
    expect(await store.count()).toBe(1);
  });

  it('rethrows the store error when the create failed and the room is still missing', async () => {
    class BrokenStore extends InMemoryRoomStore {
      override create(): Promise<RoomRecord> {
        return Promise.reject(new Error('database unavailable'));
      }
    }
    const rooms = directory(new BrokenStore());

    await expect(rooms.findOrCreate('x', '1')).rejects.toThrow('database unavailable');
  });

  it('answers ROOM_NOT_FOUND and creates nothing when auto-creation is off', async () => {
    const store = new InMemoryRoomStore();
    const rooms = directory(store, { autoCreate: false });

    for (const call of [rooms.join(identity('1'), 'nowhere'), rooms.findOrCreate('nowhere')]) {
      const error = await failure(call);
      expect(error.code).toBe('ROOM_NOT_FOUND');
      expect(error.details).toEqual({ room: 'nowhere' });
    }
    expect(await store.count()).toBe(0);
  });

  it('answers ROOM_NOT_FOUND with the cap as reason once the store holds maxRooms rooms', async () => {
    const store = new InMemoryRoomStore();
    const rooms = directory(store, { maxRooms: 2 });
    await rooms.findOrCreate('one');
    await rooms.findOrCreate('two');

    const error = await failure(rooms.join(identity('1'), 'three'));

    expect(error.code).toBe('ROOM_NOT_FOUND');
    expect(error.details).toEqual({ room: 'three', reason: 'room_limit', max_rooms: 2 });
    expect(error.message).toMatch(/maximum of 2 rooms/);
    expect(await store.count()).toBe(2);
    // Existing rooms stay usable at the cap.
    await expect(rooms.join(identity('1'), 'two')).resolves.toMatchObject({ name: 'two' });
  });

  it('does not cap a host store without count()', async () => {
    const inner = new InMemoryRoomStore();
    const legacy: RoomStore = {
      findByName: (name) => inner.findByName(name),
      create: (room) => inner.create(room),
      list: () => inner.list(),
      addMember: (roomId, userId, at) => inner.addMember(roomId, userId, at),
      removeMember: (roomId, userId) => inner.removeMember(roomId, userId),
      isMember: (roomId, userId) => inner.isMember(roomId, userId),
    };
    const rooms = directory(legacy, { maxRooms: 1 });

    await rooms.findOrCreate('one');
    await expect(rooms.findOrCreate('two')).resolves.toMatchObject({ name: 'two' });
  });

  it('answers INVALID_FORMAT for a name outside the room-name rule', async () => {
    const error = await failure(directory(new InMemoryRoomStore()).findOrCreate('no spaces allowed'));
    expect(error.code).toBe('INVALID_FORMAT');
    expect(error.details).toEqual({ field: 'room' });
  });

  it('creates nothing for a history read, a leave or a joinability check', async () => {
    const store = new InMemoryRoomStore();
    const rooms = directory(store, { maxRooms: 1 });

    expect((await failure(rooms.requireSummary('absent'))).code).toBe('ROOM_NOT_FOUND');
    expect((await failure(rooms.require('absent'))).code).toBe('ROOM_NOT_FOUND');
    await expect(rooms.assertJoinable('absent')).resolves.toBeUndefined();
    expect(await store.count()).toBe(0);

    await rooms.findOrCreate('only');
    const atCap = await failure(rooms.assertJoinable('absent'));
    expect(atCap.details).toMatchObject({ reason: 'room_limit' });
  });
});

describe('RoomDirectory: access', () => {
  async function privateRoom(store: RoomStore, member: string): Promise<RoomRecord> {
    const room = await store.create({ name: 'inner', isPrivate: true, createdBy: member });
    await store.addMember(room.id, member, 0);
    return room;
  }

  it('keeps private rooms invite-only: a join of a missing name never makes one private, non-members are refused', async () => {
    const store = new InMemoryRoomStore();
    const rooms = directory(store);
    await privateRoom(store, 'm');

    const error = await failure(rooms.join(identity('x'), 'inner'));

    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.details).toEqual({ room: 'inner' });
    await expect(rooms.join(identity('m'), 'inner')).resolves.toMatchObject({ isPrivate: true });
    await expect(rooms.join(identity('admin', true), 'inner')).resolves.toMatchObject({ isPrivate: true });
  });

  it('asks the host policy for joins, posts and reads, with the room; a refusal is PERMISSION_DENIED', async () => {
    const store = new InMemoryRoomStore();
    const { policy, asked } = recordingPolicy((action, user) => user.isAdmin || action === 'read');
    const rooms = directory(store, {}, policy);

    const joinError = await failure(rooms.join(identity('1'), 'guarded'));
    expect(joinError.code).toBe('PERMISSION_DENIED');
    expect(joinError.details).toEqual({ room: 'guarded' });
    const room = await rooms.requireSummary('guarded');
    expect(asked).toEqual([{ action: 'join', user: '1', room }]);
    // The refused joiner is no member.
    expect(await store.isMember(room.id, '1')).toBe(false);

    expect((await failure(rooms.authorize('post', identity('1'), room))).code).toBe('PERMISSION_DENIED');
    await expect(rooms.authorize('read', identity('1'), room)).resolves.toBeUndefined();
    await expect(rooms.authorize('post', identity('2', true), room)).resolves.toBeUndefined();
    expect(asked.map((entry) => entry.action)).toEqual(['join', 'post', 'read', 'post']);
  });

  it('refuses on any answer but true', async () => {
    const sloppy = { canJoin: () => 1, canPost: () => 'yes', canRead: () => undefined };
    const rooms = directory(new InMemoryRoomStore(), {}, sloppy as unknown as RoomPolicy);
    const room = await rooms.findOrCreate('loose');
    for (const action of ['join', 'post', 'read'] as const) {
      expect((await failure(rooms.authorize(action, identity('1'), room))).code).toBe('PERMISSION_DENIED');
    }
  });

  it('applies the private-room rule before the policy, which cannot admit a non-member', async () => {
    const store = new InMemoryRoomStore();
    const { policy, asked } = recordingPolicy(() => true);
    const rooms = directory(store, {}, policy);
    const room = await privateRoom(store, 'm');

    const error = await failure(rooms.authorize('read', identity('x'), room));

    expect(error.message).toBe('This room is private');
    expect(asked).toEqual([]);
  });
});

describe('RoomDirectory: registering a RoomPolicy', () => {
  const apps: INestApplication[] = [];

  @Injectable()
  class AdminsOnly implements RoomPolicy {
    canJoin(user: RealtimeIdentity): boolean {
      return user.isAdmin;
    }
    canPost(user: RealtimeIdentity): boolean {
      return user.isAdmin;
    }
    canRead(user: RealtimeIdentity): boolean {
      return user.isAdmin;
    }
  }

  @Global()
  @Module({ providers: [{ provide: ROOM_POLICY, useClass: AdminsOnly }], exports: [ROOM_POLICY] })
  class GlobalPolicyModule {}

  @Module({ providers: [{ provide: ROOM_POLICY, useClass: AdminsOnly }] })
  class HiddenPolicyModule {}

  async function boot(metadata: ModuleMetadata): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule(metadata).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new RealtimeAdapter(app));
    apps.push(app);
    await app.init();
    return app;
  }

  const realtime = () =>
    RealtimeModule.forRoot({ database: { type: 'sqlite', path: ':memory:' }, auth: { secret: SECRET } });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('is used from a global module', async () => {
    const app = await boot({ imports: [realtime(), GlobalPolicyModule] });

    const error = await failure(app.get(RoomDirectory).join(identity('1'), 'general'));

    expect(error.code).toBe('PERMISSION_DENIED');
    await expect(app.get(RoomDirectory).join(identity('2', true), 'general')).resolves.toMatchObject({
      name: 'general',
    });
  });

  it('stops the boot, naming the module and the fix, when the policy sits in a non-global module', async () => {
    const booting = boot({ imports: [realtime(), HiddenPolicyModule] });

    await expect(booting).rejects.toThrow(RealtimeSetupError);
    await expect(booting).rejects.toThrow(/in HiddenPolicyModule, which RealtimeModule cannot see/);
    await expect(booting).rejects.toThrow('@Global() @Module({ providers: [{ provide: ROOM_POLICY');
  });
});
