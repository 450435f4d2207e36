// The `storage` option: a host's stores replace the default TypeORM ones, and then the library opens
// no database of its own. The rooms protocol and the chat run on them unchanged.
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  inMemoryStorage,
  RealtimeAdapter,
  RealtimeModule,
  RealtimeOptionsError,
  REALTIME_DATA_SOURCE,
  resolveRealtimeOptions,
  USER_DIRECTORY,
  type RealtimeStorage,
  type UserDirectory,
} from 'nest-realtime';
import { signToken, TestWs } from './support/clients';
import { TEST_SECRET } from './support/sample-app';

describe('storage option', () => {
  let app: INestApplication;
  let storage: RealtimeStorage;
  let cwd: string;
  let workDir: string;

  beforeAll(async () => {
    // Run from an empty folder: the default SQLite file would appear in it if a database were opened.
    cwd = process.cwd();
    workDir = mkdtempSync(join(tmpdir(), 'rt-storage-option-'));
    process.chdir(workDir);
    storage = inMemoryStorage();
    @Module({ imports: [RealtimeModule.forRoot({ auth: { secret: TEST_SECRET }, storage })] })
    class InMemoryHost {}
    app = await NestFactory.create(InMemoryHost, { logger: false });
    app.useWebSocketAdapter(new RealtimeAdapter(app));
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
    process.chdir(cwd);
    rmSync(workDir, { recursive: true, force: true });
  });

  const wsUrl = () =>
    `ws://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}/ws/chat`;

  it('opens no database: no file, and the DataSource token holds null', () => {
    expect(existsSync(join(workDir, 'data'))).toBe(false);
    expect(app.get(REALTIME_DATA_SOURCE)).toBeNull();
    expect(app.get<UserDirectory>(USER_DIRECTORY)).toBe(storage.users);
  });

  it('serves rooms on the given stores: join, post, history and catch-up', async () => {
    await storage.users.register({ id: '501', username: 'memo' });
    const client = await TestWs.open(`${wsUrl()}?token=${signToken({ sub: '501', username: 'memo' })}`);
    try {
      client.send({ type: 'join_room', data: { room: 'general' } });
      await client.next('join_room_ack');
      client.send({ type: 'room_message', data: { room: 'general', content: 'kept in memory' } });
      const delivered = await client.next('room_message');
      const room = await storage.rooms.findByName('general');
      expect(room).not.toBeNull();
      expect(await storage.messages.count({ roomId: room!.id })).toBe(1);
      client.send({ type: 'room_history', data: { room: 'general', limit: 10 } });
      const history = (await client.next('message_history')).data as {
        messages: Array<{ id: number; content: string }>;
      };
      expect(history.messages.map((m) => m.content)).toEqual(['kept in memory']);
      expect(history.messages[0]?.id).toBe((delivered.data as { id: number }).id);
    } finally {
      client.close();
    }
  });

  it('refuses storage beside database, a store that misses methods, a persisted log stream without a log store, and retention without prune()', () => {
    const auth = { secret: TEST_SECRET };
    const refusal = (options: Parameters<typeof resolveRealtimeOptions>[0]) => {
      try {
        resolveRealtimeOptions(options);
      } catch (error) {
        return error as RealtimeOptionsError;
      }
      throw new Error('accepted');
    };
    expect(refusal({ auth, storage: inMemoryStorage(), database: { type: 'sqlite' } }).option).toBe(
      'storage',
    );
    const partial = { ...inMemoryStorage(), rooms: { findByName: () => Promise.resolve(null) } };
    const missing = refusal({ auth, storage: partial as unknown as RealtimeStorage });
    expect(missing.option).toBe('storage.rooms');
    expect(missing.message).toContain('create, list, addMember, removeMember, isMember');
    const { logs: _logs, ...withoutLogs } = inMemoryStorage();
    expect(refusal({ auth, storage: withoutLogs, stream: { persist: true } }).option).toBe('stream.persist');
    const store = inMemoryStorage();
    // The store's own methods, but no prune() (the in-memory store is a class: its methods are inherited).
    const messagesWithoutPrune = Object.assign(Object.create(store.messages) as typeof store.messages, {
      prune: undefined,
    });
    const noPrune = refusal({
      auth,
      storage: { ...store, messages: messagesWithoutPrune },
      rooms: { retention: { maxAgeMs: 60_000 } },
    });
    expect(noPrune.option).toBe('rooms.retention');
    expect(noPrune.message).toContain('storage.messages.prune()');
    // Without retention, a store without prune() is fine.
    expect(() =>
      resolveRealtimeOptions({ auth, storage: { ...store, messages: messagesWithoutPrune } }),
    ).not.toThrow();
  });
});
