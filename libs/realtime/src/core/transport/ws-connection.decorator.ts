// @WsConnection(): the raw ws connection a frame came from, in a handler of a raw ws gateway (the
// rooms protocol, the log stream, or a host's own). A custom parameter decorator, so that the
// gateway's validation pipe leaves it alone (it would validate a @ConnectedSocket() typed as a class).
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { RawWsConnection } from './raw-ws-connection';

export const WsConnection = createParamDecorator((_: unknown, ctx: ExecutionContext): RawWsConnection => {
  const client = ctx.switchToWs().getClient<unknown>();
  if (client instanceof RawWsConnection) return client;
  // A programming error of the gateway (answered INTERNAL_ERROR), not something a client sent.
  throw new Error('@WsConnection() is for handlers of raw WebSocket gateways, not Socket.IO ones');
});
