// Deleting a user's data end to end (`RealtimeUserData.deleteUserData`): the sample app with users
// who post in rooms, write direct messages and send log entries (persisted: the sample sets
// `stream.persist`). After the call, room history, the direct-conversation list, memberships, the
// user directory and the log backlog (in memory and in the database) hold nothing of the user, and
// the other users' data is intact. With two nodes over Redis, the other node's log backlog drops the
// user's entries too. A host's storage without the stores' `deleteUserData` is refused, naming them.
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import {
  inMemoryStorage,
  RealtimeAdapter,
  REALTIME_DATA_SOURCE,
  RealtimeModule,
  RealtimeSetupError,
  RealtimeUserData,
  ROOM_STORE,
  RoomDirectory,
  USER_DIRECTORY,
  type DmConversationListData,
  type LogEntry,
  type MessageHistoryData,
  type MessageStore,
  type RealtimeStorage,
  type RoomStore,
  type UserDirectory,
} from 'nest-realtime';
import { Clients, TestWs } from './support/clients';
import { startRedis, type RedisServer } from './support/redis-server';
import { startSample, TEST_SECRET, type RunningSample } from './support/sample-app';

const APP = 'erasure-app';
const RATE_LIMIT = { perMinute: 1000, perHour: 10_000 };

interface User {
  id: string;
  token: string;
  ws: TestWs;
}

/** A user logged in for the app, with a rooms connection. */
async function user(sample: RunningSample, clients: Clients, name: string): Promise<User> {
  const login = await sample.login(name, { appId: APP });
  const ws = await clients.ws(`ws://127.0.0.1:${sample.port}/ws/chat?token=${login.token}`);
  return { id: login.user.id, token: login.token, ws };
}

async function joinRoom(member: User, room: string): Promise<void> {
  member.ws.send({ type: 'join_room', data: { room } });
  await member.ws.next('join_room_ack');
}

async function post(member: User, room: string, content: string): Promise<void> {
  member.ws.send({ type: 'room_message', data: { room, content } });
  await member.ws.nextMatching(
    (f) => f.type === 'room_message' && (f.data as { content: string }).content === content,
  );
}

async function direct(from: User, to: User, content: string): Promise<void> {
  from.ws.send({ type: 'direct_message', data: { to_user_id: to.id, content } });
  await to.ws.nextMatching(
    (f) => f.type === 'direct_message' && (f.data as { content: string }).content === content,
  );
}

async function sendLogs(sample: RunningSample, member: User, messages: string[]): Promise<void> {
  await request(sample.url)
    .post(`/apps/${APP}/logs`)
    .set('Authorization', `Bearer ${member.token}`)
    .send(messages.map((message) => ({ level: 'info', message })))
    .expect(202);
}

/** The backlog a new log stream client of the app gets after authenticating. */
async function backlog(sample: RunningSample, clients: Clients, member: User): Promise<LogEntry[]> {
  const client = await clients.ws(`ws://127.0.0.1:${sample.port}/ws/logs?token=${member.token}`);
  await client.next('auth_success');
  return (await client.next('logs')).payload as LogEntry[];
}

async function history(member: User, data: Record<string, unknown>): Promise<MessageHistoryData> {
  member.ws.send({ type: data.with_user === undefined ? 'room_history' : 'dm_history', data });
  return (await member.ws.next('message_history')).data as MessageHistoryData;
}

describe('deleting a user’s data', () => {
  const clients = new Clients();
  afterEach(() => clients.closeAll());

  describe('on one node', () => {
    let sample: RunningSample;

    beforeAll(async () => {
      sample = await startSample({ overrides: { limits: { rateLimit: RATE_LIMIT } } });
    });
    afterAll(async () => {
      await sample?.close();
    });

    it('leaves nothing of the user in history, direct conversations, memberships, users and logs; others keep theirs', async () => {
      const erin = await user(sample, clients, 'erin');
      const kim = await user(sample, clients, 'kim');
      const lee = await user(sample, clients, 'lee');
      await joinRoom(erin, 'shared');
      await joinRoom(kim, 'shared');
      await joinRoom(erin, 'erin-corner');
      await post(erin, 'shared', 'erin 1');
      await post(kim, 'shared', 'kim 1');
      await post(erin, 'shared', 'erin 2');
      await post(kim, 'shared', 'kim 2');
      await post(erin, 'erin-corner', 'erin alone');
      await direct(erin, kim, 'erin to kim');
      await direct(kim, erin, 'kim to erin');
      await direct(kim, lee, 'kim to lee');
      await sendLogs(sample, erin, ['erin log 1', 'erin log 2']);
      await sendLogs(sample, kim, ['kim log']);
      expect((await backlog(sample, clients, kim)).map((entry) => entry.message)).toEqual([
        'erin log 1',
        'erin log 2',
        'kim log',
      ]);

      const deleted = await sample.app.get(RealtimeUserData).deleteUserData(erin.id);

      expect(deleted).toEqual({
        messages: 3 + 2,
        directConversations: 1,
        memberships: 2,
        logEntries: 2,
        userRecord: true,
      });
      // Room history: Kim's messages only, counted as such; Erin's own room is empty.
      const shared = await history(kim, { room: 'shared', limit: 50 });
      expect(shared.messages.map((m) => m.content)).toEqual(['kim 1', 'kim 2']);
      expect(shared.total).toBe(2);
      expect(await history(kim, { room: 'erin-corner', limit: 50 })).toMatchObject({
        messages: [],
        total: 0,
      });
      // Direct conversations: Kim's list names Lee only; Erin is no user any more.
      kim.ws.send({ type: 'dm_conversations', data: {} });
      const listed = (await kim.ws.next('dm_conversations')).data as DmConversationListData;
      expect(listed.conversations.map((c) => String(c.with_user))).toEqual([lee.id]);
      kim.ws.send({ type: 'dm_history', data: { with_user: erin.id } });
      expect((await kim.ws.next('error')).data).toMatchObject({ code: 'USER_NOT_FOUND' });
      expect((await history(kim, { with_user: lee.id })).messages.map((m) => m.content)).toEqual([
        'kim to lee',
      ]);
      // Memberships and the user record.
      const rooms = sample.app.get<RoomStore>(ROOM_STORE);
      const directory = sample.app.get(RoomDirectory);
      const sharedId = (await directory.require('shared')).id;
      expect(await rooms.isMember(sharedId, erin.id)).toBe(false);
      expect(await rooms.isMember((await directory.require('erin-corner')).id, erin.id)).toBe(false);
      expect(await rooms.isMember(sharedId, kim.id)).toBe(true);
      // The room Erin brought into being stays, without her id as its creator.
      expect((await directory.find('erin-corner'))?.createdBy).toBeNull();
      const users = sample.app.get<UserDirectory>(USER_DIRECTORY);
      expect(await users.findById(erin.id)).toBeNull();
      expect(await users.findById(kim.id)).not.toBeNull();
      // The log backlog, in memory and in the database.
      expect((await backlog(sample, clients, kim)).map((entry) => entry.message)).toEqual(['kim log']);
      const database = sample.app.get<DataSource>(REALTIME_DATA_SOURCE);
      // Persisted entries are written within 50 ms of their delivery, in one transaction: wait for
      // Kim's (Erin's, dropped from the queue by the deletion, would come in the same write).
      const storedUsers = async (): Promise<string[]> =>
        (
          await database.query<Array<{ user_id: string }>>(
            'SELECT user_id FROM rt_log_entries WHERE app_id = ?',
            [APP],
          )
        ).map((row) => row.user_id);
      for (const until = Date.now() + 2000; (await storedUsers()).length === 0 && Date.now() < until;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await storedUsers()).toEqual([kim.id]);
      const erinsRows = await database.query<Array<{ n: number }>>(
        'SELECT count(*) AS n FROM rt_messages WHERE sender_id = ? OR recipient_id = ?',
        [erin.id, erin.id],
      );
      expect(erinsRows[0]?.n).toBe(0);

      // Erin's open connection is left to the host (it ends the user's sessions): it still answers.
      erin.ws.send({ type: 'ping', data: {} });
      await erin.ws.next('pong');
      // A second call finds nothing more.
      expect(await sample.app.get(RealtimeUserData).deleteUserData(erin.id)).toEqual({
        messages: 0,
        directConversations: 0,
        memberships: 0,
        logEntries: 0,
        userRecord: false,
      });
    });
  });

  describe('on two nodes over Redis', () => {
    let redis: RedisServer;
    let nodeA: RunningSample;
    let nodeB: RunningSample;
    const dataDir = mkdtempSync(join(tmpdir(), 'rt-e2e-user-data-'));

    beforeAll(async () => {
      redis = await startRedis();
      const overrides = { redis: { url: redis.url, keyPrefix: 'rt-user-data' } };
      nodeA = await startSample({ config: { dataDir }, overrides });
      nodeB = await startSample({ config: { dataDir }, overrides });
    }, 60_000);
    afterAll(async () => {
      await nodeA?.close();
      await nodeB?.close();
      await redis?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('the other node’s log backlog drops the user’s entries too', async () => {
      const gus = await user(nodeA, clients, 'gus');
      const ivy = await user(nodeB, clients, 'ivy');
      // Posted on node A: node B keeps them in its backlog, relayed through Redis (asynchronously:
      // the 202 does not wait for the other nodes).
      await sendLogs(nodeA, gus, ['gus log']);
      await sendLogs(nodeA, ivy, ['ivy log']);
      let relayed: string[] = [];
      for (let attempt = 0; attempt < 50 && relayed.length < 2; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        relayed = (await backlog(nodeB, clients, ivy)).map((entry) => entry.message);
      }
      expect(relayed).toEqual(['gus log', 'ivy log']);

      expect((await nodeA.app.get(RealtimeUserData).deleteUserData(gus.id)).logEntries).toBe(1);

      let remaining: string[] = [];
      for (let attempt = 0; attempt < 50; attempt++) {
        remaining = (await backlog(nodeB, clients, ivy)).map((entry) => entry.message);
        if (!remaining.includes('gus log')) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(remaining).toEqual(['ivy log']);
      expect((await backlog(nodeA, clients, ivy)).map((entry) => entry.message)).toEqual(['ivy log']);
    }, 30_000);
  });

  it('refuses, deleting nothing, when a store of the host’s storage cannot delete a user’s data', async () => {
    const base = inMemoryStorage();
    const storage: RealtimeStorage = {
      ...base,
      // A message store written before deleteUserData existed.
      messages: Object.create(base.messages, { deleteUserData: { value: undefined } }) as MessageStore,
    };
    await base.users.register({ id: 'u1', username: 'kept' });
    @Module({ imports: [RealtimeModule.forRoot({ auth: { secret: TEST_SECRET }, storage })] })
    class HostWithOldStore {}
    const app = await NestFactory.create(HostWithOldStore, { logger: false, abortOnError: false });
    app.useWebSocketAdapter(new RealtimeAdapter(app));
    try {
      await app.init();
      const refusal = await app
        .get(RealtimeUserData)
        .deleteUserData('u1')
        .catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(RealtimeSetupError);
      expect((refusal as Error).message).toContain('storage.messages.deleteUserData');
      expect(await base.users.findById('u1')).not.toBeNull();
    } finally {
      await app.close();
    }
  });
});
