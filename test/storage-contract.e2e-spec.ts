// One contract for every storage behind the seam: the in-memory stores, and the TypeORM stores on
// SQLite and on a real PostgreSQL server (started here). The conversation rules rely on exactly these
// behaviours, whatever the implementation.
import {
  inMemoryStorage,
  PersistentLogStore,
  RealtimeError,
  RealtimeErrorCode,
  RealtimeRateLimiter,
  resolveRealtimeOptions,
  RoomDirectory,
  type LogEntry,
  type LogStore,
  type MessagePruneRequest,
  type RealtimeModuleOptions,
  type RealtimeStorage,
  type RoomStore,
} from 'nest-realtime';
import { openRealtimeDataSource, typeOrmStorage } from 'nest-realtime/storage/storage.providers';
import { WriteQueue } from 'nest-realtime/storage/typeorm/write-transaction';
import { messageRecord } from './support/message-record';
import { startPostgres, type PostgresServer } from './support/postgres-server';

interface OpenStorage {
  storage: RealtimeStorage;
  close(): Promise<void>;
  /** A durable log store read back from where it keeps its entries (as after a restart). */
  reloadLogs?(): Promise<LogStore>;
}

const SECRET = 'contract-secret-0123456789';
/** Log entries kept per app by the contract's log stores. */
const LOG_CAPACITY = 100;

async function typeOrm(database: RealtimeModuleOptions['database']): Promise<OpenStorage> {
  const options = resolveRealtimeOptions({ auth: { secret: SECRET }, database });
  const dataSource = await openRealtimeDataSource(options);
  // The log store the library builds with `stream.persist`, sharing the stores' write queue.
  const writes = new WriteQueue(dataSource);
  const logs = new PersistentLogStore(dataSource, LOG_CAPACITY, writes);
  await logs.load();
  return {
    storage: { ...typeOrmStorage(dataSource, writes), logs },
    close: async () => {
      await logs.onApplicationShutdown();
      await dataSource.destroy();
    },
    reloadLogs: async () => {
      await logs.flush();
      const reloaded = new PersistentLogStore(dataSource, LOG_CAPACITY, writes);
      await reloaded.load();
      return reloaded;
    },
  };
}

/** A log entry of the contract's app, attributed to `userId`. */
function logEntry(id: string, userId: string): LogEntry {
  return {
    id,
    timestamp: 1_700_000_000_000,
    level: 'info',
    message: `from ${userId}`,
    appId: 'contract-app',
    userId,
  };
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
        // A history page gives the same row, every field converted back as stored.
        expect(await storage.messages.newest({ roomId: room.id }, 0, 1)).toEqual([{ ...audio, id: second }]);
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
        // A client's reads arrive as I/O: the event loop turns between them. (On the embedded SQLite a
        // read resolves in microtasks alone; a loop of them would keep the writers' batch, committed
        // once the loop's turn ends, from ever running.)
        const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
        while (writing) {
          await read();
          await nextTurn();
        }
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

    // Last: retention deletes every message older than its cutoff, those of the cases above too.
    describe('retention (prune)', () => {
      /** The store's prune (every built-in store has one). */
      function prune(request: Partial<MessagePruneRequest>): Promise<number> {
        const run = storage.messages.prune?.bind(storage.messages);
        if (run === undefined) throw new Error('the built-in message stores implement prune()');
        return run({ olderThan: null, keepPerConversation: null, batchSize: 2, ...request });
      }
      const now = Date.now();
      const old = 1_700_000_000_000;

      it('deletes the messages created before olderThan, from the oldest end, and takes them off the counts', async () => {
        const room = await storage.rooms.create({ name: 'contract-aged', isPrivate: false, createdBy: null });
        const conversation = { roomId: room.id };
        const dm = { dmKey: 'aged-a|aged-b' };
        const directly = (content: string, createdAt: number) =>
          storage.messages.insert(
            message({ ...dm, senderId: 'aged-a', recipientId: 'aged-b', content, createdAt }),
          );
        // Stored as they were created: the old ones first (every message of the cases above is old too).
        for (let i = 0; i < 3; i++)
          await storage.messages.insert(message({ roomId: room.id, content: `old${i}`, createdAt: old + i }));
        await directly('old-dm', old);
        await storage.messages.insert(
          message({
            dmKey: 'emptied-a|emptied-b',
            senderId: 'emptied-a',
            recipientId: 'emptied-b',
            createdAt: old,
          }),
        );
        const kept = [
          await storage.messages.insert(message({ roomId: room.id, content: 'new0', createdAt: now })),
          await storage.messages.insert(message({ roomId: room.id, content: 'new1', createdAt: now + 1 })),
        ];
        const keptDm = await directly('new-dm', now);

        expect(await prune({ olderThan: now - 60_000 })).toBeGreaterThanOrEqual(5);

        expect(await storage.messages.count(conversation)).toBe(2);
        expect((await storage.messages.newest(conversation, 0, 10)).map((m) => m.content)).toEqual([
          'new0',
          'new1',
        ]);
        expect((await storage.messages.after(conversation, 0, 10)).map((m) => m.id)).toEqual(kept);
        expect(await storage.messages.count(dm)).toBe(1);
        expect((await storage.messages.newest(dm, 0, 10)).map((m) => m.id)).toEqual([keptDm]);
        // A direct conversation left without messages leaves its users' lists.
        expect((await storage.directConversations.list('emptied-a', { limit: 10 })).conversations).toEqual(
          [],
        );
        expect((await storage.directConversations.list('aged-b', { limit: 10 })).conversations).toEqual([
          { withUserId: 'aged-a', lastId: keptDm },
        ]);
        // Nothing more is old enough: a second run (another node's) deletes nothing.
        expect(await prune({ olderThan: now - 60_000 })).toBe(0);
        // The conversations go on numbering after what stayed.
        const next = await storage.messages.insert(
          message({ roomId: room.id, content: 'new2', createdAt: now }),
        );
        expect((await storage.messages.after(conversation, kept[1] as number, 10)).map((m) => m.id)).toEqual([
          next,
        ]);
      });

      it('keeps the newest keepPerConversation of each conversation; paging and catch-up stay right', async () => {
        const room = await storage.rooms.create({
          name: 'contract-capped',
          isPrivate: false,
          createdBy: null,
        });
        const conversation = { roomId: room.id };
        const dm = { dmKey: 'cap-a|cap-b' };
        const ids: number[] = [];
        for (let i = 0; i < 7; i++)
          ids.push(
            await storage.messages.insert(message({ roomId: room.id, content: `m${i}`, createdAt: now })),
          );
        for (let i = 0; i < 4; i++)
          await storage.messages.insert(
            message({ ...dm, senderId: 'cap-a', recipientId: 'cap-b', content: `d${i}`, createdAt: now }),
          );
        const smaller = await storage.rooms.create({
          name: 'contract-small',
          isPrivate: false,
          createdBy: null,
        });
        await storage.messages.insert(message({ roomId: smaller.id, createdAt: now }));

        // Every conversation left by the case above holds at most 3 messages: only these two are trimmed.
        expect(await prune({ keepPerConversation: 3 })).toBe(4 + 1);

        expect(await storage.messages.count(conversation)).toBe(3);
        expect((await storage.messages.newest(conversation, 0, 2)).map((m) => m.content)).toEqual([
          'm5',
          'm6',
        ]);
        expect((await storage.messages.newest(conversation, 2, 2)).map((m) => m.content)).toEqual(['m4']);
        expect(await storage.messages.newest(conversation, 3, 2)).toEqual([]);
        expect((await storage.messages.newest(dm, 0, 10)).map((m) => m.content)).toEqual(['d1', 'd2', 'd3']);
        expect(await storage.messages.count({ roomId: smaller.id })).toBe(1);
        // Catch-up from a message that stayed, and from one that went (the messages with a greater id).
        expect((await storage.messages.after(conversation, ids[4] as number, 10)).map((m) => m.id)).toEqual(
          ids.slice(5),
        );
        expect((await storage.messages.after(conversation, ids[1] as number, 10)).map((m) => m.id)).toEqual(
          ids.slice(4),
        );
        expect(await storage.messages.exists(ids[3] as number, conversation)).toBe(false);
        const next = await storage.messages.insert(
          message({ roomId: room.id, content: 'm7', createdAt: now }),
        );
        expect((await storage.messages.after(conversation, ids[6] as number, 10)).map((m) => m.id)).toEqual([
          next,
        ]);
        expect(await storage.messages.count(conversation)).toBe(4);
      });

      it('counts each message once when two nodes prune at once', async () => {
        const room = await storage.rooms.create({
          name: 'contract-twice',
          isPrivate: false,
          createdBy: null,
        });
        for (let i = 0; i < 9; i++)
          await storage.messages.insert(message({ roomId: room.id, content: `t${i}`, createdAt: now }));
        const [first, second] = await Promise.all([
          prune({ keepPerConversation: 4 }),
          prune({ keepPerConversation: 4 }),
        ]);
        // The room of the case above has 4 messages: only this room's 5 oldest go, once.
        expect((first ?? 0) + (second ?? 0)).toBe(5);
        expect(await storage.messages.count({ roomId: room.id })).toBe(4);
        expect((await storage.messages.after({ roomId: room.id }, 0, 10)).map((m) => m.content)).toEqual([
          't5',
          't6',
          't7',
          't8',
        ]);
      });

      it('deletes nothing once aborted', async () => {
        const room = await storage.rooms.create({
          name: 'contract-aborted',
          isPrivate: false,
          createdBy: null,
        });
        for (let i = 0; i < 3; i++)
          await storage.messages.insert(message({ roomId: room.id, createdAt: now }));
        const controller = new AbortController();
        controller.abort();
        expect(await prune({ keepPerConversation: 1, signal: controller.signal })).toBe(0);
        expect(await storage.messages.count({ roomId: room.id })).toBe(3);
      });
    });

    describe('deleting a user’s data', () => {
      it('deletes their room messages, direct conversations, memberships, creator id, log entries and record; others’ data stays', async () => {
        const messages = storage.messages.deleteUserData?.bind(storage.messages);
        const rooms = storage.rooms.deleteUserData?.bind(storage.rooms);
        const users = storage.users.deleteUserData?.bind(storage.users);
        if (!messages || !rooms || !users) throw new Error('the built-in stores implement deleteUserData()');
        await storage.users.register({ id: 'erase-me', username: 'contract-erased' });
        await storage.users.register({ id: 'keep-me', username: 'contract-kept' });
        const usersBefore = await storage.users.count();
        const room = await storage.rooms.create({
          name: 'contract-erase',
          isPrivate: true,
          createdBy: 'erase-me',
        });
        const other = await storage.rooms.create({
          name: 'contract-erase-2',
          isPrivate: false,
          createdBy: 'keep-me',
        });
        for (const member of ['erase-me', 'keep-me']) {
          await storage.rooms.addMember(room.id, member, 1);
          await storage.rooms.addMember(other.id, member, 1);
        }
        const inRoom = (senderId: string, content: string) =>
          storage.messages.insert(message({ roomId: room.id, senderId, content }));
        const direct = (from: string, to: string) =>
          storage.messages.insert(
            message({
              dmKey: from < to ? `${from}|${to}` : `${to}|${from}`,
              senderId: from,
              recipientId: to,
            }),
          );
        await inRoom('erase-me', 'e1');
        const k1 = await inRoom('keep-me', 'k1');
        await inRoom('erase-me', 'e2');
        const k2 = await inRoom('keep-me', 'k2');
        await inRoom('erase-me', 'e3');
        await direct('erase-me', 'keep-me');
        await direct('keep-me', 'erase-me');
        await direct('erase-me', 'keep-me');
        // The user's id sorts second in this pair's key.
        await direct('a-first', 'erase-me');
        const kept = [await direct('keep-me', 'third-user'), await direct('third-user', 'keep-me')];

        expect(await messages('erase-me', { batchSize: 2 })).toEqual({
          messages: 3 + 3 + 1,
          directConversations: 2,
        });
        expect(await rooms('erase-me')).toBe(2);
        expect(await users('erase-me')).toBe(true);

        expect(await storage.messages.count({ roomId: room.id })).toBe(2);
        expect((await storage.messages.after({ roomId: room.id }, 0, 10)).map((m) => m.id)).toEqual([k1, k2]);
        expect((await storage.messages.newest({ roomId: room.id }, 0, 10)).map((m) => m.content)).toEqual([
          'k1',
          'k2',
        ]);
        expect(await storage.messages.count({ dmKey: 'erase-me|keep-me' })).toBe(0);
        expect(await storage.messages.newest({ dmKey: 'erase-me|keep-me' }, 0, 10)).toEqual([]);
        expect(await storage.messages.newest({ dmKey: 'a-first|erase-me' }, 0, 10)).toEqual([]);
        expect(
          (await storage.messages.after({ dmKey: 'keep-me|third-user' }, 0, 10)).map((m) => m.id),
        ).toEqual(kept);
        expect((await storage.directConversations.list('keep-me', { limit: 10 })).conversations).toEqual([
          { withUserId: 'third-user', lastId: kept[1] },
        ]);
        expect((await storage.directConversations.list('erase-me', { limit: 10 })).conversations).toEqual([]);
        expect((await storage.directConversations.list('a-first', { limit: 10 })).conversations).toEqual([]);
        expect(await storage.rooms.isMember(room.id, 'erase-me')).toBe(false);
        expect(await storage.rooms.isMember(other.id, 'erase-me')).toBe(false);
        expect(await storage.rooms.isMember(room.id, 'keep-me')).toBe(true);
        expect((await storage.rooms.findByName('contract-erase'))?.createdBy).toBeNull();
        expect((await storage.rooms.findByName('contract-erase-2'))?.createdBy).toBe('keep-me');
        expect(await storage.users.findById('erase-me')).toBeNull();
        expect(await storage.users.findById('keep-me')).not.toBeNull();
        expect(await storage.users.count()).toBe(usersBefore - 1);

        // Again (a retried call, another node): nothing more.
        expect(await messages('erase-me', { batchSize: 2 })).toEqual({ messages: 0, directConversations: 0 });
        expect(await rooms('erase-me')).toBe(0);
        expect(await users('erase-me')).toBe(false);
        // A conversation started afresh with the same user is a new one.
        const fresh = await direct('keep-me', 'erase-me');
        expect((await storage.messages.after({ dmKey: 'erase-me|keep-me' }, 0, 10)).map((m) => m.id)).toEqual(
          [fresh],
        );
        expect(await storage.messages.count({ dmKey: 'erase-me|keep-me' })).toBe(1);
      });

      it('finds a direct conversation that retention emptied (only its counter left)', async () => {
        const messages = storage.messages.deleteUserData?.bind(storage.messages);
        if (!messages) throw new Error('the built-in stores implement deleteUserData()');
        // Emptied by the retention case above: its counter, not its messages, names the user.
        expect(await storage.messages.count({ dmKey: 'emptied-a|emptied-b' })).toBe(0);
        expect(await messages('emptied-b', { batchSize: 500 })).toEqual({
          messages: 0,
          directConversations: 1,
        });
        expect(await messages('emptied-a', { batchSize: 500 })).toEqual({
          messages: 0,
          directConversations: 0,
        });
        // Started again, the conversation numbers its messages afresh.
        const again = await storage.messages.insert(
          message({ dmKey: 'emptied-a|emptied-b', senderId: 'emptied-a', recipientId: 'emptied-b' }),
        );
        expect(
          (await storage.messages.after({ dmKey: 'emptied-a|emptied-b' }, 0, 10)).map((m) => m.id),
        ).toEqual([again]);
        expect(await messages('aged-a', { batchSize: 500 })).toEqual({ messages: 1, directConversations: 1 });
        expect(await storage.messages.count({ dmKey: 'aged-a|aged-b' })).toBe(0);
      });

      it("leaves another pair's conversation whose key also reads as the user's (an id holding '|')", async () => {
        const messages = storage.messages.deleteUserData?.bind(storage.messages);
        if (!messages) throw new Error('the built-in stores implement deleteUserData()');
        // "pipe|x" and "pipe|y" talk: their key "pipe|x|pipe|y" also starts with "pipe|".
        const dmKey = 'pipe|x|pipe|y';
        const id = await storage.messages.insert(
          message({ dmKey, senderId: 'pipe|x', recipientId: 'pipe|y' }),
        );
        expect(await messages('pipe', { batchSize: 500 })).toEqual({ messages: 0, directConversations: 0 });
        expect((await storage.messages.after({ dmKey }, 0, 10)).map((m) => m.id)).toEqual([id]);
        expect(await messages('pipe|x', { batchSize: 500 })).toEqual({ messages: 1, directConversations: 1 });
        expect(await storage.messages.count({ dmKey })).toBe(0);
      });

      it('deletes the log entries attributed to the user, written or not, and keeps the others', async () => {
        const logs = storage.logs;
        const deleteLogs = logs?.deleteUserData?.bind(logs);
        if (!logs || !deleteLogs) throw new Error('the contract’s log stores implement deleteUserData()');
        logs.append('contract-app', [
          logEntry('1', 'erase-me'),
          logEntry('2', 'keep-me'),
          logEntry('3', 'erase-me'),
        ]);
        // Written to the database by the durable store; the next ones may not be yet.
        await opened.reloadLogs?.();
        logs.append('contract-app', [logEntry('4', 'erase-me'), logEntry('5', 'keep-me')]);
        logs.append('other-app', [{ ...logEntry('6', 'erase-me'), appId: 'other-app' }]);

        expect(await deleteLogs('erase-me')).toBe(4);

        expect(logs.recent('contract-app', 10).map((entry) => entry.id)).toEqual(['2', '5']);
        expect(logs.recent('other-app', 10)).toEqual([]);
        const reloaded = await opened.reloadLogs?.();
        if (reloaded) {
          expect(reloaded.recent('contract-app', 10).map((entry) => entry.id)).toEqual(['2', '5']);
          expect(reloaded.recent('other-app', 10)).toEqual([]);
        }
        expect(await deleteLogs('erase-me')).toBe(0);
      });
    });
  });
}

storageContract('in memory', () =>
  Promise.resolve({ storage: inMemoryStorage(LOG_CAPACITY), close: () => Promise.resolve() }),
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
