// Nest's own exceptions, as a host's gateway throws them (guards, pipes, HttpException, WsException,
// @nestjs/throttler), mapped to the library's error codes: the one table behind README's "Errors".
import { HttpException, HttpStatus } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { RealtimeErrorCode } from '../../protocol';

/**
 * The message of the WsException Nest's ws context throws when a guard returns false
 * (`FORBIDDEN_MESSAGE` of @nestjs/core's guards, which it does not export from its root).
 */
export const GUARD_REFUSAL_MESSAGE = 'Forbidden resource';

/** HttpException status → code; a status not listed is INTERNAL_ERROR with the generic message. */
export const CODE_BY_HTTP_STATUS: ReadonlyMap<number, RealtimeErrorCode> = new Map<number, RealtimeErrorCode>(
  [
    [HttpStatus.BAD_REQUEST, RealtimeErrorCode.INVALID_FORMAT],
    [HttpStatus.UNAUTHORIZED, RealtimeErrorCode.AUTH_FAILED],
    [HttpStatus.FORBIDDEN, RealtimeErrorCode.PERMISSION_DENIED],
    [HttpStatus.PAYLOAD_TOO_LARGE, RealtimeErrorCode.MESSAGE_TOO_LONG],
    [HttpStatus.UNPROCESSABLE_ENTITY, RealtimeErrorCode.INVALID_FORMAT],
    [HttpStatus.TOO_MANY_REQUESTS, RealtimeErrorCode.RATE_LIMITED],
  ],
);

export interface MappedNestException {
  code: RealtimeErrorCode;
  message: string;
}

/**
 * The code and message for a Nest exception the table knows, or undefined (the caller answers
 * INTERNAL_ERROR). The message is the one the host wrote, meant for its client: an HttpException's
 * response `message` (a ValidationPipe's list joined with "; "), a WsException's error.
 */
export function mapNestException(exception: unknown): MappedNestException | undefined {
  if (exception instanceof HttpException) {
    const code = CODE_BY_HTTP_STATUS.get(exception.getStatus());
    if (code === undefined) return undefined;
    return { code, message: messageOf(exception.getResponse(), exception.message) };
  }
  if (exception instanceof WsException) {
    const error = exception.getError();
    const code =
      error === GUARD_REFUSAL_MESSAGE
        ? RealtimeErrorCode.PERMISSION_DENIED
        : RealtimeErrorCode.INVALID_FORMAT;
    return { code, message: messageOf(error, exception.message) };
  }
  return undefined;
}

/** A string, or the `message` of an object body (string or list of strings); else the fallback. */
function messageOf(body: unknown, fallback: string): string {
  if (typeof body === 'string') return body;
  if (typeof body !== 'object' || body === null || !('message' in body)) return fallback;
  const { message } = body;
  if (typeof message === 'string') return message;
  if (Array.isArray(message) && message.length > 0 && message.every((m) => typeof m === 'string')) {
    return message.join('; ');
  }
  return fallback;
}
