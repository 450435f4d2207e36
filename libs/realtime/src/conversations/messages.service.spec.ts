// MessagesService on its embedded SQLite: messages posted at the same time (concurrent Socket.IO
// handlers, several publishers) are all stored, each once, in one room's count.
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { RealtimeModule } from '../realtime.module';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { MessagesService } from './messages.service';

const sender = (userId: string): RealtimeIdentity => ({
  userId,
  username: `user${userId}`,
  roles: [],
  isAdmin: false,
  appId: null,
  page: null,
  expiresAt: null,
});

describe('MessagesService (SQLite)', () => {
  let dir: string;
  let app: INestApplicationContext;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rt-messages-'));
    @Module({
      imports: [
        RealtimeModule.forRoot({
          auth: { secret: 'messages-spec-secret-0123456789abcdef' },
          database: { type: 'sqlite', path: join(dir, 'realtime.sqlite') },
          rooms: { initial: [{ name: 'busy' }] },
          limits: { rateLimit: { perMinute: 1000, perHour: 1000 } },
        }),
      ],
    })
    class SpecModule {}
    app = await NestFactory.createApplicationContext(SpecModule, { logger: false });
    await app.init();
  });

  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every one of many messages posted at once, in order, with distinct ids', async () => {
    const messages = app.get(MessagesService);
    const posted = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        messages.postToRoom(sender(String(i % 3)), 'busy', { content: `m${i}` }),
      ),
    );
    const ids = posted.map((message) => message.id);
    expect(new Set(ids).size).toBe(20);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const page = await messages.roomHistory(sender('9'), 'busy', { limit: 50, offset: 0 });
    expect(page.total).toBe(20);
    expect(page.messages.map((message) => message.content)).toEqual(posted.map((message) => message.content));
  });
});
