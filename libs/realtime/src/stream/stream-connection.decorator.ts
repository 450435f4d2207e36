// @StreamConnection(): the raw ws connection a frame came from. A custom parameter decorator, so the
// gateway's validation pipe leaves it alone (it would validate a @ConnectedSocket() typed as a class).
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { RealtimeError } from '../core/errors/realtime-error';
import { RawWsConnection } from '../core/transport/raw-ws-connection';

export const StreamConnection = createParamDecorator((_: unknown, ctx: ExecutionContext): RawWsConnection => {
  const client = ctx.switchToWs().getClient<unknown>();
  if (client instanceof RawWsConnection) return client;
  throw RealtimeError.invalidFormat('Not a raw WebSocket connection');
});
