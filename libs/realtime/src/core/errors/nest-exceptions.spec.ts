// The mapping of Nest's exceptions to error codes, and what toRealtimeError keeps generic.
import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  NotFoundException,
  PayloadTooLargeException,
  UnauthorizedException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { WsException } from '@nestjs/websockets';
import { GUARD_REFUSAL_MESSAGE, mapNestException } from './nest-exceptions';
import { endsSession, RealtimeError, toRealtimeError } from './realtime-error';

describe('mapNestException', () => {
  it.each([
    [new UnauthorizedException(), 'AUTH_FAILED', 'Unauthorized'],
    [new ForbiddenException('custom reason'), 'PERMISSION_DENIED', 'custom reason'],
    [new BadRequestException(), 'INVALID_FORMAT', 'Bad Request'],
    [new UnprocessableEntityException('Room is archived'), 'INVALID_FORMAT', 'Room is archived'],
    [new PayloadTooLargeException(), 'MESSAGE_TOO_LONG', 'Payload Too Large'],
    [new ThrottlerException(), 'RATE_LIMITED', 'ThrottlerException: Too Many Requests'],
    [new HttpException('Slow down', HttpStatus.TOO_MANY_REQUESTS), 'RATE_LIMITED', 'Slow down'],
    [new WsException('bad thing'), 'INVALID_FORMAT', 'bad thing'],
    [new WsException(GUARD_REFUSAL_MESSAGE), 'PERMISSION_DENIED', 'Forbidden resource'],
  ])('maps %p to %s with its message', (exception, code, message) => {
    expect(mapNestException(exception)).toEqual({ code, message });
  });

  it("joins a ValidationPipe's list of messages", () => {
    const exception = new BadRequestException(['text must be a string', 'n must be an integer number']);
    expect(mapNestException(exception)).toEqual({
      code: 'INVALID_FORMAT',
      message: 'text must be a string; n must be an integer number',
    });
  });

  it("takes an object body's message, or the exception's own when the body has none", () => {
    expect(mapNestException(new HttpException({ message: 'from body', extra: 1 }, 400))?.message).toBe(
      'from body',
    );
    expect(mapNestException(new HttpException({ reason: 'no message' }, 400))?.message).toBe(
      'Http Exception',
    );
    expect(mapNestException(new WsException({ message: 'bad object', internal: 'x' }))).toEqual({
      code: 'INVALID_FORMAT',
      message: 'bad object',
    });
    expect(mapNestException(new WsException({ reason: 'no message' }))?.message).toBe('Ws Exception');
  });

  it('leaves other statuses and non-Nest errors to the caller', () => {
    expect(mapNestException(new NotFoundException('row 42 of users'))).toBeUndefined();
    expect(mapNestException(new HttpException('upstream down', 503))).toBeUndefined();
    expect(mapNestException(new Error('secret'))).toBeUndefined();
    expect(mapNestException('a thrown string')).toBeUndefined();
    expect(mapNestException(undefined)).toBeUndefined();
  });
});

describe('toRealtimeError', () => {
  it('keeps a RealtimeError as it is', () => {
    const error = new RealtimeError('ROOM_NOT_FOUND', 'No such room', { room: 'x' });
    expect(toRealtimeError(error)).toBe(error);
  });

  it('maps a Nest exception with its message and no details', () => {
    const error = toRealtimeError(new ForbiddenException('custom reason'));
    expect(error).toBeInstanceOf(RealtimeError);
    expect(error.toPayload()).toEqual({ code: 'PERMISSION_DENIED', message: 'custom reason', details: {} });
  });

  it.each([
    new Error('secret internal detail'),
    new NotFoundException('secret internal detail'),
    'secret internal detail',
  ])('answers %p with the generic INTERNAL_ERROR', (thrown) => {
    expect(toRealtimeError(thrown).toPayload()).toEqual({
      code: 'INTERNAL_ERROR',
      message: 'Internal server error',
      details: {},
    });
  });
});

describe('endsSession', () => {
  it("is true for the library's own AUTH_FAILED only", () => {
    expect(endsSession(RealtimeError.authFailed('Token expired'))).toBe(true);
    expect(endsSession(new UnauthorizedException())).toBe(false);
    expect(endsSession(RealtimeError.invalidFormat('bad'))).toBe(false);
    expect(endsSession(new Error('AUTH_FAILED'))).toBe(false);
  });
});
