// Caps on nesting depth and keys per object, before any validation, on every transport of the real
// sample app: a Socket.IO `message` whose `context` nests 3,000 levels, a rooms `room_message` whose
// `content` does, a log stream frame on both ports and a POST /apps/:appId/logs body are answered
// INVALID_FORMAT with the limit in the message, log no error, and leave the connection usable. Then
// the per-connection budget of error lines: a client whose every request fails cannot flood the log.
import { Module, UseFilters, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessageBody, SubscribeMessage } from '@nestjs/websockets';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import {
  RealtimeAdapter,
  RealtimeGateway,
  RealtimeIoExceptionFilter,
  RealtimeModule,
  RealtimeWsExceptionFilter,
  StreamPortListener,
  dataEnvelopeCodec,
  type RealtimeErrorPayload,
} from 'nest-realtime';
import { INPUT_LIMITS } from 'nest-realtime/core/input-limits';
import { CLIENT_ERROR_LOG_LIMIT } from 'nest-realtime/core/filters/client-error-log';
import { CapturingLogger } from './support/capturing-logger';
import { Clients, nextEvent, signToken, TestWs } from './support/clients';
import { startSample, TEST_SECRET, type RunningSample } from './support/sample-app';

const TOO_DEEP = `Payload nested deeper than ${INPUT_LIMITS.maxDepth} levels`;
const TOO_WIDE = `Payload has more than ${INPUT_LIMITS.maxKeys} keys in one object`;
const DEEP = 3000;

/** JSON text of `{"a":{"a":…1}}` with `depth` objects (built as text: no recursion anywhere). */
function deepJson(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** The same value, parsed (JSON.parse does not recurse). */
function deepValue(depth: number): Record<string, unknown> {
  return JSON.parse(deepJson(depth)) as Record<string, unknown>;
}

function wideValue(keys: number): Record<string, number> {
  const value: Record<string, number> = {};
  for (let index = 0; index < keys; index += 1) value[`k${index}`] = index;
  return value;
}

type Ack = { id: string } | { error: RealtimeErrorPayload } | Record<string, unknown>;

describe('Input limits: depth and keys per object on every transport', () => {
  let sample: RunningSample;
  let logger: CapturingLogger;
  let streamPort: number;
  const clients = new Clients();
  let userSeq = 0;

  async function chatSocket(): Promise<Socket> {
    userSeq += 1;
    const { token } = await sample.login(`limits-${userSeq}`);
    return clients.io(sample.url, { token });
  }

  async function roomsClient(): Promise<TestWs> {
    userSeq += 1;
    const { token } = await sample.login(`limits-${userSeq}`);
    return clients.ws(`ws://127.0.0.1:${sample.port}/ws/chat?token=${token}`);
  }

  function ack(socket: Socket, event: string, body: unknown): Promise<Ack> {
    return socket.timeout(5000).emitWithAck(event, body) as Promise<Ack>;
  }

  beforeAll(async () => {
    sample = await startSample({ overrides: { stream: { port: 0, host: '127.0.0.1' } } });
    streamPort = sample.app.get(StreamPortListener).port ?? 0;
    logger = new CapturingLogger();
    sample.app.useLogger(logger);
  });
  afterEach(() => {
    clients.closeAll();
    // No error line at all, and no stack of class-transformer's recursion, whatever a test sent.
    expect(logger.errors()).toEqual([]);
    expect(JSON.stringify(logger.lines)).not.toContain('Maximum call stack size exceeded');
    logger.clear();
  });
  afterAll(async () => {
    sample.app.useLogger(false);
    await sample.close();
  });

  describe('Socket.IO (chat and events API)', () => {
    it(`answers a message whose context nests ${DEEP} levels INVALID_FORMAT, then takes a valid one`, async () => {
      const socket = await chatSocket();
      const error = nextEvent<RealtimeErrorPayload>(socket, 'error');
      const answer = await ack(socket, 'message', { message: 'deep', context: deepValue(DEEP) });
      const expected = { code: 'INVALID_FORMAT', message: TOO_DEEP, details: { max_depth: 32 } };
      expect(answer).toEqual({ error: expected });
      expect(await error).toEqual(expected);

      expect(await ack(socket, 'message', { message: 'after the deep one' })).toEqual({
        id: expect.any(String) as unknown,
      });
      expect(socket.connected).toBe(true);
    });

    it(`passes a payload of exactly ${INPUT_LIMITS.maxDepth} levels to validation, refuses ${INPUT_LIMITS.maxDepth + 1}`, async () => {
      const socket = await chatSocket();
      // The body is level 1, its context level 2.
      const atLimit = { message: 'at the limit', context: deepValue(INPUT_LIMITS.maxDepth - 1) };
      expect(await ack(socket, 'message', atLimit)).toEqual({ id: expect.any(String) as unknown });
      const overLimit = { message: 'over the limit', context: deepValue(INPUT_LIMITS.maxDepth) };
      expect(await ack(socket, 'message', overLimit)).toMatchObject({ error: { message: TOO_DEEP } });
    });

    it(`answers an object of ${INPUT_LIMITS.maxKeys + 1} keys INVALID_FORMAT`, async () => {
      const socket = await chatSocket();
      const answer = await ack(socket, 'message', {
        message: 'wide',
        context: wideValue(INPUT_LIMITS.maxKeys + 1),
      });
      expect(answer).toEqual({
        error: { code: 'INVALID_FORMAT', message: TOO_WIDE, details: { max_keys: INPUT_LIMITS.maxKeys } },
      });
    });

    it('answers a context holding a "constructor" or "__proto__" key INVALID_FORMAT (class-transformer throws on it)', async () => {
      const socket = await chatSocket();
      for (const key of ['constructor', '__proto__']) {
        const context = JSON.parse(`{"thread":{"${key}":"x"}}`) as Record<string, unknown>;
        expect(await ack(socket, 'message', { message: 'proto', context })).toEqual({
          error: {
            code: 'INVALID_FORMAT',
            message: `Payload has a "${key}" key, which is not allowed`,
            details: { key },
          },
        });
      }
    });

    it('checks the events API’s rt_sync too, and still answers a plain one', async () => {
      const socket = await chatSocket();
      expect(await ack(socket, 'rt_sync', deepValue(DEEP))).toMatchObject({
        error: { code: 'INVALID_FORMAT', message: TOO_DEEP },
      });
      expect(await ack(socket, 'rt_sync', {})).toMatchObject({ serverTime: expect.any(String) as unknown });
    });
  });

  describe('raw ws rooms (/ws/chat)', () => {
    it(`answers a room_message whose content nests ${DEEP} levels INVALID_FORMAT with its ref, then takes a valid one`, async () => {
      const client = await roomsClient();
      client.send(
        `{"type":"room_message","ref":"deep-1","data":{"room":"general","content":${deepJson(DEEP)}}}`,
      );
      const error = await client.next('error');
      expect(error.ref).toBe('deep-1');
      expect(error.data).toEqual({ code: 'INVALID_FORMAT', message: TOO_DEEP, details: { max_depth: 32 } });

      client.send({ type: 'join_room', data: { room: 'limits' } });
      await client.next('join_room_ack');
      client.send({ type: 'room_message', ref: 'ok-1', data: { room: 'limits', content: 'fine' } });
      expect(await client.next('room_message')).toMatchObject({ ref: 'ok-1', data: { content: 'fine' } });
    });

    it('answers a history offset past 2^53 (found by fuzzing: SQLite refused it) INVALID_FORMAT', async () => {
      const client = await roomsClient();
      client.send(
        '{"type":"room_history","ref":"h-1","data":{"room":"general","offset":123456789012345678901234567890}}',
      );
      expect(await client.next('error')).toMatchObject({
        ref: 'h-1',
        data: { code: 'INVALID_FORMAT', details: { field: 'offset' } },
      });
    });

    it('checks every message of an inbound batch, and the frame’s keys', async () => {
      const client = await roomsClient();
      client.send(
        `{"type":"message_batch","ref":"b-1","data":{"messages":[{"type":"ping"},{"type":"ping","data":${deepJson(DEEP)}}]}}`,
      );
      expect(await client.next('error')).toMatchObject({ ref: 'b-1', data: { message: TOO_DEEP } });
      client.send({ type: 'ping', ref: 'w-1', data: wideValue(INPUT_LIMITS.maxKeys + 1) });
      expect(await client.next('error')).toMatchObject({ ref: 'w-1', data: { message: TOO_WIDE } });
      client.send({ type: 'ping', ref: 'p-1' });
      expect(await client.next('pong')).toMatchObject({ ref: 'p-1' });
    });
  });

  describe('raw ws log stream, on /ws/logs and on stream.port', () => {
    it.each([
      ['/ws/logs', () => sample.port],
      ['stream.port /', () => streamPort],
    ])('%s: answers a deep frame INVALID_FORMAT and keeps the connection', async (path, port) => {
      const token = signToken({ sub: 'limits-logs', username: 'limits-logs', appId: 'limits-app' });
      const url = path === '/ws/logs' ? `/ws/logs?token=${token}` : `/?token=${token}`;
      const client = await clients.ws(`ws://127.0.0.1:${port()}${url}`);
      await client.next('auth_success');
      client.send(`{"type":"subscribe","payload":{"levels":["info"],"extra":${deepJson(DEEP)}}}`);
      expect((await client.next('error')).payload).toEqual({
        code: 'INVALID_FORMAT',
        message: TOO_DEEP,
        details: { max_depth: 32 },
      });
      client.send({ type: 'ping' });
      await client.next('pong');
    });
  });

  describe("the host's own HTTP endpoints behind InputLimitsPipe (the sample's)", () => {
    it(`answers a POST /auth/login body nested ${DEEP} levels 400 INVALID_FORMAT, not 500`, async () => {
      const response = await request(sample.url)
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send(`{"username":"deep-login","extra":${deepJson(DEEP)}}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 'INVALID_FORMAT', message: TOO_DEEP });
    });

    it('answers a POST /modules body holding a nested "constructor" key 400 INVALID_FORMAT, and still takes a valid one', async () => {
      const { token } = await sample.login('limits-modules');
      const post = (body: string) =>
        request(sample.url)
          .post('/modules')
          .set('Authorization', `Bearer ${token}`)
          .set('Content-Type', 'application/json')
          .send(body);
      const refused = await post('{"moduleId":"LIM-1","name":"n","type":"t","meta":{"constructor":1}}');
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'INVALID_FORMAT', details: { key: 'constructor' } });
      expect((await post('{"moduleId":"LIM-1","name":"n","type":"t"}')).status).toBe(201);
    });
  });

  describe('HTTP POST /apps/:appId/logs', () => {
    const token = signToken({ sub: 'limits-http', username: 'limits-http', appId: 'limits-http' });
    const post = (body: string) =>
      request(sample.url)
        .post('/apps/limits-http/logs')
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'application/json')
        .send(body);

    it(`answers a body whose metadata nests ${DEEP} levels 400 INVALID_FORMAT`, async () => {
      const response = await post(`{"level":"info","message":"deep","metadata":${deepJson(DEEP)}}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 'INVALID_FORMAT', message: TOO_DEEP });
    });

    it('answers a null timestamp (which the DTO lets through to the service) 400 INVALID_FORMAT, not 500', async () => {
      const response = await post('{"level":"info","message":"null time","timestamp":null}');
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        code: 'INVALID_FORMAT',
        message: 'entries[0].timestamp must be epoch milliseconds',
      });
    });

    it('answers metadata holding a "constructor" key 400 INVALID_FORMAT', async () => {
      const response = await post('{"level":"info","message":"proto","metadata":{"constructor":"x"}}');
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 'INVALID_FORMAT', details: { key: 'constructor' } });
    });

    it(`answers ${INPUT_LIMITS.maxKeys + 1} keys 400 INVALID_FORMAT, and still takes a valid body`, async () => {
      const wide = JSON.stringify({
        level: 'info',
        message: 'wide',
        metadata: wideValue(INPUT_LIMITS.maxKeys + 1),
      });
      const response = await post(wide);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 'INVALID_FORMAT', message: TOO_WIDE });
      const valid = await post(JSON.stringify({ level: 'info', message: 'fine', metadata: { a: [1] } }));
      expect(valid.status).toBe(202);
    });
  });
});

const CRASH_PATH = '/ws/limits-crash';

/** A host handler that fails on every call, as a bug a client can trigger at will would. */
abstract class CrashingHandlers {
  @SubscribeMessage('crash')
  crash(@MessageBody() body: { n?: number }): never {
    throw new Error(`boom ${String(body.n)}`);
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() body: { n: number }) {
    return { event: 'echo', data: { n: body.n } };
  }
}

@RealtimeGateway({ transport: 'socket.io' })
@UseFilters(RealtimeIoExceptionFilter)
class CrashingIoGateway extends CrashingHandlers {}

@RealtimeGateway({ transport: 'ws', path: CRASH_PATH, codec: dataEnvelopeCodec })
@UseFilters(RealtimeWsExceptionFilter)
class CrashingWsGateway extends CrashingHandlers {}

@Module({
  imports: [
    RealtimeModule.forRoot({ auth: { secret: TEST_SECRET }, database: { type: 'sqlite', path: ':memory:' } }),
  ],
  providers: [CrashingIoGateway, CrashingWsGateway],
})
class CrashingHostModule {}

describe('Error lines about client input: a budget per connection', () => {
  const { lines: BUDGET } = CLIENT_ERROR_LOG_LIMIT;
  const SENT = BUDGET * 5;
  let app: INestApplication;
  let port: number;
  let logger: CapturingLogger;
  const clients = new Clients();
  let sequence = 0;
  const token = () => {
    sequence += 1;
    return signToken({ sub: `crash-${sequence}`, username: `crash-${sequence}` });
  };

  beforeAll(async () => {
    app = await NestFactory.create(CrashingHostModule, { logger: false });
    app.useWebSocketAdapter(new RealtimeAdapter(app));
    await app.listen(0, '127.0.0.1');
    port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
    logger = new CapturingLogger();
    app.useLogger(logger);
  });
  afterEach(() => {
    clients.closeAll();
    logger.clear();
  });
  afterAll(async () => {
    app.useLogger(false);
    await app.close();
  });

  const unhandled = () => logger.matching('error', /^Unhandled error/);
  const suppressed = () => logger.matching('warn', /further errors of this connection suppressed/);

  it(`Socket.IO: ${SENT} failing events answer ${SENT} INTERNAL_ERRORs but log ${BUDGET} errors and one suppression line`, async () => {
    const socket = await clients.io(`http://127.0.0.1:${port}`, { token: token() });
    const answers: RealtimeErrorPayload[] = [];
    for (let n = 0; n < SENT; n += 1) {
      const answer = (await socket.timeout(5000).emitWithAck('crash', { n })) as {
        error: RealtimeErrorPayload;
      };
      answers.push(answer.error);
    }
    expect(answers.every((error) => error.code === 'INTERNAL_ERROR')).toBe(true);
    expect(unhandled()).toHaveLength(BUDGET);
    expect(unhandled()[0]?.trace).toContain('boom 0');
    expect(suppressed()).toHaveLength(1);

    // Another connection has a budget of its own.
    const other = await clients.io(`http://127.0.0.1:${port}`, { token: token() });
    await other.timeout(5000).emitWithAck('crash', { n: -1 });
    expect(unhandled()).toHaveLength(BUDGET + 1);
    expect(unhandled().at(-1)?.trace).toContain('boom -1');
  });

  it(`raw ws: ${SENT} failing frames answer ${SENT} error frames but log ${BUDGET} errors and one suppression line`, async () => {
    const client = await clients.ws(`ws://127.0.0.1:${port}${CRASH_PATH}?token=${token()}`);
    for (let n = 0; n < SENT; n += 1) client.send({ type: 'crash', data: { n } });
    client.send({ type: 'echo', data: { n: 1 } });
    await client.next('echo');
    expect(client.frames.filter((frame) => frame.type === 'error')).toHaveLength(SENT);
    expect(unhandled()).toHaveLength(BUDGET);
    expect(suppressed()).toHaveLength(1);

    const other = await clients.ws(`ws://127.0.0.1:${port}${CRASH_PATH}?token=${token()}`);
    other.send({ type: 'crash', data: { n: -1 } });
    await other.next('error');
    expect(unhandled()).toHaveLength(BUDGET + 1);
  });
});
