// The one error type of the library: every transport's exception filter turns it into its wire format.
import { AUTH_REFRESH_REFUSED, RealtimeErrorCode, RealtimeErrorPayload } from '../../protocol';
import { mapNestException } from './nest-exceptions';
import { STORAGE_FAULT_MESSAGE, storageFaultOf } from './storage-fault';

export class RealtimeError extends Error {
  constructor(
    readonly code: RealtimeErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'RealtimeError';
  }

  toPayload(): RealtimeErrorPayload {
    return { message: this.message, code: this.code, details: this.details };
  }

  static authFailed(message: string, details: Record<string, unknown> = {}): RealtimeError {
    return new RealtimeError(RealtimeErrorCode.AUTH_FAILED, message, details);
  }

  static invalidFormat(message: string, details: Record<string, unknown> = {}): RealtimeError {
    return new RealtimeError(RealtimeErrorCode.INVALID_FORMAT, message, details);
  }
}

/**
 * Maps anything thrown by a handler to a RealtimeError: a RealtimeError as it is, a Nest exception
 * of the table in nest-exceptions.ts with its code and message. A database that is down or full
 * (storage-fault.ts) is INTERNAL_ERROR with `details.reason` storage_unavailable or storage_full.
 * Anything else becomes INTERNAL_ERROR with a generic message so that no internal detail leaks to
 * clients.
 */
export function toRealtimeError(error: unknown): RealtimeError {
  if (error instanceof RealtimeError) return error;
  const mapped = mapNestException(error);
  if (mapped !== undefined) return new RealtimeError(mapped.code, mapped.message);
  const fault = storageFaultOf(error);
  if (fault !== undefined) {
    return new RealtimeError(RealtimeErrorCode.INTERNAL_ERROR, STORAGE_FAULT_MESSAGE[fault.reason], {
      reason: fault.reason,
    });
  }
  return new RealtimeError(RealtimeErrorCode.INTERNAL_ERROR, 'Internal server error');
}

/**
 * AUTH_FAILED for a refused token refresh (`details.reason: 'refresh_refused'`): the connection keeps
 * its session on its current token, which still ends it at its own expiry.
 */
export class RefreshRefusedError extends RealtimeError {
  constructor(message: string) {
    super(RealtimeErrorCode.AUTH_FAILED, message, { reason: AUTH_REFRESH_REFUSED });
  }
}

/**
 * Whether the filters end the connection after answering: only for the library's own AUTH_FAILED
 * (a revoked or expired session), not for a refused refresh. A host's 401 (UnauthorizedException)
 * refuses that one message.
 */
export function endsSession(error: unknown): boolean {
  return (
    error instanceof RealtimeError &&
    error.code === RealtimeErrorCode.AUTH_FAILED &&
    !(error instanceof RefreshRefusedError)
  );
}
