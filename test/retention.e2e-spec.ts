// Message retention (`rooms.retention`) end to end: the sample app with a short interval, real `ws`
// clients on /ws/chat. Messages past the maximum age leave history while room messages keep being
// delivered during the prune of thousands of rows; the count cap keeps the newest N of each room and
// direct conversation, and history paging and catch-up by after_id stay right around what it deleted.
// A host's storage without `prune` stops the boot.
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  inMemoryStorage,
  MESSAGE_STORE,
  RealtimeAdapter,
  RealtimeModule,
  RealtimeOptionsError,
  RoomDirectory,
  type MessageHistoryData,
  type MessagePruneRequest,
  type MessageStore,
  type RealtimeModuleOptions,
  type RoomMessagePayload,
} from 'nest-realtime';
import { Clients, TestWs, waitUntil } from './support/clients';
import { messageRecord } from './support/message-record';
import { startSample, TEST_SECRET, type RunningSample } from './support/sample-app';

/** Enough messages for the sustained delivery these tests drive. */
const RATE_LIMIT = { perMinute: 100_000, perHour: 1_000_000 };

interface Member {
  ws: TestWs;
  id: string;
}

async function member(sample: RunningSample, clients: Clients, name: string, room?: string): Promise<Member> {
  const login = await sample.login(name);
  const ws = await clients.ws(`ws://127.0.0.1:${sample.port}/ws/chat?token=${login.token}`);
  if (room !== undefined) {
    ws.send({ type: 'join_room', data: { room } });
    await ws.next('join_room_ack');
  }
  return { ws, id: login.user.id };
}

async function history(client: TestWs, data: Record<string, unknown>): Promise<MessageHistoryData> {
  client.send({ type: data.with_user === undefined ? 'room_history' : 'dm_history', data });
  return (await client.next('message_history')).data as MessageHistoryData;
}

const contents = (page: MessageHistoryData): string[] => page.messages.map((message) => message.content);

describe('message retention', () => {
  const clients = new Clients();
  afterEach(() => clients.closeAll());

  describe('by age (rooms.retention.maxAgeMs), with a short interval', () => {
    const MAX_AGE_MS = 60_000;
    const OLD_MESSAGES = 20_000;
    let sample: RunningSample;

    beforeAll(async () => {
      sample = await startSample({
        overrides: {
          limits: { rateLimit: RATE_LIMIT },
          rooms: { retention: { maxAgeMs: MAX_AGE_MS, intervalMs: 100 } },
        },
      });
    });
    afterAll(async () => {
      await sample?.close();
    });

    it('deletes the messages past the age from history while room messages keep being delivered', async () => {
      const room = 'retained';
      const alice = await member(sample, clients, 'ret-alice', room);
      const bob = await member(sample, clients, 'ret-bob', room);
      const roomId = (await sample.app.get(RoomDirectory).require(room)).id;

      // The retention runs are held at a gate while the old messages are stored, so that one run
      // prunes them all, with the messages below in flight; each run's span is recorded.
      const store = sample.app.get<MessageStore>(MESSAGE_STORE);
      const prune = store.prune?.bind(store);
      if (prune === undefined) throw new Error('the default message store implements prune()');
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const runs: Array<{ started: number; ended: number; deleted: number }> = [];
      const spy = jest.spyOn(store, 'prune').mockImplementation(async (request: MessagePruneRequest) => {
        await gate;
        const started = Date.now();
        const deleted = await prune(request);
        runs.push({ started, ended: Date.now(), deleted });
        return deleted;
      });
      try {
        const createdAt = Date.now() - 60 * 60_000;
        for (let i = 0; i < OLD_MESSAGES; i++) {
          await store.insert(messageRecord({ roomId, senderId: alice.id, content: `old ${i}`, createdAt }));
        }
        expect((await history(bob.ws, { room, limit: 1 })).total).toBe(OLD_MESSAGES);

        // Alice posts one message at a time; each is timed until Bob has it.
        const delivered: Array<{ at: number; latencyMs: number }> = [];
        let sent = 0;
        const post = async (): Promise<void> => {
          const content = `live ${sent++}`;
          const at = Date.now();
          alice.ws.send({ type: 'room_message', data: { room, content } });
          await bob.ws.nextMatching(
            (frame) =>
              frame.type === 'room_message' && (frame.data as RoomMessagePayload).content === content,
            5000,
          );
          delivered.push({ at: Date.now(), latencyMs: Date.now() - at });
        };
        for (let i = 0; i < 5; i++) await post();
        open();
        while (!runs.some((run) => run.deleted > 0)) await post();
        for (let i = 0; i < 5; i++) await post();

        const run = runs.find((candidate) => candidate.deleted > 0)!;
        expect(run.deleted).toBe(OLD_MESSAGES);
        // Delivery went on during the prune: messages arrived while it ran, none of them late.
        const during = delivered.filter((delivery) => delivery.at > run.started && delivery.at < run.ended);
        expect(during.length).toBeGreaterThanOrEqual(3);
        expect(Math.max(...delivered.map((delivery) => delivery.latencyMs))).toBeLessThan(1000);

        const page = await history(bob.ws, { room, limit: 100 });
        expect(page.total).toBe(sent);
        expect(contents(page)).toEqual(
          Array.from({ length: Math.min(sent, 100) }, (_, i) => `live ${sent - Math.min(sent, 100) + i}`),
        );
      } finally {
        open();
        spy.mockRestore();
      }
    }, 60_000);
  });

  describe('by count (rooms.retention.maxMessagesPerConversation)', () => {
    const KEEP = 5;
    let sample: RunningSample;

    beforeAll(async () => {
      sample = await startSample({
        overrides: {
          limits: { rateLimit: RATE_LIMIT },
          rooms: { retention: { maxMessagesPerConversation: KEEP, intervalMs: 100 } },
        },
      });
    });
    afterAll(async () => {
      await sample?.close();
    });

    it('keeps the newest N of each room and direct conversation; paging and after_id catch-up stay right', async () => {
      const room = 'capped';
      const alice = await member(sample, clients, 'cap-alice', room);
      const bob = await member(sample, clients, 'cap-bob', room);
      /** Posts to the room and returns the id Bob received. */
      const post = async (content: string): Promise<number> => {
        alice.ws.send({ type: 'room_message', data: { room, content } });
        const frame = await bob.ws.nextMatching(
          (f) => f.type === 'room_message' && (f.data as RoomMessagePayload).content === content,
        );
        return (frame.data as RoomMessagePayload).id;
      };
      const ids: number[] = [];
      for (let i = 0; i < 8; i++) ids.push(await post(`m${i}`));
      for (let i = 0; i < 7; i++) {
        alice.ws.send({ type: 'direct_message', data: { to_user_id: bob.id, content: `d${i}` } });
        await bob.ws.next('direct_message');
      }
      const dm = { with_user: bob.id, limit: 50 };

      await waitUntil(async () => (await history(bob.ws, { room, limit: 1 })).total === KEEP);
      await waitUntil(async () => (await history(alice.ws, dm)).total === KEEP);

      expect(contents(await history(bob.ws, { room, limit: 50 }))).toEqual(['m3', 'm4', 'm5', 'm6', 'm7']);
      expect(contents(await history(alice.ws, dm))).toEqual(['d2', 'd3', 'd4', 'd5', 'd6']);
      // Pages from the newest, counted on what stayed.
      const first = await history(bob.ws, { room, limit: 2 });
      expect([contents(first), first.has_more, first.total]).toEqual([['m6', 'm7'], true, KEEP]);
      const second = await history(bob.ws, { room, limit: 2, offset: 2 });
      expect([contents(second), second.has_more]).toEqual([['m4', 'm5'], true]);
      const last = await history(bob.ws, { room, limit: 2, offset: 4 });
      expect([contents(last), last.has_more]).toEqual([['m3'], false]);
      // Catch-up from a message that stayed, and from one that was deleted (the messages after it).
      const caughtUp = await history(bob.ws, { room, after_id: ids[4] });
      expect([contents(caughtUp), caughtUp.has_more]).toEqual([['m5', 'm6', 'm7'], false]);
      expect(contents(await history(bob.ws, { room, after_id: ids[1] }))).toEqual([
        'm3',
        'm4',
        'm5',
        'm6',
        'm7',
      ]);

      // The room goes on: new messages follow, and are trimmed to the newest N in turn.
      const newer = [await post('m8'), await post('m9')];
      expect((await history(bob.ws, { room, after_id: ids[7] })).messages.map((m) => m.id)).toEqual(newer);
      await waitUntil(async () => (await history(bob.ws, { room, limit: 1 })).total === KEEP);
      expect(contents(await history(bob.ws, { room, limit: 50 }))).toEqual(['m5', 'm6', 'm7', 'm8', 'm9']);
      expect(contents(await history(bob.ws, { room, after_id: ids[7] }))).toEqual(['m8', 'm9']);
      // The direct conversation is still listed, by its newest message.
      bob.ws.send({ type: 'dm_conversations', data: {} });
      expect((await bob.ws.next('dm_conversations')).data).toMatchObject({
        conversations: [{ with_user: Number(alice.id) }],
      });
    }, 30_000);
  });

  it('stops the boot when the host’s storage cannot prune and retention is set', async () => {
    const base = inMemoryStorage();
    // A message store written before retention: every method but prune.
    const messages: MessageStore = {
      insert: (message) => base.messages.insert(message),
      exists: (id, conversation) => base.messages.exists(id, conversation),
      count: (conversation) => base.messages.count(conversation),
      newest: (conversation, offset, limit) => base.messages.newest(conversation, offset, limit),
      after: (conversation, afterId, limit) => base.messages.after(conversation, afterId, limit),
    };
    const options: RealtimeModuleOptions = {
      auth: { secret: TEST_SECRET },
      storage: { ...base, messages },
      rooms: { retention: { maxMessagesPerConversation: 100 } },
    };
    @Module({ imports: [RealtimeModule.forRoot(options)] })
    class HostWithOldStore {}
    // Refused with the options, while the module's providers are created.
    let app: INestApplication | undefined;
    const refusal = await (async () => {
      app = await NestFactory.create(HostWithOldStore, { logger: false, abortOnError: false });
      app.useWebSocketAdapter(new RealtimeAdapter(app));
      await app.init();
    })().catch((error: unknown) => error);
    await app?.close();
    expect(refusal).toBeInstanceOf(RealtimeOptionsError);
    expect((refusal as Error).message).toMatch(/"rooms\.retention".*storage\.messages\.prune/);

    // Without retention, the same storage boots.
    @Module({ imports: [RealtimeModule.forRoot({ ...options, rooms: {} })] })
    class HostWithoutRetention {}
    const booted = await NestFactory.create(HostWithoutRetention, { logger: false, abortOnError: false });
    booted.useWebSocketAdapter(new RealtimeAdapter(booted));
    try {
      await booted.init();
    } finally {
      await booted.close();
    }
  });
});
