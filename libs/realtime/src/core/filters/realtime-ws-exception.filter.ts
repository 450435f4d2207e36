// Raw ws: every exception of a handler becomes an `error` frame (the codec's format); the library's
// own AUTH_FAILED closes. Nest's exceptions (guards, HttpException, WsException, throttler) are mapped
// by toRealtimeError. Unexpected errors are logged within the connection's budget of error lines.
import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { RealtimeCloseCode, RealtimeErrorCode } from '../../protocol';
import { endsSession, toRealtimeError } from '../errors/realtime-error';
import { RawWsConnection } from '../transport/raw-ws-connection';
import { logClientError } from './client-error-log';

/**
 * What a raw ws client gets for an exception, from a gateway handler or from the adapter's own
 * dispatch: an `error` frame with the code, echoing the request id of the frame that caused it (by
 * default the one being handled); a RealtimeError AUTH_FAILED also closes (a host's 401 does not).
 * Unexpected errors are logged.
 */
export function answerWsException(
  client: RawWsConnection,
  exception: unknown,
  logger: Logger,
  ref: string | undefined = client.requestRef,
): void {
  const error = logUnexpected(exception, `on ${client.path}`, logger, client);
  client.sendError(error, ref);
  if (endsSession(exception)) client.close(RealtimeCloseCode.AUTH_FAILED, error.message);
}

/** `client`: the connection whose budget of error lines the line counts against, when it is ours. */
function logUnexpected(
  exception: unknown,
  where: string,
  logger: Logger,
  client?: RawWsConnection,
): ReturnType<typeof toRealtimeError> {
  const error = toRealtimeError(exception);
  if (error.code === RealtimeErrorCode.INTERNAL_ERROR) {
    const trace = exception instanceof Error ? exception.stack : String(exception);
    if (client === undefined) logger.error(`Unhandled error ${where}`, trace);
    else logClientError(logger, client, `Unhandled error ${where} (connection ${client.id})`, trace);
  }
  return error;
}

@Catch()
export class RealtimeWsExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('RealtimeWsExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const client = host.switchToWs().getClient<unknown>();
    if (client instanceof RawWsConnection) answerWsException(client, exception, this.logger);
    else logUnexpected(exception, 'in a ws handler', this.logger);
  }
}
