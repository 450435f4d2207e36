// Socket.IO: every exception of a handler becomes an `error` event `{ message, code, details }`,
// and, when the client asked for an acknowledgement, an ack `{ error: { code, message, details } }`.
// Nest's exceptions (guards, HttpException, WsException, throttler) are mapped by toRealtimeError.
import { Catch, Injectable, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { RealtimeErrorCode } from '../../protocol';
import { endsSession, toRealtimeError } from '../errors/realtime-error';
import { TransportCounters } from '../metrics/transport-counters.service';

@Catch()
@Injectable()
export class RealtimeIoExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('RealtimeIoExceptionFilter');

  constructor(private readonly counters: TransportCounters) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const error = toRealtimeError(exception);
    if (error.code === RealtimeErrorCode.INTERNAL_ERROR) {
      this.logger.error(
        'Unhandled error in a Socket.IO handler',
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    const args = host.getArgs<unknown[]>();
    const socket = args[0] as Socket;
    const payload = error.toPayload();
    this.counters.error();
    socket.emit('error', payload);
    const ack = args.find((arg, index) => index > 1 && typeof arg === 'function') as
      ((body: unknown) => void) | undefined;
    ack?.({ error: payload });
    if (endsSession(exception)) socket.disconnect(true);
  }
}
