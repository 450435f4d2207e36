// Nest conventions in a host's gateways: a guard refusal, an HttpException, a WsException or a
// ThrottlerException thrown in a @RealtimeGateway handler reaches the client as the library's error
// code with its message, on Socket.IO and on raw ws alike, and the connection stays open. An
// unexpected error still becomes INTERNAL_ERROR and its message never leaves the server.
import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  Module,
  PayloadTooLargeException,
  UnauthorizedException,
  UnprocessableEntityException,
  UseFilters,
  UseGuards,
  type CanActivate,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ThrottlerException } from '@nestjs/throttler';
import { MessageBody, SubscribeMessage, WsException } from '@nestjs/websockets';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import type { Socket } from 'socket.io-client';
import {
  RealtimeAdapter,
  RealtimeError,
  RealtimeGateway,
  RealtimeIoExceptionFilter,
  RealtimeModule,
  RealtimeWsExceptionFilter,
  dataEnvelopeCodec,
  type RealtimeErrorPayload,
} from 'nest-realtime';
import { connectIo, nextEvent, recordEvents, signToken, TestWs } from './support/clients';
import { TEST_SECRET } from './support/sample-app';

const WS_PATH = '/ws/host-errors';
const SECRET_DETAIL = 'secret internal detail';

/** A host guard that refuses everything: Nest turns its `false` into WsException('Forbidden resource'). */
class RefuseAll implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

/** The same handlers on both transports: each throws what a Nest host commonly throws. */
abstract class HostErrorHandlers {
  @SubscribeMessage('echo')
  echo(@MessageBody() body: { n: number }) {
    return { event: 'echo', data: { n: body.n } };
  }

  @SubscribeMessage('unauthorized')
  unauthorized(): never {
    throw new UnauthorizedException();
  }

  @SubscribeMessage('unauthorizedWithReason')
  unauthorizedWithReason(): never {
    throw new UnauthorizedException('Session is not allowed here');
  }

  @SubscribeMessage('forbidden')
  forbidden(): never {
    throw new ForbiddenException('custom reason');
  }

  @SubscribeMessage('guarded')
  @UseGuards(RefuseAll)
  guarded() {
    return { event: 'echo', data: { n: -1 } };
  }

  @SubscribeMessage('badRequest')
  badRequest(): never {
    throw new BadRequestException();
  }

  /** What a plain ValidationPipe throws: one message per failed constraint. */
  @SubscribeMessage('validation')
  validation(): never {
    throw new BadRequestException(['text must be a string', 'count must be an integer number']);
  }

  @SubscribeMessage('unprocessable')
  unprocessable(): never {
    throw new UnprocessableEntityException('Room is archived');
  }

  @SubscribeMessage('tooLarge')
  tooLarge(): never {
    throw new PayloadTooLargeException();
  }

  @SubscribeMessage('throttled')
  throttled(): never {
    throw new ThrottlerException();
  }

  @SubscribeMessage('wsException')
  wsException(): never {
    throw new WsException('bad thing');
  }

  @SubscribeMessage('wsExceptionObject')
  wsExceptionObject(): never {
    throw new WsException({ message: 'bad object', internal: 'not sent' });
  }

  @SubscribeMessage('teapot')
  teapot(): never {
    throw new HttpException(`I'm a teapot: ${SECRET_DETAIL}`, 418);
  }

  @SubscribeMessage('crash')
  crash(): never {
    throw new Error(SECRET_DETAIL);
  }

  @SubscribeMessage('revoked')
  revoked(): never {
    throw RealtimeError.authFailed('Session revoked');
  }
}

@RealtimeGateway({ transport: 'socket.io' })
@UseFilters(RealtimeIoExceptionFilter)
class HostIoGateway extends HostErrorHandlers {}

@RealtimeGateway({ transport: 'ws', path: WS_PATH, codec: dataEnvelopeCodec })
@UseFilters(RealtimeWsExceptionFilter)
class HostWsGateway extends HostErrorHandlers {}

@Module({
  imports: [
    RealtimeModule.forRoot({ auth: { secret: TEST_SECRET }, database: { type: 'sqlite', path: ':memory:' } }),
  ],
  providers: [HostIoGateway, HostWsGateway],
})
class HostModule {}

/** Handler → the error payload its client gets. */
const CASES: Array<[event: string, expected: RealtimeErrorPayload]> = [
  ['unauthorized', { code: 'AUTH_FAILED', message: 'Unauthorized', details: {} }],
  ['unauthorizedWithReason', { code: 'AUTH_FAILED', message: 'Session is not allowed here', details: {} }],
  ['forbidden', { code: 'PERMISSION_DENIED', message: 'custom reason', details: {} }],
  ['guarded', { code: 'PERMISSION_DENIED', message: 'Forbidden resource', details: {} }],
  ['badRequest', { code: 'INVALID_FORMAT', message: 'Bad Request', details: {} }],
  [
    'validation',
    {
      code: 'INVALID_FORMAT',
      message: 'text must be a string; count must be an integer number',
      details: {},
    },
  ],
  ['unprocessable', { code: 'INVALID_FORMAT', message: 'Room is archived', details: {} }],
  ['tooLarge', { code: 'MESSAGE_TOO_LONG', message: 'Payload Too Large', details: {} }],
  ['throttled', { code: 'RATE_LIMITED', message: 'ThrottlerException: Too Many Requests', details: {} }],
  ['wsException', { code: 'INVALID_FORMAT', message: 'bad thing', details: {} }],
  ['wsExceptionObject', { code: 'INVALID_FORMAT', message: 'bad object', details: {} }],
  ['teapot', { code: 'INTERNAL_ERROR', message: 'Internal server error', details: {} }],
  ['crash', { code: 'INTERNAL_ERROR', message: 'Internal server error', details: {} }],
];

describe('Host gateways: Nest exceptions become error codes with their message', () => {
  let app: INestApplication;
  let port: number;
  let sequence = 0;
  const token = () => {
    sequence += 1;
    return signToken({ sub: `host-${sequence}`, username: `host-${sequence}` });
  };

  beforeAll(async () => {
    app = await NestFactory.create(HostModule, { logger: false });
    app.useWebSocketAdapter(new RealtimeAdapter(app));
    await app.listen(0, '127.0.0.1');
    port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
  });
  afterAll(async () => {
    await app.close();
  });

  describe('Socket.IO: the `error` event', () => {
    const sockets: Socket[] = [];
    const connect = async () => {
      const socket = await connectIo(`http://127.0.0.1:${port}`, { token: token() });
      sockets.push(socket);
      return socket;
    };
    afterEach(() => {
      while (sockets.length) sockets.pop()?.close();
    });

    it.each(CASES)('%s → %j, and the socket stays usable', async (event, expected) => {
      const socket = await connect();
      const seen = recordEvents(socket);
      const error = nextEvent<RealtimeErrorPayload>(socket, 'error');
      socket.emit(event, {});
      expect(await error).toEqual(expected);

      const echo = nextEvent<{ n: number }>(socket, 'echo');
      socket.emit('echo', { n: 7 });
      expect(await echo).toEqual({ n: 7 });
      expect(socket.connected).toBe(true);
      expect(JSON.stringify(seen)).not.toContain(SECRET_DETAIL);
    });

    it('still disconnects on the library’s own RealtimeError AUTH_FAILED', async () => {
      const socket = await connect();
      const error = nextEvent<RealtimeErrorPayload>(socket, 'error');
      const disconnected = nextEvent<string>(socket, 'disconnect');
      socket.emit('revoked', {});
      expect(await error).toEqual({ code: 'AUTH_FAILED', message: 'Session revoked', details: {} });
      expect(await disconnected).toBe('io server disconnect');
    });
  });

  describe('raw ws: the `error` frame', () => {
    const clients: TestWs[] = [];
    const open = async () => {
      const client = await TestWs.open(`ws://127.0.0.1:${port}${WS_PATH}?token=${token()}`);
      clients.push(client);
      return client;
    };
    afterEach(() => {
      while (clients.length) clients.pop()?.close();
    });

    it.each(CASES)('%s → %j, and the connection stays usable', async (event, expected) => {
      const client = await open();
      client.send({ type: event, data: {} });
      const error = await client.next('error');
      expect(error.data).toEqual(expected);
      expect(JSON.stringify(error)).not.toContain(SECRET_DETAIL);

      client.send({ type: 'echo', data: { n: 7 } });
      expect((await client.next('echo')).data).toEqual({ n: 7 });
      expect(client.socket.readyState).toBe(client.socket.OPEN);
      expect(JSON.stringify(client.frames)).not.toContain(SECRET_DETAIL);
    });

    it('still closes with 4401 on the library’s own RealtimeError AUTH_FAILED', async () => {
      const client = await open();
      client.send({ type: 'revoked', data: {} });
      expect((await client.next('error')).data).toEqual({
        code: 'AUTH_FAILED',
        message: 'Session revoked',
        details: {},
      });
      expect(await client.closedWithin()).toEqual({ code: 4401, reason: 'Session revoked' });
    });
  });
});
