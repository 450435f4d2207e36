// HTTP guard for host controllers: verifies the Bearer token with the same rules as the sockets.
import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'http';
import { RealtimeError } from '../errors/realtime-error';
import { REQUEST_IDENTITY } from './connected-user.decorator';
import { parseQuery } from './token-extractor';
import { TokenVerifier } from './token-verifier.service';

@Injectable()
export class RealtimeAuthGuard implements CanActivate {
  constructor(private readonly verifier: TokenVerifier) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<IncomingMessage & Record<string, unknown>>();
    try {
      request[REQUEST_IDENTITY] = this.verifier.verifyHandshake({
        query: parseQuery(request.url),
        headers: request.headers,
      });
      return true;
    } catch (error) {
      const message = error instanceof RealtimeError ? error.message : 'Token invalid';
      throw new UnauthorizedException({ statusCode: 401, code: 'AUTH_FAILED', message });
    }
  }
}
