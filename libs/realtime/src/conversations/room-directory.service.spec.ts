// RoomDirectory on the in-memory room store: rooms that come into being on first use (within the
// room-name rule, the off switch and the cap, and across racing nodes), and the host's RoomPolicy
// asked after the private-room rule and before a room is created (with the per-user creation limit);
// plus how a host registers a policy (a global module, or forRootAsync's imports) or is told at boot
// that the library cannot see it.
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
import { RealtimeRateLimiter } from './realtime-rate-limiter.service';
import { ROOM_CREATION_BUCKET, RoomDirectory } from './room-directory.service';
import { ROOM_POLICY, type RoomAction, type RoomPolicy } from './room-policy';

const SECRET = 'room-directory-spec-secret-0123456789';

function identity(userId: string, isAdmin = false): RealtimeIdentity {
  return { userId, username: `u${userId}`, roles: [], isAdmin, appId: null, page: null, expiresAt: null };
}

function directory(store: RoomStore, rooms: RealtimeRoomsOptions = {}, policy?: RoomPolicy): RoomDirectory {
  const options = resolveRealtimeOptions({ auth: { secret: SECRET }, rooms: { initial: [], ...rooms } });
  return new RoomDirectory(store, options, new RealtimeRateLimiter(options), policy);
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
    const room = await rooms.findOrCreate('guarded');

    const joinError = await failure(rooms.join(identity('1'), 'guarded'));
    expect(joinError.code).toBe('PERMISSION_DENIED');
    expect(joinError.details).toEqual({ room: 'guarded' });
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

describe('RoomDirectory: the policy and the creation limit come before a room is created', () => {
  const refuseAll = () => recordingPolicy(() => false);

  it('stores nothing for refused joins and posts, so a refused user cannot spend maxRooms', async () => {
    const store = new InMemoryRoomStore();
    const { policy, asked } = recordingPolicy((_action, user) => user.isAdmin);
    const rooms = directory(store, { maxRooms: 3 }, policy);

    for (const name of ['r1', 'r2', 'r3', 'r4']) {
      const error = await failure(rooms.join(identity('1'), name));
      expect(error.code).toBe('PERMISSION_DENIED');
      expect(error.details).toEqual({ room: name });
      expect(await rooms.find(name)).toBeNull();
    }
    const postError = await failure(rooms.findOrCreateFor('post', identity('1'), 'r5'));
    expect(postError.code).toBe('PERMISSION_DENIED');
    expect(await rooms.find('r5')).toBeNull();
    expect(await store.count()).toBe(0);
    // Asked on the provisional summary of the room that does not exist yet.
    expect(asked[0]).toEqual({ action: 'join', user: '1', room: { id: 0, name: 'r1', isPrivate: false } });
    expect(asked[4]).toEqual({ action: 'post', user: '1', room: { id: 0, name: 'r5', isPrivate: false } });

    // The cap is still whole for a user the policy admits.
    for (const name of ['a1', 'a2', 'a3']) {
      await expect(rooms.join(identity('9', true), name)).resolves.toMatchObject({ name });
    }
  });

  it("asks the action's check once when it creates the room (the provisional answer stands)", async () => {
    const { policy, asked } = recordingPolicy(() => true);
    const rooms = directory(new InMemoryRoomStore(), {}, policy);

    const room = await rooms.join(identity('1'), 'once');

    expect(asked).toEqual([{ action: 'join', user: '1', room: { id: 0, name: 'once', isPrivate: false } }]);
    expect(room.id).toBeGreaterThan(0);
  });

  it("asks canCreate(user, name) instead of the provisional check when the policy has it, then the action's check", async () => {
    const store = new InMemoryRoomStore();
    const { policy, asked } = recordingPolicy(() => true);
    const created: Array<[string, string]> = [];
    const withCreate: RoomPolicy = {
      ...policy,
      canCreate: (user, name) => {
        created.push([user.userId, name]);
        return user.userId !== 'nope';
      },
    };
    const rooms = directory(store, {}, withCreate);

    const error = await failure(rooms.join(identity('nope'), 'made'));
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.message).toBe('The room policy does not let this user create the room');
    expect(error.details).toEqual({ room: 'made' });
    expect(await rooms.find('made')).toBeNull();
    expect(asked).toEqual([]);

    const room = await rooms.join(identity('2'), 'made');
    expect(created).toEqual([
      ['nope', 'made'],
      ['2', 'made'],
    ]);
    expect(asked).toEqual([{ action: 'join', user: '2', room }]);
    // An existing room asks no canCreate.
    await rooms.join(identity('3'), 'made');
    expect(created).toHaveLength(2);
  });

  it('does not give a refused user the creation a concurrent admitted user starts', async () => {
    const store = new InMemoryRoomStore();
    const { policy } = recordingPolicy((_action, user) => user.userId === 'ok');
    const rooms = directory(store, {}, policy);

    const [refused, admitted] = await Promise.allSettled([
      rooms.join(identity('no'), 'contested'),
      rooms.join(identity('ok'), 'contested'),
    ]);

    expect(refused).toMatchObject({ status: 'rejected', reason: { code: 'PERMISSION_DENIED' } });
    expect(admitted).toMatchObject({ status: 'fulfilled', value: { name: 'contested' } });
    expect(await store.count()).toBe(1);
  });

  it("counts each creation in the user's room-create bucket: past it RATE_LIMITED, and nothing more is stored", async () => {
    const store = new InMemoryRoomStore();
    const rooms = directory(store, { maxRooms: 100 });
    const perMinute = ROOM_CREATION_BUCKET.perMinute ?? 0;
    for (let index = 0; index < perMinute; index += 1) await rooms.join(identity('1'), `mine-${index}`);

    const error = await failure(rooms.join(identity('1'), 'one-more'));

    expect(error.code).toBe('RATE_LIMITED');
    expect(error.details).toMatchObject({
      bucket: 'room-create',
      window: 'minute',
      limit: perMinute,
      retry_after_ms: expect.any(Number),
    });
    expect(await rooms.find('one-more')).toBeNull();
    expect(await store.count()).toBe(perMinute);
    // Posts that create count too; joining and posting to existing rooms count nothing.
    expect((await failure(rooms.findOrCreateFor('post', identity('1'), 'by-post'))).code).toBe(
      'RATE_LIMITED',
    );
    await expect(rooms.join(identity('1'), 'mine-0')).resolves.toMatchObject({ name: 'mine-0' });
    await expect(rooms.findOrCreateFor('post', identity('1'), 'mine-1')).resolves.toMatchObject({
      name: 'mine-1',
    });
    // Another user's bucket is its own.
    await expect(rooms.join(identity('2'), 'theirs')).resolves.toMatchObject({ name: 'theirs' });
  });

  it('asks no policy and counts nothing for a missing room it would not create anyway', async () => {
    const store = new InMemoryRoomStore();
    const { policy, asked } = refuseAll();
    const rooms = directory(store, { autoCreate: false }, policy);

    expect((await failure(rooms.join(identity('1'), 'nowhere'))).code).toBe('ROOM_NOT_FOUND');
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

  @Module({ providers: [{ provide: ROOM_POLICY, useClass: AdminsOnly }], exports: [ROOM_POLICY] })
  class ExportedPolicyModule {}

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

  it('is used from a non-global module listed in forRootAsync({ imports }) that exports it', async () => {
    const app = await boot({
      imports: [
        RealtimeModule.forRootAsync({
          imports: [ExportedPolicyModule],
          useFactory: () => ({ database: { type: 'sqlite', path: ':memory:' }, auth: { secret: SECRET } }),
        }),
      ],
    });

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
    await expect(booting).rejects.toThrow(
      'list that module in RealtimeModule.forRootAsync({ imports: [...] })',
    );
  });
});
