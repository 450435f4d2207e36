// Socket.IO: every exception of a handler becomes an `error` event `{ message, code, details }`,
// and, when the client asked for an acknowledgement, an ack `{ error: { code, message, details } }`.
// Nest's exceptions (guards, HttpException, WsException, throttler) are mapped by toRealtimeError.
// Unexpected errors are logged within the socket's budget of error lines.
import {
  Catch,
  Injectable,
  Logger,
  Optional,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { Socket } from 'socket.io';
import { RealtimeErrorCode } from '../../protocol';
import { endsSession, toRealtimeError, type RealtimeError } from '../errors/realtime-error';
import { storageFaultOf } from '../errors/storage-fault';
import { TransportCounters } from '../metrics/transport-counters.service';
import { logClientError } from './client-error-log';
import { StorageFaultLog } from './storage-fault-log';

/**
 * What a Socket.IO client gets for an error: an `error` event, and `{ error }` on the ack when it
 * asked for one. Also used by the adapter for a packet refused before any handler.
 */
export function sendIoError(socket: Socket, error: RealtimeError, ack: unknown): void {
  const payload = error.toPayload();
  socket.emit('error', payload);
  if (typeof ack === 'function') (ack as (body: unknown) => void)({ error: payload });
}

@Catch()
@Injectable()
export class RealtimeIoExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('RealtimeIoExceptionFilter');

  constructor(
    private readonly counters: TransportCounters,
    // Optional: a host may build the filter itself with `new RealtimeIoExceptionFilter(counters)`.
    @Optional() private readonly storageFaults?: StorageFaultLog,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const error = toRealtimeError(exception);
    const args = host.getArgs<unknown[]>();
    const socket = args[0] as Socket;
    const fault = error.code === RealtimeErrorCode.INTERNAL_ERROR ? storageFaultOf(exception) : undefined;
    // A database outage is the server's: one line per outage, not one per socket and message.
    if (fault !== undefined && this.storageFaults !== undefined) this.storageFaults.refused(fault);
    else if (error.code === RealtimeErrorCode.INTERNAL_ERROR) {
      logClientError(
        this.logger,
        socket,
        `Unhandled error in a Socket.IO handler (socket ${socket.id})`,
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    this.counters.error();
    sendIoError(
      socket,
      error,
      args.find((arg, index) => index > 1 && typeof arg === 'function'),
    );
    if (endsSession(exception)) socket.disconnect(true);
  }
}
