// RealtimeAuthGuard: lets through an authenticated caller, on HTTP (Bearer token, verified with the
// same rules as the sockets) and on host gateway handlers of both transports (the identity verified
// at the handshake or by a deferred authentication).
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'http';
import { RealtimeError } from '../errors/realtime-error';
import { connectionIdentity, REQUEST_IDENTITY } from './connected-user.decorator';
import { notAuthenticated } from './guard-refusals';
import { parseQuery } from './token-extractor';
import { TokenVerifier } from './token-verifier.service';

@Injectable()
export class RealtimeAuthGuard implements CanActivate {
  constructor(private readonly verifier: TokenVerifier) {}

  /**
   * Refuses with AUTH_FAILED: a 401 on HTTP; on a socket an `error` for that call with the connection
   * kept, since only a connection of a deferred-authentication gateway can lack an identity, and it
   * may authenticate next. (Expired tokens are closed by the transports before any handler runs.)
   */
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() === 'ws') {
      if (connectionIdentity(context.switchToWs().getClient<unknown>())) return true;
      throw notAuthenticated('Not authenticated');
    }
    const request = context.switchToHttp().getRequest<IncomingMessage & Record<string, unknown>>();
    try {
      request[REQUEST_IDENTITY] = this.verifier.verifyHandshake({
        query: parseQuery(request.url),
        headers: request.headers,
      });
      return true;
    } catch (error) {
      throw notAuthenticated(error instanceof RealtimeError ? error.message : 'Token invalid');
    }
  }
}
