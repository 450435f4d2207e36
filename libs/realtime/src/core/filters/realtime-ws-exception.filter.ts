// Raw ws: every exception of a handler becomes an `error` frame (the codec's format); AUTH_FAILED closes.
import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { RealtimeCloseCode, RealtimeErrorCode } from '../../protocol';
import { toRealtimeError } from '../errors/realtime-error';
import { RawWsConnection } from '../transport/raw-ws-connection';

@Catch()
export class RealtimeWsExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('RealtimeWsExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const client = host.switchToWs().getClient<unknown>();
    const error = toRealtimeError(exception);
    if (error.code === RealtimeErrorCode.INTERNAL_ERROR) {
      this.logger.error(
        'Unhandled error in a ws handler',
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    if (!(client instanceof RawWsConnection)) return;
    client.sendError(error);
    if (error.code === RealtimeErrorCode.AUTH_FAILED)
      client.close(RealtimeCloseCode.AUTH_FAILED, error.message);
  }
}
