// For guard specs: execution contexts as Nest builds them for an HTTP request, a Socket.IO socket
// and a raw ws connection, and identities to put on them.
import type { ExecutionContext, Type } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { RawWsConnection } from '../transport/raw-ws-connection';
import type { RealtimeIdentity } from './realtime-identity';

export function identity(userId: string, roles: string[] = [], isAdmin = false): RealtimeIdentity {
  return { userId, username: userId, roles, isAdmin, appId: null, page: null, expiresAt: null };
}

/** A handler of a class, as the guards see it through `getHandler()` / `getClass()`. */
export interface Target {
  cls: Type<unknown>;
  handler: (...args: unknown[]) => unknown;
}

export function httpContext(request: Record<string, unknown>, target?: Target): ExecutionContext {
  const context = new ExecutionContextHost([request, {}, () => undefined], target?.cls, target?.handler);
  context.setType('http');
  return context;
}

export function socketIoContext(
  identityOfSocket: RealtimeIdentity | null,
  target?: Target,
): ExecutionContext {
  const socket = { id: 's1', data: identityOfSocket ? { identity: identityOfSocket } : {} };
  const context = new ExecutionContextHost([socket, {}, 'event'], target?.cls, target?.handler);
  context.setType('ws');
  return context;
}

export function rawWsContext(
  identityOfConnection: RealtimeIdentity | null,
  target?: Target,
): ExecutionContext {
  // The guards only read `identity` (and `instanceof`): no socket behind it.
  const connection = Object.create(RawWsConnection.prototype) as RawWsConnection;
  connection.identity = identityOfConnection;
  const context = new ExecutionContextHost([connection, {}, 'event'], target?.cls, target?.handler);
  context.setType('ws');
  return context;
}
