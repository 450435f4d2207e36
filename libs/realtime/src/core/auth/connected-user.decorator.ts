// @ConnectedUser(): the verified identity of the connection (ws, Socket.IO) or request (HTTP).
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { RealtimeError } from '../errors/realtime-error';
import { RawWsConnection } from '../transport/raw-ws-connection';
import type { RealtimeIdentity } from './realtime-identity';

/** Request property set by RealtimeAuthGuard. */
export const REQUEST_IDENTITY = 'realtimeUser';

export function identityOfClient(client: unknown): RealtimeIdentity {
  if (client instanceof RawWsConnection) {
    if (client.identity) return client.identity;
    throw RealtimeError.authFailed('Not authenticated');
  }
  const data = (client as { data?: { identity?: RealtimeIdentity } } | null)?.data;
  if (data?.identity) return data.identity;
  throw RealtimeError.authFailed('Not authenticated');
}

export const ConnectedUser = createParamDecorator((_: unknown, ctx: ExecutionContext): RealtimeIdentity => {
  if (ctx.getType() === 'ws') return identityOfClient(ctx.switchToWs().getClient<unknown>());
  const request = ctx.switchToHttp().getRequest<Record<string, unknown>>();
  const identity = request[REQUEST_IDENTITY] as RealtimeIdentity | undefined;
  if (!identity) throw RealtimeError.authFailed('Not authenticated');
  return identity;
});
