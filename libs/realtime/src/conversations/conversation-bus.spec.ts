// The bus relays what other nodes need and nothing of this node's connections: an event's origin
// (the posting connection and its request id) is delivered locally and left out of the relay.
import type { RealtimeRedisClients, RedisConnection } from '../core/scale-out/redis-clients.provider';
import { ConversationBus } from './conversation-bus';
import type { ConversationEvent } from './conversation.types';
import { storedMessage } from './stored-message.helper-spec';

function fakeRedis(): { clients: RealtimeRedisClients; published: string[] } {
  const published: string[] = [];
  const connection: RedisConnection = {
    publish: (_channel, message) => {
      published.push(message);
      return Promise.resolve(1);
    },
    subscribe: () => Promise.resolve(1),
    on: () => connection,
    off: () => connection,
    quit: () => Promise.resolve('OK'),
    eval: () => Promise.reject(new Error('not used by the bus')),
    hgetall: () => Promise.resolve({}),
    hmget: (_key, ...fields) => Promise.resolve(fields.map(() => null)),
    hset: () => Promise.resolve(1),
  };
  return { clients: { pub: connection, sub: connection, keyPrefix: 'rt' }, published };
}

describe('ConversationBus', () => {
  it('delivers the origin on this node and relays the event without it', async () => {
    const { clients, published } = fakeRedis();
    const bus = new ConversationBus(clients);
    await bus.onApplicationBootstrap();
    const local: ConversationEvent[] = [];
    bus.events$.subscribe((event) => local.push(event));
    // A connection-like object that would not even serialise.
    const connection: { self?: unknown } = {};
    connection.self = connection;
    const message = storedMessage({ id: 5 });
    bus.publish({ kind: 'room', room: 'general', message, origin: { connection, ref: 'r1' } });
    bus.publish({ kind: 'direct', message, origin: { connection, ref: 'r2' } });
    bus.publish({ kind: 'room', room: 'general', message });

    expect(local.map((event) => event.origin?.ref)).toEqual(['r1', 'r2', undefined]);
    const relayed = published.map((text) => (JSON.parse(text) as { body: ConversationEvent }).body);
    expect(relayed).toEqual([
      { kind: 'room', room: 'general', message },
      { kind: 'direct', message },
      { kind: 'room', room: 'general', message },
    ]);
    // Without an origin, the relayed event is the event as published (unchanged by request ids).
    expect(published[2]).toContain(JSON.stringify({ kind: 'room', room: 'general', message }));
    void bus.onModuleDestroy();
  });
});
