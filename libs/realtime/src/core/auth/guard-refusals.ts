// How the library's guards refuse, per context: an HTTP status with the error code in its body, or
// on a socket an error the transport's filter answers without ending the connection.
import { HttpException, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { RealtimeErrorCode } from '../../protocol';
import { RealtimeError } from '../errors/realtime-error';

/**
 * AUTH_FAILED for this call only. On a socket it is Nest's UnauthorizedException, not the library's
 * RealtimeError AUTH_FAILED, which the filters answer by closing the connection: a connection that
 * has not authenticated yet may still do so.
 */
export function notAuthenticated(message: string): UnauthorizedException {
  return new UnauthorizedException({ statusCode: 401, code: RealtimeErrorCode.AUTH_FAILED, message });
}

/** PERMISSION_DENIED with details: a 403 on HTTP, the library's error on a socket (connection kept). */
export function permissionDenied(
  context: ExecutionContext,
  message: string,
  details: Record<string, unknown>,
): Error {
  return inContext(context, new RealtimeError(RealtimeErrorCode.PERMISSION_DENIED, message, details), 403);
}

/** A RealtimeError as the context reports it: as it is on a socket, with its status on HTTP. */
export function inContext(context: ExecutionContext, error: RealtimeError, status: number): Error {
  if (context.getType() === 'ws') return error;
  return new HttpException(
    { statusCode: status, code: error.code, message: error.message, details: error.details },
    status,
  );
}
