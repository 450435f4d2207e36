// Catch-up by after_id with concurrent writers, on a real PostgreSQL server: a reader that pages with
// the id of the last message it got never misses a message, even one that drew a smaller id and
// committed after a larger one. First the store itself with two transactions held in a known
// interleaving; then two sample nodes on one database, with writers on both and a reader looping on
// history by after_id (rooms and direct messages), compared with the commit order the database kept.
import { getDataSourceToken } from '@nestjs/typeorm';
import {
  REALTIME_CONNECTION,
  resolveRealtimeOptions,
  type MessageHistoryData,
  type MessageRecord,
  type RealtimeStorage,
} from 'nest-realtime';
import { openRealtimeDataSource } from 'nest-realtime/storage/storage.providers';
import { typeOrmStorage } from 'nest-realtime/storage/storage.providers';
import { TypeOrmMessageStore } from 'nest-realtime/storage/typeorm/typeorm-message.store';
import { WriteQueue } from 'nest-realtime/storage/typeorm/write-transaction';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { TestWs, waitUntil } from './support/clients';
import { messageRecord } from './support/message-record';
import { startPostgres, type PostgresServer } from './support/postgres-server';
import { startSample, type RunningSample } from './support/sample-app';

// initdb + server start + migrations + two nodes; the tests themselves keep jest's 30 s or their own.
const BOOT_TIMEOUT_MS = 120_000;

const numeric = (a: number, b: number): number => a - b;

function record(conversation: { roomId: number } | { dmKey: string }, content: string): MessageRecord {
  return 'roomId' in conversation
    ? messageRecord({ roomId: conversation.roomId, content })
    : messageRecord({ dmKey: conversation.dmKey, recipientId: '2', content });
}

/**
 * The library's write queue, except that each transaction, once its first statement has run, waits
 * for `commit()` before going on: a writer caught in the middle of storing a message. Whatever the
 * store does first (draw the message's id, or take the conversation's counter row) has been done.
 */
class HeldWrites extends WriteQueue {
  private firstStatementRan!: () => void;
  private goOn!: () => void;
  /** Settles once the held transaction's first statement has run (it is still open). */
  readonly ran = new Promise<void>((resolve) => (this.firstStatementRan = resolve));
  private readonly released = new Promise<void>((resolve) => (this.goOn = resolve));

  override transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return super.transaction((manager) => {
      const runner = manager.queryRunner;
      if (runner === undefined) throw new Error('a transaction without its query runner');
      // Every statement of the transaction goes through its query runner (manager.query included).
      const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
      let statements = 0;
      runner.query = (async (...args: unknown[]) => {
        const result = await query(...args);
        if (++statements === 1) {
          this.firstStatementRan();
          await this.released;
        }
        return result;
      }) as QueryRunner['query'];
      return work(manager);
    });
  }

  /** Lets the held transaction go on to its commit. */
  commit(): void {
    this.goOn();
  }
}

describe('catch-up by after_id with concurrent writers (PostgreSQL)', () => {
  let postgres: PostgresServer | undefined;

  beforeAll(async () => {
    postgres = await startPostgres({ startTimeoutMs: 60_000 });
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await postgres?.stop();
  });

  function databaseUrl(): string {
    if (!postgres) throw new Error('PostgreSQL did not start');
    return postgres.url;
  }

  describe('the message store, two writers held in one interleaving', () => {
    let dataSource: DataSource;
    let storage: RealtimeStorage;

    beforeAll(async () => {
      const options = resolveRealtimeOptions({
        auth: { secret: 'catch-up-secret-0123456789' },
        database: { type: 'postgres', url: databaseUrl() },
      });
      dataSource = await openRealtimeDataSource(options);
      storage = typeOrmStorage(dataSource);
    }, BOOT_TIMEOUT_MS);

    afterAll(async () => {
      await dataSource?.destroy();
    });

    /** Whether some session of this database waits for a lock (a writer queued behind another). */
    async function someoneWaitsForALock(): Promise<boolean> {
      const rows = await dataSource.query<Array<{ n: string }>>(
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return Number(rows[0]?.n) > 0;
    }

    const cases: Array<[string, () => Promise<{ roomId: number } | { dmKey: string }>]> = [
      [
        'a room',
        async () => ({
          roomId: (await storage.rooms.create({ name: 'held-room', isPrivate: false, createdBy: null })).id,
        }),
      ],
      ['a direct conversation', () => Promise.resolve({ dmKey: 'a|b' })],
    ];

    it.each(cases)(
      '%s: writer 1 is held in the middle of storing, writer 2 stores; a reader that read meanwhile still gets both, in commit order',
      async (_label, conversationOf) => {
        const conversation = await conversationOf();
        const seen: number[] = [];
        // The reader has caught up with everything before the race: its cursor is the last id it got.
        let cursor = await storage.messages.insert(record(conversation, 'before'));
        const read = async (): Promise<number> => {
          const page = await storage.messages.after(conversation, cursor, 10);
          for (const row of page) seen.push(row.id);
          cursor = page.at(-1)?.id ?? cursor;
          return page.length;
        };

        const held = new HeldWrites(dataSource);
        const first = new TypeOrmMessageStore(dataSource, held).insert(record(conversation, 'writer 1'));
        await held.ran;
        // Writer 2 (a larger id) either commits while writer 1 is pending, or waits for writer 1 to
        // commit: once it is one or the other, the reader reads.
        let secondCommitted = false;
        const second = storage.messages.insert(record(conversation, 'writer 2')).then((id) => {
          secondCommitted = true;
          return id;
        });
        await waitUntil(async () => secondCommitted || (await someoneWaitsForALock()), 10_000);
        const secondCommittedFirst = secondCommitted;
        await read();

        held.commit();
        const ids = [await first, await second];
        while ((await read()) > 0);

        // Both, each once: writer 1's message too, though the reader had read while it was pending.
        expect([...seen].sort(numeric)).toEqual([...ids].sort(numeric));
        // Writers of one conversation are serialised until commit: writer 2 had to wait for writer 1.
        expect(secondCommittedFirst).toBe(false);
        const where = 'roomId' in conversation ? 'room_id = $1' : 'dm_key = $1';
        const key = 'roomId' in conversation ? conversation.roomId : conversation.dmKey;
        const inCommitOrder = await dataSource.query<Array<{ id: number; seq: number }>>(
          `SELECT id, seq FROM rt_messages WHERE ${where} ORDER BY seq`,
          [key],
        );
        expect(seen).toEqual(inCommitOrder.slice(1).map((row) => row.id));
        expect(inCommitOrder.map((row) => row.seq)).toEqual([1, 2, 3]);
        expect(await storage.messages.count(conversation)).toBe(3);
      },
    );
  });

  describe('two sample nodes, writers on both, a reader looping on history by after_id', () => {
    let nodes: RunningSample[] = [];
    const open: TestWs[] = [];

    beforeAll(async () => {
      const start = () =>
        startSample({
          config: { databaseUrl: databaseUrl() },
          // Each writer posts far more than a person would.
          overrides: { limits: { rateLimit: { perMinute: 10_000, perHour: 100_000 } } },
        });
      // One after the other: the first runs the migrations and creates the sample's own table.
      nodes = [await start()];
      nodes.push(await start());
    }, BOOT_TIMEOUT_MS);

    afterAll(async () => {
      for (const client of open) client.close();
      await Promise.all(open.map((client) => client.closedWithin()));
      for (const node of nodes) await node.close();
    });

    interface Answer {
      type: string;
      ref?: string;
      data?: unknown;
    }

    /** A /ws/chat connection whose answers are awaited by ref (other members' copies go by). */
    async function connect(node: RunningSample, token: string) {
      const client = await TestWs.open(`ws://127.0.0.1:${node.port}/ws/chat?token=${token}`);
      open.push(client);
      const waiting = new Map<string, (frame: Answer) => void>();
      client.socket.on('message', (raw) => {
        const frame = JSON.parse((raw as Buffer).toString('utf8')) as Answer;
        if (frame.ref !== undefined) waiting.get(frame.ref)?.(frame);
      });
      let refs = 0;
      return {
        /** Sends a frame with a fresh ref; resolves with its answer, rejects on an error frame. */
        ask(type: string, data: object, timeoutMs = 20_000): Promise<Answer> {
          const ref = `r${++refs}`;
          return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no answer to ${type} ${ref}`)), timeoutMs);
            waiting.set(ref, (frame) => {
              clearTimeout(timer);
              waiting.delete(ref);
              if (frame.type === 'error') reject(new Error(`${type} refused: ${JSON.stringify(frame.data)}`));
              else resolve(frame);
            });
            client.send({ type, data, ref });
          });
        },
      };
    }

    type Connection = Awaited<ReturnType<typeof connect>>;

    /**
     * Every writer sends `each` messages at once (a connection's frames are handled in order, the
     * writers side by side on both nodes); meanwhile the reader pages by after_id = the last id it
     * got, until it has caught up after the last acknowledgement. Returns what each side saw.
     */
    async function race(
      writers: Connection[],
      send: (writer: number, n: number) => { type: string; data: object },
      reader: Connection,
      history: (afterId: number) => { type: string; data: object },
      each: number,
    ): Promise<{ acknowledged: number[]; seen: number[]; readsWhileWriting: number }> {
      let writing = true;
      const acknowledged = Promise.all(
        writers.flatMap((writer, w) =>
          Array.from({ length: each }, (_, n) => {
            const frame = send(w, n);
            return writer.ask(frame.type, frame.data).then((answer) => (answer.data as { id: number }).id);
          }),
        ),
      ).finally(() => {
        writing = false;
      });
      const seen: number[] = [];
      let cursor = 0;
      const read = async (): Promise<MessageHistoryData> => {
        const request = history(cursor);
        const page = (await reader.ask(request.type, request.data)).data as MessageHistoryData;
        for (const message of page.messages) seen.push(message.id);
        cursor = page.messages.at(-1)?.id ?? cursor;
        return page;
      };
      let readsWhileWriting = 0;
      for (; writing; readsWhileWriting++) await read();
      while ((await read()).has_more);
      return { acknowledged: await acknowledged, seen, readsWhileWriting };
    }

    /** Ids and seqs of a conversation as the database ordered them (commit order). */
    async function committed(
      where: string,
      key: string | number,
    ): Promise<Array<{ id: number; seq: number }>> {
      const dataSource = nodes[0]!.app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION));
      return dataSource.query(`SELECT id, seq FROM rt_messages WHERE ${where} ORDER BY seq`, [key]);
    }

    /** The reader read while the writers wrote, and got every acknowledged message exactly once. */
    function expectExactlyOnce(outcome: {
      acknowledged: number[];
      seen: number[];
      readsWhileWriting: number;
    }): void {
      expect(outcome.readsWhileWriting).toBeGreaterThan(0);
      expect(outcome.seen).toHaveLength(outcome.acknowledged.length);
      expect([...outcome.seen].sort(numeric)).toEqual([...outcome.acknowledged].sort(numeric));
    }

    /** In the order the database committed them: seq 1, 2, 3… with no gap. */
    function expectCommitOrder(seen: number[], order: Array<{ id: number; seq: number }>): void {
      expect(seen).toEqual(order.map((row) => row.id));
      expect(order.map((row) => row.seq)).toEqual(order.map((_, index) => index + 1));
    }

    it('room: six writers over two nodes; the reader collects every acknowledged message once, in commit order', async () => {
      const [a, b] = nodes as [RunningSample, RunningSample];
      const room = 'catch-up-race';
      const writers: Connection[] = [];
      for (let w = 0; w < 6; w++) {
        const login = await (w % 2 === 0 ? a : b).login(`writer${w}`);
        const writer = await connect(w % 2 === 0 ? a : b, login.token);
        await writer.ask('join_room', { room });
        writers.push(writer);
      }
      const reader = await connect(b, (await b.login('reader')).token);
      await reader.ask('join_room', { room });

      const EACH = 30;
      const outcome = await race(
        writers,
        (w, n) => ({ type: 'room_message', data: { room, content: `writer ${w} message ${n}` } }),
        reader,
        (afterId) => ({ type: 'room_history', data: { room, after_id: afterId, limit: 7 } }),
        EACH,
      );

      expectExactlyOnce(outcome);
      const dataSource = a.app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION));
      const [counter] = await dataSource.query<
        Array<{ id: number; last_seq: number; message_count: number }>
      >('SELECT id, last_seq, message_count FROM rt_rooms WHERE name = $1', [room]);
      expect(counter).toMatchObject({ last_seq: 6 * EACH, message_count: 6 * EACH });
      expectCommitOrder(outcome.seen, await committed('room_id = $1', counter!.id));
    }, 60_000);

    it('direct messages: two users, a tab of each on each node, writing to each other; the reader (a third tab) gets them all once, in commit order', async () => {
      const [a, b] = nodes as [RunningSample, RunningSample];
      const alice = await a.login('dm-alice');
      const bob = await b.login('dm-bob');
      const writers = [
        await connect(a, alice.token),
        await connect(b, alice.token),
        await connect(a, bob.token),
        await connect(b, bob.token),
      ];
      const reader = await connect(b, alice.token);

      const EACH = 25;
      const outcome = await race(
        writers,
        (w, n) => ({
          type: 'direct_message',
          data: { to_user_id: Number(w < 2 ? bob.user.id : alice.user.id), content: `tab ${w} message ${n}` },
        }),
        reader,
        (afterId) => ({
          type: 'dm_history',
          data: { with_user: Number(bob.user.id), after_id: afterId, limit: 6 },
        }),
        EACH,
      );

      const key = [alice.user.id, bob.user.id].sort().join('|');
      expectExactlyOnce(outcome);
      expectCommitOrder(outcome.seen, await committed('dm_key = $1', key));
    }, 60_000);
  });
});
