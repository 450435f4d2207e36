// @ConnectedUser(): the verified identity of the connection (ws, Socket.IO) or request (HTTP).
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { RealtimeError } from '../errors/realtime-error';
import { RawWsConnection } from '../transport/raw-ws-connection';
import type { RealtimeIdentity } from './realtime-identity';

/** Request property set by RealtimeAuthGuard. */
export const REQUEST_IDENTITY = 'realtimeUser';

/** The identity a connection was given, or null (a deferred-authentication one that has not authenticated). */
export function connectionIdentity(client: unknown): RealtimeIdentity | null {
  if (client instanceof RawWsConnection) return client.identity;
  return (client as { data?: { identity?: RealtimeIdentity } } | null)?.data?.identity ?? null;
}

export function identityOfClient(client: unknown): RealtimeIdentity {
  const identity = connectionIdentity(client);
  if (identity) return identity;
  throw RealtimeError.authFailed('Not authenticated');
}

/**
 * The identity of a handler call, or null: the connection's on a ws context of either transport, the
 * one RealtimeAuthGuard put on the request on HTTP.
 */
export function identityInContext(ctx: ExecutionContext): RealtimeIdentity | null {
  if (ctx.getType() === 'ws') return connectionIdentity(ctx.switchToWs().getClient<unknown>());
  const request = ctx.switchToHttp().getRequest<Record<string, unknown>>();
  return (request[REQUEST_IDENTITY] as RealtimeIdentity | undefined) ?? null;
}

export const ConnectedUser = createParamDecorator((_: unknown, ctx: ExecutionContext): RealtimeIdentity => {
  const identity = identityInContext(ctx);
  if (!identity) throw RealtimeError.authFailed('Not authenticated');
  return identity;
});
