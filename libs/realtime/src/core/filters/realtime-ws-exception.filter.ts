// Raw ws: every exception of a handler becomes an `error` frame (the codec's format); the library's
// own AUTH_FAILED closes. Nest's exceptions (guards, HttpException, WsException, throttler) are mapped
// by toRealtimeError. Unexpected errors are logged within the connection's budget of error lines.
import { Catch, Logger, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { RealtimeCloseCode, RealtimeErrorCode } from '../../protocol';
import { endsSession, toRealtimeError } from '../errors/realtime-error';
import { storageFaultOf } from '../errors/storage-fault';
import { RawWsConnection } from '../transport/raw-ws-connection';
import { logClientError } from './client-error-log';
import { StorageFaultLog } from './storage-fault-log';

/**
 * What a raw ws client gets for an exception, from a gateway handler or from the adapter's own
 * dispatch: an `error` frame with the code, echoing the request id of the frame that caused it (by
 * default the one being handled); a RealtimeError AUTH_FAILED also closes (a host's 401 does not).
 * Unexpected errors are logged; a database outage goes to `storageFaults` (one line per outage) when
 * there is one.
 */
export function answerWsException(
  client: RawWsConnection,
  exception: unknown,
  logger: Logger,
  ref: string | undefined = client.requestRef,
  storageFaults: StorageFaultLog | null = null,
): void {
  const error = logUnexpected(exception, `on ${client.path}`, logger, client, storageFaults);
  client.sendError(error, ref);
  if (endsSession(exception)) client.close(RealtimeCloseCode.AUTH_FAILED, error.message);
}

/** `client`: the connection whose budget of error lines the line counts against, when it is ours. */
function logUnexpected(
  exception: unknown,
  where: string,
  logger: Logger,
  client?: RawWsConnection,
  storageFaults: StorageFaultLog | null = null,
): ReturnType<typeof toRealtimeError> {
  const error = toRealtimeError(exception);
  if (error.code !== RealtimeErrorCode.INTERNAL_ERROR) return error;
  const fault = storageFaultOf(exception);
  if (fault !== undefined && storageFaults !== null) {
    // A database outage is the server's: one line per outage, not one per connection and message.
    storageFaults.refused(fault);
    return error;
  }
  const trace = exception instanceof Error ? exception.stack : String(exception);
  if (client === undefined) logger.error(`Unhandled error ${where}`, trace);
  else logClientError(logger, client, `Unhandled error ${where} (connection ${client.id})`, trace);
  return error;
}

@Catch()
export class RealtimeWsExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('RealtimeWsExceptionFilter');

  /** `storageFaults`: absent when a host makes the filter itself (`new`), outside Nest's injection. */
  constructor(@Optional() private readonly storageFaults?: StorageFaultLog) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const client = host.switchToWs().getClient<unknown>();
    if (client instanceof RawWsConnection) {
      answerWsException(client, exception, this.logger, client.requestRef, this.storageFaults ?? null);
    } else logUnexpected(exception, 'in a ws handler', this.logger, undefined, this.storageFaults ?? null);
  }
}
