// Database faults, on the real sample app: PostgreSQL stopped mid-traffic and started again (same
// cluster, same port), and a full SQLite file (PRAGMA max_page_count on the library's connection).
// Every write gets an answer: an acknowledgement only once stored, else INTERNAL_ERROR with
// `details.reason` storage_unavailable / storage_full; the server stays up, other connections stay
// open, the log has one line per outage (not a stack per message), service resumes by itself, and
// every acknowledged message is in history.
import { getDataSourceToken } from '@nestjs/typeorm';
import {
  REALTIME_CONNECTION,
  RealtimeErrorCode,
  STORAGE_FULL,
  STORAGE_UNAVAILABLE,
  type RealtimeErrorPayload,
} from 'nest-realtime';
import { nativeSqlite, type NativeSqlite } from 'nest-realtime/storage/typeorm/write-transaction';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { CapturingLogger } from './support/capturing-logger';
import { Clients, type TestWs, type WsFrame } from './support/clients';
import { startPostgres, type PostgresServer } from './support/postgres-server';
import { startSample, type RunningSample } from './support/sample-app';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import { postgresPoolSettings } from 'nest-realtime/storage/typeorm/postgres-timeouts';

/** The part of the `pg` driver used here (it ships no types of its own). */
interface PgResult<R> {
  rows: R[];
  rowCount: number | null;
}
interface PgSession {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<PgResult<R>>;
}
interface PgPoolClient extends PgSession {
  on(event: 'error', listener: (error: Error) => void): void;
  release(): void;
}
interface PgDriver {
  Client: new (config: { connectionString: string }) => PgSession & {
    connect(): Promise<void>;
    end(): Promise<void>;
  };
  Pool: new (config: Record<string, unknown>) => PgSession & {
    connect(): Promise<PgPoolClient>;
    end(): Promise<void>;
  };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pg = require('pg') as PgDriver;

/** One query on a connection of its own. */
async function queryOnce<R>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

// initdb + server start + migrations; the tests themselves get their own limits.
const BOOT_TIMEOUT_MS = 120_000;
/** Every request is answered within this, database up or down. */
const ANSWER_MS = 10_000;
/** Service must resume within this once PostgreSQL accepts connections again. */
const RESUME_MS = 10_000;
/** The log store retries a failed write with a backoff of at most 30 s. */
const LOG_WRITE_RETRY_MS = 35_000;
const NO_RATE_LIMIT = { perMinute: 100_000, perHour: 1_000_000 };

/** What one send got: the stored id, or the error. */
type Answer = { id: number } | { error: RealtimeErrorPayload };

interface Outcome {
  content: string;
  /** When it was sent (epoch ms). */
  sentAt: number;
  /** When its answer came. */
  answeredAt: number;
  answer: Answer;
}

function isAck(answer: Answer): answer is { id: number } {
  return 'id' in answer;
}

/** A raw ws frame answered by request id: the stored message's echo, or an `error` frame. */
async function askWs(ws: TestWs, type: string, data: Record<string, unknown>, ref: string): Promise<Answer> {
  ws.send({ type, ref, data });
  const frame: WsFrame = await ws.nextMatching(
    (f) => f.ref === ref && (f.type === type || f.type === 'error'),
    ANSWER_MS,
    `answer to ${ref}`,
  );
  if (frame.type === 'error') return { error: frame.data as RealtimeErrorPayload };
  return { id: (frame.data as { id: number }).id };
}

/** A Socket.IO chat `message`, answered by its ack: `{ id }` or `{ error }`. */
async function askIo(socket: Socket, message: string): Promise<Answer> {
  const ack = (await socket.timeout(ANSWER_MS).emitWithAck('message', { message })) as
    { id: string } | { error: RealtimeErrorPayload };
  return 'id' in ack ? { id: Number(ack.id) } : ack;
}

/** One sender sending again as soon as it has its answer, until stopped. */
class Traffic {
  readonly outcomes: Outcome[] = [];
  private running = true;
  private failure: Error | null = null;
  private readonly done: Promise<void>;

  constructor(name: string, send: (content: string, ref: string) => Promise<Answer>) {
    this.done = (async () => {
      for (let n = 0; this.running; n++) {
        const content = `${name}-${n}`;
        const sentAt = Date.now();
        const answer = await send(content, `${name}${n}`);
        this.outcomes.push({ content, sentAt, answeredAt: Date.now(), answer });
      }
    })().catch((error: unknown) => {
      // A send left without an answer: the spec fails with it at its next look or at stop().
      this.failure = error instanceof Error ? error : new Error(String(error));
    });
  }

  /** The outcomes of the messages sent at or after `time`; throws what stopped the sender, if anything did. */
  sentSince(time: number): Outcome[] {
    if (this.failure) throw this.failure;
    return this.outcomes.filter((o) => o.sentAt >= time);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    if (this.failure) throw this.failure;
  }
}

const acks = (outcomes: Outcome[]) => outcomes.filter((o) => isAck(o.answer));
const errors = (outcomes: Outcome[]) => outcomes.filter((o) => !isAck(o.answer));

/** Polls `probe` until it returns a value, failing after `limitMs`. */
async function within<T>(limitMs: number, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every message of a conversation, by `after_id` pages of the history. */
async function history(ws: TestWs, data: Record<string, unknown>, type: string): Promise<string[]> {
  const contents: string[] = [];
  let after = 0;
  for (let page = 0; ; page++) {
    const ref = `h${type}${page}`;
    ws.send({ type, ref, data: { ...data, limit: 100, offset: 0, after_id: after } });
    const frame = await ws.nextMatching((f) => f.ref === ref, ANSWER_MS, `history page ${page}`);
    const { messages, has_more } = frame.data as {
      messages: { id: number; content: string }[];
      has_more: boolean;
    };
    contents.push(...messages.map((m) => m.content));
    if (!has_more || messages.length === 0) return contents;
    after = messages[messages.length - 1]!.id;
  }
}

function expectStorageError(answer: Answer, reason: string): void {
  expect(answer).toEqual({
    error: { code: RealtimeErrorCode.INTERNAL_ERROR, message: expect.any(String), details: { reason } },
  });
}

interface PostgresFixture {
  postgres: PostgresServer;
  sample: RunningSample;
  logger: CapturingLogger;
}

/**
 * A PostgreSQL server of the describe's own and the sample app `start` opens on it (its log
 * captured), started before the describe's tests and stopped after them, `stop` first.
 */
function postgresFixture(
  start: (postgres: PostgresServer) => Promise<RunningSample>,
  stop: () => Promise<void> = () => Promise.resolve(),
): () => PostgresFixture {
  let postgres: PostgresServer | undefined;
  let sample: RunningSample | undefined;
  const logger = new CapturingLogger();
  beforeAll(async () => {
    postgres = await startPostgres({ startTimeoutMs: 60_000 });
    sample = await start(postgres);
    sample.app.useLogger(logger);
  }, BOOT_TIMEOUT_MS);
  afterAll(async () => {
    try {
      await sample?.close();
      await stop();
    } finally {
      await postgres?.stop();
    }
  });
  return () => {
    if (!postgres || !sample) throw new Error('PostgreSQL or the sample did not start');
    return { postgres, sample, logger };
  };
}

describe('database faults (e2e)', () => {
  const clients = new Clients();
  afterEach(() => clients.closeAll());

  describe('PostgreSQL stopped mid-traffic, then started again', () => {
    const fixture = postgresFixture((postgres) =>
      startSample({ config: { databaseUrl: postgres.url, rateLimit: NO_RATE_LIMIT } }),
    );

    it('answers every write with storage_unavailable while it is down, resumes by itself and loses nothing acknowledged', async () => {
      const { postgres, sample: s, logger } = fixture();
      const [alice, bob, carol, dave, producer] = await Promise.all(
        ['alice', 'bob', 'carol', 'dave', 'producer'].map((name) =>
          s.login(name, name === 'producer' ? { appId: 'pg-faults' } : {}),
        ),
      );
      if (!alice || !bob || !carol || !dave || !producer) throw new Error('login failed');
      const ws = (token: string) => clients.ws(`ws://127.0.0.1:${s.port}/ws/chat?token=${token}`);
      const roomSender = await ws(alice.token);
      const dmSender = await ws(carol.token);
      const dmRecipient = await ws(bob.token);
      const chat = await clients.io(s.url, { token: dave.token });
      // Connected, and never sending: must not be closed by the outage.
      const bystanderWs = await ws(producer.token);
      const bystanderIo = await clients.io(s.url, { token: bob.token });
      roomSender.send({ type: 'join_room', data: { room: 'general' } });
      await roomSender.next('join_room_ack');
      const bobId = Number(bob.user.id);

      const traffic = [
        new Traffic('room', (content, ref) =>
          askWs(roomSender, 'room_message', { room: 'general', content }, ref),
        ),
        new Traffic('dm', (content, ref) =>
          askWs(dmSender, 'direct_message', { to_user_id: bobId, content }, ref),
        ),
        new Traffic('chat', (content) => askIo(chat, content)),
      ];
      // Some traffic stored first, then the outage in the middle of it.
      await within(ANSWER_MS, 'traffic before the outage', async () =>
        traffic.every((t) => acks(t.sentSince(0)).length >= 3) ? true : undefined,
      );
      await postgres.halt();
      const down = Date.now();
      await within(ANSWER_MS, 'answers during the outage', async () =>
        traffic.every((t) => t.sentSince(down).length >= 3) ? true : undefined,
      );

      // Nothing sent while it is down is acknowledged; each refusal says why.
      for (const t of traffic) {
        for (const { answer } of t.sentSince(down)) expectStorageError(answer, STORAGE_UNAVAILABLE);
      }
      // Log ingestion accepts into the stream's buffer and keeps the entries for a later write.
      const ingest = await request(s.url)
        .post('/apps/pg-faults/logs')
        .set('Authorization', `Bearer ${producer.token}`)
        .send({ level: 'warn', message: 'written during the outage' })
        .expect(202);
      // The host's REST write fails as a 500, not a 201.
      await request(s.url)
        .post('/modules')
        .set('Authorization', `Bearer ${alice.token}`)
        .send({ moduleId: 'pg-faults-1', name: 'Sensor', type: 'sensor' })
        .expect(500);
      // A gateway handler's request (not a direct route) is refused the same way, by the gateway's filter.
      expectStorageError(
        await askWs(dmRecipient, 'room_history', { room: 'general', limit: 10, offset: 0 }, 'history-down'),
        STORAGE_UNAVAILABLE,
      );
      const health = await request(s.url).get('/health').expect(503);
      expect(health.body).toMatchObject({ error: { 'realtime-db': { status: 'down' } } });

      await postgres.resume();
      const up = Date.now();
      // Back by itself: every sender's messages are acknowledged again, and the log says so.
      await within(RESUME_MS, 'acknowledgements after the restart', async () =>
        traffic.every((t) => acks(t.sentSince(up)).length >= 3) ? true : undefined,
      );
      await within(RESUME_MS, 'the line saying storage works again', async () =>
        logger.matching('log', /^Storage works again/).length > 0 ? true : undefined,
      );
      await Promise.all(traffic.map((t) => t.stop()));
      await request(s.url).get('/health').expect(200);

      // Exactly the acknowledged messages are stored: none lost, none stored behind an error.
      const [room, dms] = [
        await history(roomSender, { room: 'general' }, 'room_history'),
        await history(dmSender, { with_user: bobId }, 'dm_history'),
      ];
      const acked = (t: Traffic) => acks(t.sentSince(0)).map((o) => o.content);
      const [roomTraffic, dmTraffic, chatTraffic] = traffic as [Traffic, Traffic, Traffic];
      expect(room.filter((c) => c.startsWith('room-'))).toEqual(acked(roomTraffic));
      expect(room.filter((c) => c.startsWith('chat-'))).toEqual(acked(chatTraffic));
      expect(dms).toEqual(acked(dmTraffic));
      // The recipient's connection stayed open through it and got every stored message, none other.
      const received = () =>
        dmRecipient.frames
          .filter((f) => f.type === 'direct_message')
          .map((f) => (f.data as { content: string }).content);
      await within(ANSWER_MS, 'every stored direct message at its recipient', async () =>
        received().length >= dms.length ? true : undefined,
      );
      expect(received()).toEqual(dms);
      expect(dmRecipient.socket.readyState).toBe(dmRecipient.socket.OPEN);
      expect(bystanderWs.socket.readyState).toBe(bystanderWs.socket.OPEN);
      expect(bystanderIo.connected).toBe(true);
      expect(chat.connected).toBe(true);

      // One line when the outage began, one when it ended with the count; no stack per message.
      const refused = traffic.reduce((n, t) => n + errors(t.sentSince(0)).length, 1); // 1: the history request
      expect(logger.lines.filter((l) => /Unhandled error/.test(l.message))).toEqual([]);
      expect(logger.matching('error', /^Storage unavailable \(/)).toHaveLength(1);
      expect(logger.matching('log', /^Storage works again/)).toEqual([
        expect.objectContaining({ message: expect.stringContaining(`${refused} request(s) were refused`) }),
      ]);

      // The entry accepted during the outage reaches the database once it is back.
      const [id] = (ingest.body as { ids: string[] }).ids;
      const db = s.app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION));
      await within(LOG_WRITE_RETRY_MS, 'the log entry accepted during the outage, written', async () => {
        const rows = await db.query<unknown[]>('SELECT id FROM rt_log_entries WHERE id = $1', [id]);
        return rows.length === 1 ? true : undefined;
      });
    }, 90_000);
  });

  describe('PostgreSQL that stops answering (a network partition), then answers again', () => {
    // Nothing is closed or reset: without timeouts every request would wait for as long as it lasts.
    const CONNECT_TIMEOUT_MS = 1000;
    const QUERY_TIMEOUT_MS = 1500;
    let proxy: TcpProxy | undefined;
    const fixture = postgresFixture(
      async (postgres) => {
        proxy = await startTcpProxy(Number(new URL(postgres.url).port));
        const proxied = new URL(postgres.url);
        proxied.port = String(proxy.port);
        return startSample({
          // The host's own tables (modules) stay on a direct connection; the library's go through the proxy.
          config: { databaseUrl: postgres.url, rateLimit: NO_RATE_LIMIT },
          overrides: {
            database: {
              type: 'postgres',
              url: proxied.toString(),
              connectTimeoutMs: CONNECT_TIMEOUT_MS,
              queryTimeoutMs: QUERY_TIMEOUT_MS,
            },
          },
        });
      },
      async () => {
        await proxy?.close();
      },
    );

    it('answers every write with storage_unavailable within the timeouts, resumes by itself, and loses nothing acknowledged', async () => {
      const { sample: s, logger } = fixture();
      if (!proxy) throw new Error('the proxy did not start');
      const [alice, dave] = await Promise.all(['alice', 'dave'].map((name) => s.login(name)));
      if (!alice || !dave) throw new Error('login failed');
      const roomSender = await clients.ws(`ws://127.0.0.1:${s.port}/ws/chat?token=${alice.token}`);
      const chat = await clients.io(s.url, { token: dave.token });
      roomSender.send({ type: 'join_room', data: { room: 'general' } });
      await roomSender.next('join_room_ack');
      const traffic = [
        new Traffic('room', (content, ref) =>
          askWs(roomSender, 'room_message', { room: 'general', content }, ref),
        ),
        new Traffic('chat', (content) => askIo(chat, content)),
      ];
      await within(ANSWER_MS, 'traffic before the partition', async () =>
        traffic.every((t) => acks(t.sentSince(0)).length >= 3) ? true : undefined,
      );
      proxy.freeze();
      const frozenAt = Date.now();
      await within(ANSWER_MS * 2, 'answers during the partition', async () =>
        traffic.every((t) => t.sentSince(frozenAt).length >= 3) ? true : undefined,
      );
      // Refused, each within a bound set by the timeouts (a query, or a connection then its query).
      for (const t of traffic) {
        for (const outcome of t.sentSince(frozenAt)) {
          expectStorageError(outcome.answer, STORAGE_UNAVAILABLE);
          expect(outcome.answeredAt - outcome.sentAt).toBeLessThan(
            2 * (CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS) + 1000,
          );
        }
      }
      // The server, its sockets and the log stay sane meanwhile.
      expect(chat.connected).toBe(true);
      expect(roomSender.socket.readyState).toBe(roomSender.socket.OPEN);

      proxy.heal();
      const healedAt = Date.now();
      await within(RESUME_MS, 'acknowledgements after the partition', async () =>
        traffic.every((t) => acks(t.sentSince(healedAt)).length >= 3) ? true : undefined,
      );
      await Promise.all(traffic.map((t) => t.stop()));
      expect(logger.lines.filter((l) => /Unhandled error/.test(l.message))).toEqual([]);
      expect(logger.matching('error', /^Storage unavailable \(/)).toHaveLength(1);

      // Every acknowledged message is stored. A message refused because its COMMIT went unanswered may
      // have been stored all the same (the server had it before the partition): at most the one each
      // sender had in flight when it began, never one sent during it.
      const stored = await history(roomSender, { room: 'general' }, 'room_history');
      for (const [prefix, t] of [
        ['room-', traffic[0]!],
        ['chat-', traffic[1]!],
      ] as const) {
        const all = t.sentSince(0);
        const acked = acks(all).map((o) => o.content);
        const inFlight = all.filter((o) => !isAck(o.answer) && o.sentAt < frozenAt).map((o) => o.content);
        expect(inFlight.length).toBeLessThanOrEqual(1);
        const mine = stored.filter((c) => c.startsWith(prefix));
        expect(mine.filter((c) => !acked.includes(c) && !inFlight.includes(c))).toEqual([]);
        expect(acked.filter((c) => !mine.includes(c))).toEqual([]);
      }
    }, 90_000);
  });

  describe('PostgreSQL statements that wait too long', () => {
    const QUERY_TIMEOUT_MS = 1500;
    const fixture = postgresFixture((postgres) =>
      startSample({
        config: { databaseUrl: postgres.url, rateLimit: NO_RATE_LIMIT },
        overrides: {
          database: { type: 'postgres', url: postgres.url, queryTimeoutMs: QUERY_TIMEOUT_MS },
        },
      }),
    );

    it('a room locked by another session: the send is refused within the timeout and not stored, the next ones are', async () => {
      const { postgres, sample: s, logger } = fixture();
      const alice = await s.login('alice');
      const ws = await clients.ws(`ws://127.0.0.1:${s.port}/ws/chat?token=${alice.token}`);
      ws.send({ type: 'join_room', data: { room: 'general' } });
      await ws.next('join_room_ack');
      expect(isAck(await askWs(ws, 'room_message', { room: 'general', content: 'before' }, 'r0'))).toBe(true);

      // Another session holds the room's row (its message counter) for longer than the timeout.
      const locker = new pg.Client({ connectionString: postgres.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query("SELECT 1 FROM rt_rooms WHERE name = 'general' FOR UPDATE");
        const sentAt = Date.now();
        const refused = await askWs(ws, 'room_message', { room: 'general', content: 'while locked' }, 'r1');
        // The server cancels the statement (SQLSTATE 57014) at 80 % of the timeout.
        expectStorageError(refused, STORAGE_UNAVAILABLE);
        expect(Date.now() - sentAt).toBeLessThan(QUERY_TIMEOUT_MS + 1000);
      } finally {
        await locker.query('ROLLBACK');
        await locker.end();
      }
      expect(isAck(await askWs(ws, 'room_message', { room: 'general', content: 'after' }, 'r2'))).toBe(true);
      expect(await history(ws, { room: 'general' }, 'room_history')).toEqual(['before', 'after']);
      // No session of the library was left inside a transaction.
      const stuck = await queryOnce<{ count: string }>(
        postgres.url,
        "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
      );
      expect(stuck[0]?.count).toBe('0');
      expect(logger.lines.filter((l) => /Unhandled error/.test(l.message))).toEqual([]);
    }, 60_000);

    it('a query the client stops waiting for ends its connection: the pool discards it and the server rolls its transaction back', async () => {
      const { postgres } = fixture();
      // The library's pool settings, without the server-side cancel, so that the client's own timeout
      // is what ends the wait (a server or network that does not answer at all).
      const pool = new pg.Pool({
        connectionString: postgres.url,
        max: 1,
        ...postgresPoolSettings(
          { connectTimeoutMs: 1000, queryTimeoutMs: 400 },
          pg as unknown as Parameters<typeof postgresPoolSettings>[1],
        ),
        statement_timeout: undefined,
        idle_in_transaction_session_timeout: undefined,
      });
      try {
        await pool.query('CREATE TABLE IF NOT EXISTS abandoned (x int)');
        const client = await pool.connect();
        const errors: Error[] = [];
        client.on('error', (error: Error) => errors.push(error));
        const [{ pid: first }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
          .rows as [{ pid: number }];
        await client.query('BEGIN');
        await client.query('INSERT INTO abandoned VALUES (1)');
        await expect(client.query('SELECT pg_sleep(1.5)')).rejects.toThrow('Query read timeout');
        await new Promise((resolve) => setTimeout(resolve, 50));
        client.release();
        // The connection was ended (then pg reports its end as unexpected, the query being active).
        expect(errors[0]?.message).toBe('query timed out: connection abandoned');
        // A fresh connection serves the next query, outside any transaction of the first.
        const [{ pid: next }] = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))
          .rows as [{ pid: number }];
        expect(next).not.toBe(first);
        // Once its statement ends, the abandoned session ends too, its insert rolled back.
        await within(10_000, 'the abandoned session gone', async () => {
          const left = await pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [first]);
          return left.rowCount === 0 ? true : undefined;
        });
        expect((await pool.query('SELECT count(*)::int AS n FROM abandoned')).rows).toEqual([{ n: 0 }]);
      } finally {
        await pool.end();
      }
    }, 60_000);
  });

  describe('SQLite file full', () => {
    let sample: RunningSample | undefined;
    let sqlite: NativeSqlite | undefined;
    const logger = new CapturingLogger();

    beforeAll(async () => {
      sample = await startSample({ config: { rateLimit: NO_RATE_LIMIT } });
      sample.app.useLogger(logger);
      const native = nativeSqlite(sample.app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION)));
      if (!native) throw new Error('the library does not run on SQLite');
      sqlite = native;
    });

    afterAll(async () => {
      sqlite?.pragma('max_page_count = 4294967294');
      await sample?.close();
    });

    it('answers storage_full on every transport, keeps running, and stores again once there is room', async () => {
      if (!sample || !sqlite) throw new Error('the sample did not start');
      const s = sample;
      const db = sqlite;
      const [erin, frank] = await Promise.all([s.login('erin'), s.login('frank')]);
      if (!erin || !frank) throw new Error('login failed');
      const base = `ws://127.0.0.1:${s.port}/ws/chat?token=`;
      const sender = await clients.ws(base + erin.token);
      const recipient = await clients.ws(base + frank.token);
      const chat = await clients.io(s.url, { token: frank.token });
      sender.send({ type: 'join_room', data: { room: 'general' } });
      await sender.next('join_room_ack');
      const frankId = Number(frank.user.id);

      // No page past those the file has: the first message that needs a new page fails.
      db.pragma(`max_page_count = ${String(db.pragma('page_count', { simple: true }))}`);
      const acked: string[] = [];
      let first: Answer | undefined;
      for (let n = 0; n < 200 && first === undefined; n++) {
        const content = `fill-${n}-${'x'.repeat(3000)}`;
        const answer = await askWs(sender, 'room_message', { room: 'general', content }, `f${n}`);
        if (isAck(answer)) acked.push(content);
        else first = answer;
      }
      if (first === undefined) throw new Error('the file never became full');
      if (!('error' in first) || first.error.details?.reason !== STORAGE_FULL) {
        // What the server made of it, for the failure message.
        console.log(JSON.stringify(logger.lines.filter((l) => l.level === 'error').slice(-3), null, 2));
      }
      expectStorageError(first, STORAGE_FULL);
      expectStorageError(
        await askWs(sender, 'direct_message', { to_user_id: frankId, content: 'y'.repeat(3000) }, 'dm1'),
        STORAGE_FULL,
      );
      expectStorageError(await askIo(chat, 'z'.repeat(3000)), STORAGE_FULL);
      expect(logger.matching('error', /^Storage full \(SQLITE_FULL: /)).toHaveLength(1);
      expect(logger.lines.filter((l) => /Unhandled error/.test(l.message))).toEqual([]);

      db.pragma('max_page_count = 4294967294');
      expect(isAck(await askIo(chat, 'chat after'))).toBe(true);
      // Stored again at once; the log ends the outage with the first message a second after the last refusal.
      let n = 0;
      await within(RESUME_MS, 'the line saying storage works again', async () => {
        const content = `after-${n}`;
        const answer = await askWs(sender, 'room_message', { room: 'general', content }, `a${n++}`);
        expect(isAck(answer)).toBe(true);
        acked.push(content);
        return logger.matching('log', /^Storage works again/).length > 0 ? true : undefined;
      });
      expect(
        logger.matching('log', /^Storage works again after [\d.]+ s of storage_full: 3 request\(s\)/),
      ).toHaveLength(1);
      expect(recipient.socket.readyState).toBe(recipient.socket.OPEN);
      const room = await history(sender, { room: 'general' }, 'room_history');
      expect(room.filter((c) => c.startsWith('fill-') || c.startsWith('after-'))).toEqual(acked);
    });
  });
});
