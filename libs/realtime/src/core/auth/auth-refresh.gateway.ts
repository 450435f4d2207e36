// Socket.IO `authRefresh`: a fresh token on an open socket of the default namespace, which the chat
// and the events API share (one gateway for both, mounted with either). The socket keeps its rooms;
// the ack carries the new expiry, or `{ error }` AUTH_FAILED (the socket going on with its token).
import { UseFilters, UsePipes } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { ChatEvent, type AuthRefreshResult } from '../../protocol';
import { RealtimeIoExceptionFilter } from '../filters/realtime-io-exception.filter';
import { CompiledValidationPipe } from '../compiled-validation.pipe';
import { ConnectionLifecycle } from '../transport/connection-lifecycle.service';
import { RealtimeGateway } from '../transport/realtime-gateway.decorator';
import { AuthRefreshDto } from './auth-refresh.dto';

@RealtimeGateway({ transport: 'socket.io' })
@UseFilters(RealtimeIoExceptionFilter)
@UsePipes(new CompiledValidationPipe())
export class AuthRefreshGateway {
  constructor(private readonly lifecycle: ConnectionLifecycle) {}

  @SubscribeMessage(ChatEvent.authRefresh)
  async refresh(
    @ConnectedSocket() socket: Socket,
    @MessageBody() dto: AuthRefreshDto,
  ): Promise<AuthRefreshResult> {
    const identity = await this.lifecycle.refreshSocket(socket, dto.token);
    const { expiresAt } = identity;
    return {
      userId: identity.userId,
      expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    };
  }
}
