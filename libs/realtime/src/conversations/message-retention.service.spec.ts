// MessageRetention: its own interval lives from bootstrap to shutdown, only when retention is set
// (fake timers); each run asks the store once with the cutoff and the cap; with `redis` a node runs an
// interval only when it takes the lock. (A storage without prune() is refused with the options.)
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { RealtimeRedisClients, RedisConnection } from '../core/scale-out/redis-clients.provider';
import { REALTIME_REDIS } from '../core/scale-out/redis-clients.provider';
import { REALTIME_OPTIONS } from '../realtime.constants';
import { resolveRealtimeOptions, type RealtimeRetentionOptions } from '../realtime.options';
import {
  MESSAGE_STORE,
  type MessagePruneRequest,
  type MessageStore,
} from '../storage/realtime-storage.interface';
import { MessageRetention, RETENTION_BATCH_SIZE } from './message-retention.service';

const NOW = 10_000_000;

function storeWith(prune?: (request: MessagePruneRequest) => Promise<number>): MessageStore {
  const unused = (): never => {
    throw new Error('not used by retention');
  };
  return {
    insert: unused,
    exists: unused,
    count: unused,
    newest: unused,
    after: unused,
    ...(prune ? { prune } : {}),
  };
}

describe('MessageRetention', () => {
  let moduleRef: TestingModule | undefined;
  let requests: MessagePruneRequest[];
  let deleted: number;

  async function start(
    retention: RealtimeRetentionOptions,
    store: MessageStore = storeWith((request) => {
      requests.push(request);
      return Promise.resolve(deleted);
    }),
    redis: RealtimeRedisClients | null = null,
  ): Promise<MessageRetention> {
    const options = resolveRealtimeOptions({
      auth: { secret: 'unit-test-secret-of-32-characters' },
      rooms: { retention },
    });
    moduleRef = await Test.createTestingModule({
      providers: [
        MessageRetention,
        { provide: REALTIME_OPTIONS, useValue: options },
        { provide: MESSAGE_STORE, useValue: store },
        { provide: REALTIME_REDIS, useValue: redis },
      ],
    }).compile();
    await moduleRef.init();
    return moduleRef.get(MessageRetention);
  }

  beforeEach(() => {
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    requests = [];
    deleted = 0;
  });

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('runs no timer while neither a maximum age nor a count is set', async () => {
    const retention = await start({ intervalMs: 1000 });
    expect(retention.enabled).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('prunes every intervalMs with the cutoff and the cap, and clears its timer at shutdown', async () => {
    await start({ maxAgeMs: 60_000, maxMessagesPerConversation: 20, intervalMs: 1000 });
    expect(jest.getTimerCount()).toBe(1);
    expect(requests).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1000);
    expect(requests).toEqual([
      {
        olderThan: NOW + 1000 - 60_000,
        keepPerConversation: 20,
        batchSize: RETENTION_BATCH_SIZE,
        signal: expect.any(AbortSignal) as AbortSignal,
      },
    ]);
    await jest.advanceTimersByTimeAsync(2000);
    expect(requests).toHaveLength(3);
    await moduleRef?.close();
    expect(jest.getTimerCount()).toBe(0);
    expect(requests[0]?.signal?.aborted).toBe(true);
  });

  it('asks only for what is set (no age: olderThan null; no cap: keepPerConversation null)', async () => {
    await start({ maxAgeMs: 5000, intervalMs: 1000 });
    await jest.advanceTimersByTimeAsync(1000);
    expect(requests[0]).toMatchObject({ olderThan: NOW + 1000 - 5000, keepPerConversation: null });
    await moduleRef?.close();
    requests = [];
    await start({ maxMessagesPerConversation: 3, intervalMs: 1000 });
    await jest.advanceTimersByTimeAsync(1000);
    expect(requests[0]).toMatchObject({ olderThan: null, keepPerConversation: 3 });
  });

  it('logs one line per run that deleted something, and a failed run as an error', async () => {
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    let fail = false;
    await start(
      { maxAgeMs: 5000, intervalMs: 1000 },
      storeWith(() => (fail ? Promise.reject(new Error('disk full')) : Promise.resolve(deleted))),
    );
    log.mockClear();
    await jest.advanceTimersByTimeAsync(1000);
    expect(log).not.toHaveBeenCalled();
    deleted = 1234;
    await jest.advanceTimersByTimeAsync(1000);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0]?.[0]).toMatch(/^Retention deleted 1234 messages in \d+ ms$/);
    fail = true;
    await jest.advanceTimersByTimeAsync(1000);
    expect(error).toHaveBeenCalledWith('Message retention failed', expect.stringContaining('disk full'));
  });

  it('joins a run still in progress instead of starting another', async () => {
    let finish!: (count: number) => void;
    let calls = 0;
    const retention = await start(
      { maxAgeMs: 5000, intervalMs: 1000 },
      storeWith(() => {
        calls += 1;
        return new Promise<number>((resolve) => (finish = resolve));
      }),
    );
    await jest.advanceTimersByTimeAsync(3000);
    const joined = retention.run();
    expect(calls).toBe(1);
    finish(7);
    expect(await joined).toBe(7);
  });

  it('with redis, runs an interval only on the node that takes the lock', async () => {
    let holder: string | null = null;
    const evals: Array<Array<string | number>> = [];
    const pub = {
      eval: (_script: string, _keys: number, ...args: Array<string | number>) => {
        evals.push(args);
        if (holder !== null) return Promise.resolve(null);
        holder = String(args[1]);
        return Promise.resolve('OK');
      },
    } as unknown as RedisConnection;
    const redis: RealtimeRedisClients = { pub, sub: pub, keyPrefix: 'rt' };
    await start({ maxAgeMs: 5000, intervalMs: 1000 }, undefined, redis);
    await jest.advanceTimersByTimeAsync(1000);
    expect(requests).toHaveLength(1);
    expect(evals[0]).toEqual(['rt:retention-lock', holder, 900]);
    // Another node holds it now: this one skips the interval.
    holder = 'another node';
    await jest.advanceTimersByTimeAsync(1000);
    expect(requests).toHaveLength(1);
  });
});
