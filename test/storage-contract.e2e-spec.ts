// One contract for every storage behind the seam: the in-memory stores, and the TypeORM stores on
// SQLite and on a real PostgreSQL server (started here). The conversation rules rely on exactly these
// behaviours, whatever the implementation.
import {
  inMemoryStorage,
  RealtimeError,
  RealtimeErrorCode,
  RealtimeRateLimiter,
  resolveRealtimeOptions,
  RoomDirectory,
  type RealtimeModuleOptions,
  type RealtimeStorage,
  type RoomStore,
} from 'nest-realtime';
import { realtimeDataSourceOptions } from 'nest-realtime/storage/typeorm/realtime-typeorm.options';
import { typeOrmStorage } from 'nest-realtime/storage/storage.providers';
import { DataSource } from 'typeorm';
import { messageRecord } from './support/message-record';
import { startPostgres, type PostgresServer } from './support/postgres-server';

interface OpenStorage {
  storage: RealtimeStorage;
  close(): Promise<void>;
}

const SECRET = 'contract-secret-0123456789';

async function typeOrm(database: RealtimeModuleOptions['database']): Promise<OpenStorage> {
  const options = resolveRealtimeOptions({ auth: { secret: SECRET }, database });
  const dataSource = await new DataSource(realtimeDataSourceOptions(options).dataSource).initialize();
  return { storage: typeOrmStorage(dataSource), close: () => dataSource.destroy() };
}

const message = messageRecord;

function storageContract(name: string, open: () => Promise<OpenStorage>, setupTimeoutMs = 30_000): void {
  describe(`storage contract: ${name}`, () => {
    let opened: OpenStorage;
    let storage: RealtimeStorage;

    beforeAll(async () => {
      opened = await open();
      storage = opened.storage;
    }, setupTimeoutMs);

    afterAll(async () => {
      await opened?.close();
    });

    describe('rooms', () => {
      it('creates rooms with growing ids, finds them by name, lists them by id', async () => {
        const a = await storage.rooms.create({ name: 'contract-a', isPrivate: false, createdBy: null });
        const b = await storage.rooms.create({ name: 'contract-b', isPrivate: true, createdBy: '7' });
        expect(b.id).toBeGreaterThan(a.id);
        expect(await storage.rooms.findByName('contract-b')).toEqual({
          id: b.id,
          name: 'contract-b',
          isPrivate: true,
          createdBy: '7',
        });
        expect(await storage.rooms.findByName('missing')).toBeNull();
        const names = (await storage.rooms.list()).map((room) => room.name);
        expect(names.indexOf('contract-a')).toBeLessThan(names.indexOf('contract-b'));
        await expect(
          storage.rooms.create({ name: 'contract-a', isPrivate: false, createdBy: null }),
        ).rejects.toThrow();
      });

      it('counts its rooms (the cap on rooms created on first use reads it)', async () => {
        const count = storage.rooms.count?.bind(storage.rooms);
        if (count === undefined) throw new Error('the built-in room stores implement count()');
        const before = await count();
        expect(before).toBe((await storage.rooms.list()).length);
        await storage.rooms.create({ name: 'contract-counted', isPrivate: false, createdBy: null });
        expect(await count()).toBe(before + 1);
        // A refused duplicate adds nothing.
        await expect(
          storage.rooms.create({ name: 'contract-counted', isPrivate: true, createdBy: null }),
        ).rejects.toThrow();
        expect(await count()).toBe(before + 1);
      });

      it('refuses a second create of one name, so a node that lost the race to create a room uses the winner’s', async () => {
        const options = resolveRealtimeOptions({ auth: { secret: SECRET } });
        const first = new RoomDirectory(storage.rooms, options, new RealtimeRateLimiter(options));
        // The other node looked the name up before the first created it: its lookup saw nothing.
        let staleLookups = 1;
        const late: RoomStore = Object.create(storage.rooms, {
          findByName: {
            value: (name: string) =>
              staleLookups-- > 0 ? Promise.resolve(null) : storage.rooms.findByName(name),
          },
        }) as RoomStore;
        const second = new RoomDirectory(late, options, new RealtimeRateLimiter(options));

        const winner = await first.findOrCreate('contract-raced', '1');
        const create = jest.spyOn(storage.rooms, 'create');
        try {
          expect(await second.findOrCreate('contract-raced', '2')).toEqual(winner);
          expect(create).toHaveBeenCalledTimes(1);
          await expect(create.mock.results[0]?.value).rejects.toBeDefined();
        } finally {
          create.mockRestore();
        }
        expect((await storage.rooms.list()).filter((room) => room.name === 'contract-raced')).toHaveLength(1);
      });

      it('keeps memberships: add twice is one membership, remove ends it', async () => {
        const room = await storage.rooms.create({
          name: 'contract-members',
          isPrivate: true,
          createdBy: null,
        });
        expect(await storage.rooms.isMember(room.id, 'u1')).toBe(false);
        await storage.rooms.addMember(room.id, 'u1', 1);
        await storage.rooms.addMember(room.id, 'u1', 2);
        expect(await storage.rooms.isMember(room.id, 'u1')).toBe(true);
        expect(await storage.rooms.isMember(room.id, 'u2')).toBe(false);
        await storage.rooms.removeMember(room.id, 'u1');
        expect(await storage.rooms.isMember(room.id, 'u1')).toBe(false);
      });
    });

    describe('messages', () => {
      it('stores every field, gives growing ids and counts per conversation', async () => {
        const room = await storage.rooms.create({ name: 'contract-msgs', isPrivate: false, createdBy: null });
        const other = await storage.rooms.create({
          name: 'contract-other',
          isPrivate: false,
          createdBy: null,
        });
        const first = await storage.messages.insert(message({ roomId: room.id }));
        const audio = message({
          roomId: room.id,
          content: 'voice — é 你好',
          messageType: 'audio',
          mediaUrl: '/uploads/a.ogg',
          duration: 12.5,
          replyTo: first,
          context: { roomId: 'contract-msgs', nested: { n: 1 } },
        });
        const second = await storage.messages.insert(audio);
        await storage.messages.insert(message({ roomId: other.id }));
        expect(second).toBeGreaterThan(first);
        expect(await storage.messages.count({ roomId: room.id })).toBe(2);
        expect(await storage.messages.count({ roomId: other.id })).toBe(1);
        const [stored] = await storage.messages.after({ roomId: room.id }, first, 10);
        expect(stored).toEqual({ ...audio, id: second });
        expect(await storage.messages.exists(first, { roomId: room.id })).toBe(true);
        expect(await storage.messages.exists(first, { roomId: other.id })).toBe(false);
        expect(await storage.messages.exists(second + 1000, { roomId: room.id })).toBe(false);
      });

      it('pages the newest by offset (oldest first in a page) and catches up after an id', async () => {
        const room = await storage.rooms.create({
          name: 'contract-paging',
          isPrivate: false,
          createdBy: null,
        });
        const ids: number[] = [];
        for (let i = 0; i < 7; i++)
          ids.push(await storage.messages.insert(message({ roomId: room.id, content: `m${i}` })));
        const conversation = { roomId: room.id };
        expect((await storage.messages.newest(conversation, 0, 3)).map((m) => m.content)).toEqual([
          'm4',
          'm5',
          'm6',
        ]);
        expect((await storage.messages.newest(conversation, 3, 3)).map((m) => m.content)).toEqual([
          'm1',
          'm2',
          'm3',
        ]);
        expect((await storage.messages.newest(conversation, 6, 3)).map((m) => m.content)).toEqual(['m0']);
        expect(await storage.messages.newest(conversation, 7, 3)).toEqual([]);
        expect((await storage.messages.after(conversation, ids[2] as number, 2)).map((m) => m.id)).toEqual([
          ids[3],
          ids[4],
        ]);
        expect(await storage.messages.after(conversation, ids[6] as number, 5)).toEqual([]);
        expect((await storage.messages.after(conversation, 0, 100)).map((m) => m.id)).toEqual(ids);
      });

      it('catch-up is gap-free while writers store at once: a reader paging by the last id it got gets every message once, in the one commit order', async () => {
        const room = await storage.rooms.create({ name: 'contract-race', isPrivate: false, createdBy: null });
        const conversation = { roomId: room.id };
        const WRITERS = 4;
        const EACH = 15;
        let writing = true;
        const written = Promise.all(
          Array.from({ length: WRITERS }, async (_, writer) => {
            const ids: number[] = [];
            for (let n = 0; n < EACH; n++) {
              ids.push(
                await storage.messages.insert(message({ roomId: room.id, content: `w${writer}-${n}` })),
              );
            }
            return ids;
          }),
        ).finally(() => {
          writing = false;
        });
        // The reader's cursor is the id of the last message it got, as a client's after_id.
        const seen: number[] = [];
        let cursor = 0;
        const read = async (): Promise<number> => {
          const page = await storage.messages.after(conversation, cursor, 5);
          for (const row of page) seen.push(row.id);
          cursor = page.at(-1)?.id ?? cursor;
          return page.length;
        };
        while (writing) await read();
        while ((await read()) > 0);
        const byWriter = await written;

        const numeric = (a: number, b: number) => a - b;
        expect([...seen].sort(numeric)).toEqual(byWriter.flat().sort(numeric));
        // One order for every reader: a whole read, and pages from the newest, agree with it.
        expect((await storage.messages.after(conversation, 0, 1000)).map((row) => row.id)).toEqual(seen);
        expect((await storage.messages.newest(conversation, 0, 1000)).map((row) => row.id)).toEqual(seen);
        expect((await storage.messages.newest(conversation, 10, 5)).map((row) => row.id)).toEqual(
          seen.slice(-15, -10),
        );
        // After any message: exactly the ones after it in that order.
        for (const at of [0, 17, 42]) {
          expect(
            (await storage.messages.after(conversation, seen[at] as number, 7)).map((row) => row.id),
          ).toEqual(seen.slice(at + 1, at + 8));
        }
        // Each writer's messages keep the order it stored them in.
        for (const ids of byWriter) {
          const places = ids.map((id) => seen.indexOf(id));
          expect([...places].sort(numeric)).toEqual(places);
        }
        expect(await storage.messages.count(conversation)).toBe(WRITERS * EACH);
      });

      it('after an id that names no message of the conversation: the messages with a greater id', async () => {
        const room = await storage.rooms.create({
          name: 'contract-anchor',
          isPrivate: false,
          createdBy: null,
        });
        const other = await storage.rooms.create({
          name: 'contract-anchor-other',
          isPrivate: false,
          createdBy: null,
        });
        const a1 = await storage.messages.insert(message({ roomId: room.id }));
        const elsewhere = await storage.messages.insert(message({ roomId: other.id }));
        const a2 = await storage.messages.insert(message({ roomId: room.id }));
        const conversation = { roomId: room.id };
        expect((await storage.messages.after(conversation, elsewhere, 10)).map((row) => row.id)).toEqual([
          a2,
        ]);
        expect((await storage.messages.after(conversation, 0, 10)).map((row) => row.id)).toEqual([a1, a2]);
        expect(await storage.messages.after(conversation, a2 + 1000, 10)).toEqual([]);
        expect((await storage.messages.after({ dmKey: 'nobody|none' }, 0, 10)).length).toBe(0);
      });

      it('keeps direct conversations apart from rooms and from each other', async () => {
        const ab = await storage.messages.insert(message({ dmKey: 'a|b', senderId: 'a', recipientId: 'b' }));
        await storage.messages.insert(message({ dmKey: 'a|c', senderId: 'a', recipientId: 'c' }));
        await storage.messages.insert(message({ dmKey: 'a|b', senderId: 'b', recipientId: 'a' }));
        expect(await storage.messages.count({ dmKey: 'a|b' })).toBe(2);
        expect(await storage.messages.count({ dmKey: 'x|y' })).toBe(0);
        expect(await storage.messages.exists(ab, { dmKey: 'a|b' })).toBe(true);
        expect(await storage.messages.exists(ab, { dmKey: 'a|c' })).toBe(false);
        expect((await storage.messages.newest({ dmKey: 'a|b' }, 0, 10)).map((m) => m.senderId)).toEqual([
          'a',
          'b',
        ]);
      });
    });

    describe('direct conversations', () => {
      it('lists a user’s peers newest first, each once, with has_more, after_id and before_id', async () => {
        const send = (from: string, to: string) =>
          storage.messages.insert(
            message({
              dmKey: from < to ? `${from}|${to}` : `${to}|${from}`,
              senderId: from,
              recipientId: to,
            }),
          );
        const p1 = await send('p1', 'me');
        const p2 = await send('me', 'p2');
        const p3 = await send('p3', 'me');
        const p1again = await send('me', 'p1');
        await send('p2', 'someone-else');
        const page = await storage.directConversations.list('me', { limit: 2 });
        expect(page.conversations).toEqual([
          { withUserId: 'p1', lastId: p1again },
          { withUserId: 'p3', lastId: p3 },
        ]);
        expect(page.hasMore).toBe(true);
        const next = await storage.directConversations.list('me', { limit: 2, beforeId: p3 });
        expect(next).toEqual({ conversations: [{ withUserId: 'p2', lastId: p2 }], hasMore: false });
        const since = await storage.directConversations.list('me', { limit: 10, afterId: p2 });
        expect(since.conversations.map((c) => c.withUserId)).toEqual(['p1', 'p3']);
        expect(p1).toBeLessThan(p1again);
      });
    });

    describe('users', () => {
      it('registers, finds and updates users; a username taken by another id is refused', async () => {
        const auto = await storage.users.register({ username: 'contract-auto' });
        expect(auto.id).toMatch(/^\d+$/);
        const given = await storage.users.register({
          id: 'ext-1',
          username: 'contract-given',
          roles: ['admin'],
        });
        expect(given).toMatchObject({
          id: 'ext-1',
          username: 'contract-given',
          roles: ['admin'],
          email: null,
        });
        const again = await storage.users.register({ username: 'contract-given', email: 'g@example.test' });
        expect(again).toMatchObject({ id: 'ext-1', email: 'g@example.test', roles: ['admin'] });
        expect((await storage.users.findById('ext-1'))?.username).toBe('contract-given');
        expect((await storage.users.findByUsername('contract-auto'))?.id).toBe(auto.id);
        expect(await storage.users.findById('nobody')).toBeNull();
        const refusal = await storage.users
          .register({ id: 'ext-2', username: 'contract-given' })
          .catch((error: unknown) => error);
        expect(refusal).toBeInstanceOf(RealtimeError);
        expect((refusal as RealtimeError).code).toBe(RealtimeErrorCode.PERMISSION_DENIED);
        const invalid = await storage.users
          .register({ username: 'no spaces' })
          .catch((error: unknown) => error);
        expect((invalid as RealtimeError).code).toBe(RealtimeErrorCode.INVALID_FORMAT);
        expect(await storage.users.count()).toBe(2);
      });

      it('lists recently seen users, most recent first', async () => {
        const a = await storage.users.register({ username: 'contract-seen-a' });
        const b = await storage.users.register({ username: 'contract-seen-b' });
        await storage.users.markSeen(a.id, 1000);
        await storage.users.markSeen(b.id, 2000);
        const seen = await storage.users.recentlySeen(10);
        expect(seen.map((user) => user.username)).toEqual(['contract-seen-b', 'contract-seen-a']);
        expect(seen[0]?.lastSeenAt).toBe(2000);
        expect(await storage.users.recentlySeen(0)).toEqual([]);
      });
    });
  });
}

storageContract('in memory', () =>
  Promise.resolve({ storage: inMemoryStorage(), close: () => Promise.resolve() }),
);
storageContract('TypeORM on SQLite', () => typeOrm({ type: 'sqlite', path: ':memory:' }));

let postgres: PostgresServer | undefined;
storageContract(
  'TypeORM on PostgreSQL',
  async () => {
    postgres = await startPostgres({ startTimeoutMs: 60_000 });
    const opened = await typeOrm({ type: 'postgres', url: postgres.url });
    return {
      storage: opened.storage,
      close: async () => {
        await opened.close();
        await postgres?.stop();
      },
    };
  },
  120_000,
);
