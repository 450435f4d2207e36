// The one error type of the library: every transport's exception filter turns it into its wire format.
import { RealtimeErrorCode, RealtimeErrorPayload } from '../../protocol';

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
 * Maps anything thrown by a handler to a RealtimeError. Unknown errors become INTERNAL_ERROR with a
 * generic message so that no internal detail leaks to clients.
 */
export function toRealtimeError(error: unknown): RealtimeError {
  if (error instanceof RealtimeError) return error;
  return new RealtimeError(RealtimeErrorCode.INTERNAL_ERROR, 'Internal server error');
}
