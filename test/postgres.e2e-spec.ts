// The sample app on a real PostgreSQL server (started by the spec): logins, modules, health, and
// the library's migrations applied to its own 'realtime' connection.
import type { INestApplication } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import {
  PersistentLogStore,
  REALTIME_CONNECTION,
  resolveRealtimeOptions,
  type LogEntry,
} from 'nest-realtime';
import { REALTIME_MIGRATIONS } from 'nest-realtime/storage/typeorm/migrations';
import { realtimeDataSourceOptions } from 'nest-realtime/storage/typeorm/realtime-typeorm.options';
import { WriteQueue } from 'nest-realtime/storage/typeorm/write-transaction';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { startPostgres, type PostgresServer } from './support/postgres-server';
import { TestWs } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

// initdb + server start + migrations; the tests themselves keep jest's 30 s.
const BOOT_TIMEOUT_MS = 120_000;

interface LoginBody {
  token: string;
  user: { id: string; username: string };
}

describe('sample app on PostgreSQL (e2e)', () => {
  let postgres: PostgresServer | undefined;
  let sample: RunningSample | undefined;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    postgres = await startPostgres({ startTimeoutMs: 60_000 });
    sample = await startSample({ config: { databaseUrl: postgres.url } });
    app = sample.app;
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    try {
      await sample?.close();
    } finally {
      await postgres?.stop();
    }
  });

  function http() {
    if (!app) throw new Error('app did not start');
    return request(app.getHttpServer());
  }

  function dataSource(name?: string): DataSource {
    if (!app) throw new Error('app did not start');
    return app.get<DataSource>(getDataSourceToken(name));
  }

  async function login(username: string): Promise<LoginBody> {
    const res = await http().post('/auth/login').send({ username }).expect(200);
    return res.body as LoginBody;
  }

  it('runs both connections on PostgreSQL, not SQLite', () => {
    expect(dataSource(REALTIME_CONNECTION).options.type).toBe('postgres');
    expect(dataSource().options.type).toBe('postgres');
  });

  it('applies the library migrations: rt_migrations and rt_users exist', async () => {
    const db = dataSource(REALTIME_CONNECTION);
    const tables: { table_name: string }[] = await db.query(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_name IN ('rt_migrations', 'rt_users')
        ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(['rt_migrations', 'rt_users']);
    const applied: { name: string }[] = await db.query('SELECT name FROM rt_migrations');
    expect(applied.map((m) => m.name)).toEqual(
      expect.arrayContaining(['CreateUsers1732300000000', 'CreateConversations1732300000001']),
    );
  });

  it('numbers users from the row id and keeps the id on a second login', async () => {
    const alice = await login('alice');
    expect(alice.token).toEqual(expect.any(String));
    expect(alice.user).toMatchObject({ id: '1', username: 'alice' });

    const bob = await login('bob');
    expect(bob.user).toMatchObject({ id: '2', username: 'bob' });

    const aliceAgain = await login('alice');
    expect(aliceAgain.user.id).toBe('1');
  });

  it('creates a module with a bearer token and lists it', async () => {
    const { token } = await login('alice');
    const created = await http()
      .post('/modules')
      .set('Authorization', `Bearer ${token}`)
      .send({ moduleId: 'pg-sensor-1', name: 'Boiler sensor', type: 'sensor' })
      .expect(201);
    expect(created.body).toMatchObject({ moduleId: 'pg-sensor-1', userId: '1', status: 'offline' });

    const listed = await http().get('/modules').set('Authorization', `Bearer ${token}`).expect(200);
    expect(listed.body).toEqual([
      expect.objectContaining({ moduleId: 'pg-sensor-1', name: 'Boiler sensor' }),
    ]);
  });

  it('reports both databases up on /health', async () => {
    const res = await http().get('/health').expect(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      info: { 'realtime-db': { status: 'up' }, 'sample-db': { status: 'up' } },
    });
  });

  it('stores room messages and direct messages on PostgreSQL and pages their history', async () => {
    const carol = await login('carol');
    const dave = await login('dave');
    const base = `ws://127.0.0.1:${sample?.port ?? 0}/ws/chat?token=`;
    const c = await TestWs.open(base + carol.token);
    const d = await TestWs.open(base + dave.token);
    try {
      c.send({ type: 'join_room', data: { room: 'general' } });
      await c.next('join_room_ack');
      for (const content of ['one', 'two', 'three']) {
        c.send({ type: 'room_message', data: { room: 'general', content, message_type: 'text' } });
        await c.next('room_message');
      }
      c.send({ type: 'room_history', data: { room: 'general', limit: 2, offset: 0 } });
      const page = (await c.next('message_history')).data as {
        messages: { content: string }[];
        total: number;
        has_more: boolean;
      };
      expect(page.messages.map((m) => m.content)).toEqual(['two', 'three']);
      expect(page).toMatchObject({ total: 3, has_more: true });

      for (const content of ['hi dave', 'again']) {
        c.send({
          type: 'direct_message',
          data: { to_user_id: Number(dave.user.id), content, message_type: 'text' },
        });
        await d.next('direct_message');
      }
      d.send({ type: 'dm_history', data: { with_user: Number(carol.user.id), limit: 1, offset: 0 } });
      const dms = (await d.next('message_history')).data as {
        messages: { content: string }[];
        total: number;
        has_more: boolean;
      };
      expect(dms).toMatchObject({ total: 2, has_more: true });
      expect(dms.messages.map((m) => m.content)).toEqual(['again']);
    } finally {
      c.close();
      d.close();
    }
  });

  it('lists direct conversations (dm_conversations) on PostgreSQL, served by partial indexes', async () => {
    const erin = await login('erin');
    const frank = await login('frank');
    const gina = await login('gina');
    const base = `ws://127.0.0.1:${sample?.port ?? 0}/ws/chat?token=`;
    const e = await TestWs.open(base + erin.token);
    const f = await TestWs.open(base + frank.token);
    const g = await TestWs.open(base + gina.token);
    try {
      const direct = async (from: TestWs, to: TestWs, toId: string, content: string) => {
        from.send({ type: 'direct_message', data: { to_user_id: Number(toId), content } });
        await to.next('direct_message');
        return ((await from.next('direct_message')).data as { id: number }).id;
      };
      const first = await direct(e, f, frank.user.id, 'to frank');
      const second = await direct(g, e, erin.user.id, 'to erin');
      const conversations = async (client: TestWs, data: Record<string, unknown>) => {
        client.send({ type: 'dm_conversations', data });
        return (await client.next('dm_conversations')).data;
      };
      expect(await conversations(e, {})).toEqual({
        conversations: [
          { with_user: Number(gina.user.id), last_id: second },
          { with_user: Number(frank.user.id), last_id: first },
        ],
        has_more: false,
      });
      expect(await conversations(f, { after_id: first - 1 })).toEqual({
        conversations: [{ with_user: Number(erin.user.id), last_id: first }],
        has_more: false,
      });
      expect(await conversations(e, { after_id: first })).toEqual({
        conversations: [{ with_user: Number(gina.user.id), last_id: second }],
        has_more: false,
      });
      expect(await conversations(e, { before_id: second })).toEqual({
        conversations: [{ with_user: Number(frank.user.id), last_id: first }],
        has_more: false,
      });
      expect(await conversations(f, { after_id: second })).toEqual({ conversations: [], has_more: false });

      // Each index holds only the messages it serves; history's are in commit order, one message per place.
      const indexes: { indexname: string; indexdef: string }[] = await dataSource(REALTIME_CONNECTION).query(
        `SELECT indexname, indexdef FROM pg_indexes
          WHERE tablename = 'rt_messages' AND indexname LIKE 'rt_messages_%' ORDER BY indexname`,
      );
      expect(
        indexes.map((i) => [
          i.indexname,
          i.indexdef.startsWith('CREATE UNIQUE INDEX'),
          /\((\w+), (\w+)\)/.exec(i.indexdef)?.slice(1).join(', '),
          /WHERE \((\w+) IS NOT NULL\)$/.exec(i.indexdef)?.[1],
        ]),
      ).toEqual([
        ['rt_messages_dm_history', true, 'dm_key, seq', 'dm_key'],
        ['rt_messages_dm_recipient', false, 'recipient_id, id', 'dm_key'],
        ['rt_messages_dm_sender', false, 'sender_id, id', 'dm_key'],
        ['rt_messages_room_history', true, 'room_id, seq', 'room_id'],
      ]);
    } finally {
      e.close();
      f.close();
      g.close();
    }
  });

  it('numbers the messages a database held before ConversationSequence, per conversation in id order (schema of its own)', async () => {
    if (!postgres) throw new Error('PostgreSQL did not start');
    const schema = 'before_seq';
    await dataSource(REALTIME_CONNECTION).query(`CREATE SCHEMA "${schema}"`);
    const options = resolveRealtimeOptions({
      auth: { secret: 'upgrade-secret-0123456789' },
      database: { type: 'postgres', url: postgres.url, schema, poolSize: 1 },
    });
    // The options that run the migrations (the library opens its request connection after them).
    const base = realtimeDataSourceOptions(options).migrations!;
    const upgraded = REALTIME_MIGRATIONS.findIndex((m) => m.name.startsWith('ConversationSequence'));
    const before = await new DataSource({
      ...base,
      migrations: REALTIME_MIGRATIONS.slice(0, upgraded),
    }).initialize();
    try {
      await before.query(
        `INSERT INTO "${schema}".rt_rooms (name, message_count) VALUES ('one', 2), ('two', 1), ('empty', 0)`,
      );
      await before.query(`INSERT INTO "${schema}".rt_dm_threads (dm_key, message_count) VALUES ('1|2', 2)`);
      for (const [room, key, content] of [
        ['one', null, 'one-1'],
        [null, '1|2', 'dm-1'],
        ['two', null, 'two-1'],
        ['one', null, 'one-2'],
        [null, '1|2', 'dm-2'],
      ] as const) {
        await before.query(
          `INSERT INTO "${schema}".rt_messages (room_id, dm_key, sender_id, sender_username, content, message_type, created_at)
           VALUES ((SELECT id FROM "${schema}".rt_rooms WHERE name = $1), $2, '1', 'one', $3, 'text', 1)`,
          [room, key, content],
        );
      }
    } finally {
      await before.destroy();
    }

    const after = await new DataSource(base).initialize();
    try {
      expect(await after.query(`SELECT content, seq FROM "${schema}".rt_messages ORDER BY id`)).toEqual([
        { content: 'one-1', seq: 1 },
        { content: 'dm-1', seq: 1 },
        { content: 'two-1', seq: 1 },
        { content: 'one-2', seq: 2 },
        { content: 'dm-2', seq: 2 },
      ]);
      expect(await after.query(`SELECT name, last_seq FROM "${schema}".rt_rooms ORDER BY id`)).toEqual([
        { name: 'one', last_seq: 2 },
        { name: 'two', last_seq: 1 },
        { name: 'empty', last_seq: 0 },
      ]);
      expect(await after.query(`SELECT dm_key, last_seq FROM "${schema}".rt_dm_threads`)).toEqual([
        { dm_key: '1|2', last_seq: 2 },
      ]);
      expect(
        await after.query(
          `SELECT is_nullable FROM information_schema.columns
            WHERE table_schema = $1 AND table_name = 'rt_messages' AND column_name = 'seq'`,
          [schema],
        ),
      ).toEqual([{ is_nullable: 'NO' }]);
      const history: { indexdef: string }[] = await after.query(
        `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'rt_messages_%_history' ORDER BY indexname`,
        [schema],
      );
      expect(
        history.map((index) => /^CREATE UNIQUE INDEX .*\((\w+), seq\)/.exec(index.indexdef)?.[1]),
      ).toEqual(['dm_key', 'room_id']);
    } finally {
      await after.query(`DROP SCHEMA "${schema}" CASCADE`);
      await after.destroy();
    }
  });

  it('keeps the newest log entries of each app and loads them back (stream.persist)', async () => {
    const entry = (n: number, appId: string): LogEntry => ({
      id: `${1_700_000_000_000 + n}-${String(n).padStart(10, '0')}-0a0b0c`,
      timestamp: 1_700_000_000_000 + n,
      level: 'info',
      message: `pg entry ${n}`,
      ...(n % 2 === 0 ? { metadata: { n, tags: ['pg'] } } : {}),
      appId,
      userId: 'writer',
    });
    const db = dataSource(REALTIME_CONNECTION);
    const writer = new PersistentLogStore(db, 3, new WriteQueue(db));
    writer.append(
      'pg-app',
      [1, 2, 3, 4, 5].map((n) => entry(n, 'pg-app')),
    );
    writer.append('pg-other', [entry(9, 'pg-other')]);
    await writer.flush();
    expect(writer.unwritten).toBe(0);

    const reader = new PersistentLogStore(db, 3, new WriteQueue(db));
    await reader.load();
    expect(reader.recent('pg-app', 10)).toEqual([3, 4, 5].map((n) => entry(n, 'pg-app')));
    expect(reader.recent('pg-other', 10)).toEqual([entry(9, 'pg-other')]);
    const rows = await db.query<{ n: string }[]>(
      `SELECT count(*) AS n FROM rt_log_entries WHERE app_id = 'pg-app'`,
    );
    expect(Number(rows[0]?.n)).toBe(3);
  });
});
