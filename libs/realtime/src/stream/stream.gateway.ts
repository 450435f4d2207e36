// The log stream over raw ws at `paths.logs` (and '/' on `stream.port`): connect on open, authentication
// by the URL's token or an `auth` frame, and the `subscribe` filter. Sessions, backlog and timers are
// StreamSessions'; parsing, ordering, heartbeat and limits are the adapter's.
import { UseFilters, UsePipes } from '@nestjs/common';
import {
  MessageBody,
  SubscribeMessage,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type WsResponse,
} from '@nestjs/websockets';
import { ConnectedUser } from '../core/auth/connected-user.decorator';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeWsExceptionFilter } from '../core/filters/realtime-ws-exception.filter';
import { CompiledValidationPipe } from '../core/compiled-validation.pipe';
import type { RawWsConnection } from '../core/transport/raw-ws-connection';
import { RealtimeGateway } from '../core/transport/realtime-gateway.decorator';
import { StreamInbound, StreamOutbound, type LogFilter, type StreamPongPayload } from '../protocol';
import { StreamAuthDto } from './dto/stream-auth.dto';
import { StreamSubscribeDto } from './dto/stream-subscribe.dto';
import { payloadEnvelopeCodec } from './payload-envelope.codec';
import { WsConnection } from '../core/transport/ws-connection.decorator';
import { StreamSessions } from './stream-sessions.service';

@RealtimeGateway({ transport: 'ws', path: '@logs', codec: payloadEnvelopeCodec, authentication: 'deferred' })
@UseFilters(RealtimeWsExceptionFilter)
@UsePipes(new CompiledValidationPipe())
export class StreamGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(private readonly sessions: StreamSessions) {}

  handleConnection(client: RawWsConnection): void {
    this.sessions.open(client);
  }

  handleDisconnect(client: RawWsConnection): void {
    this.sessions.close(client);
  }

  /**
   * Answered by auth_success (+ backlog) or auth_error and close, both sent by StreamSessions. On an
   * authenticated connection, a token refresh: auth_success with the new expiry, or an `error` frame
   * AUTH_FAILED (the connection keeping its token).
   */
  @SubscribeMessage(StreamInbound.AUTH)
  auth(@WsConnection() connection: RawWsConnection, @MessageBody() dto: StreamAuthDto): void {
    this.sessions.authenticate(connection, dto.token);
  }

  /** Addition: a heartbeat browsers can see (they cannot see ws ping frames). Allowed before auth. */
  @SubscribeMessage(StreamInbound.PING)
  ping(): WsResponse<StreamPongPayload> {
    return { event: StreamOutbound.PONG, data: { timestamp: Date.now() } };
  }

  /** Before authentication, @ConnectedUser refuses (auth_error, close). */
  @SubscribeMessage(StreamInbound.SUBSCRIBE)
  subscribe(
    @WsConnection() connection: RawWsConnection,
    @ConnectedUser() _user: RealtimeIdentity,
    @MessageBody() dto: StreamSubscribeDto,
  ): WsResponse<LogFilter> {
    return { event: StreamOutbound.SUBSCRIBED, data: this.sessions.subscribe(connection, dto) };
  }
}
