// RealtimeAuthGuard on its three contexts: HTTP verifies the Bearer token as before; on a socket of
// either transport it lets through a connection with an identity and refuses one without (a
// deferred-authentication connection that has not authenticated) with AUTH_FAILED for that call only.
import { HttpException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { RealtimeErrorCode } from '../../protocol';
import { resolveRealtimeOptions } from '../../realtime.options';
import { endsSession, toRealtimeError } from '../errors/realtime-error';
import { REQUEST_IDENTITY } from './connected-user.decorator';
import { httpContext, identity, rawWsContext, socketIoContext } from './guard-context.helper-spec';
import { RealtimeAuthGuard } from './realtime-auth.guard';
import { TokenVerifier } from './token-verifier.service';

const SECRET = 'unit-secret-for-auth-guard-specs';

describe('RealtimeAuthGuard', () => {
  const jwt = new JwtService();
  const guard = new RealtimeAuthGuard(
    new TokenVerifier(resolveRealtimeOptions({ auth: { secret: SECRET } })),
  );

  /** What the guard throws, as the error its client gets. */
  function refusal(run: () => unknown): {
    status: number | null;
    code: string;
    message: string;
    ends: boolean;
  } {
    try {
      run();
    } catch (error) {
      const mapped = toRealtimeError(error);
      return {
        status: error instanceof HttpException ? error.getStatus() : null,
        code: mapped.code,
        message: mapped.message,
        ends: endsSession(error),
      };
    }
    throw new Error('the guard let the call through');
  }

  describe('HTTP', () => {
    it('verifies the Bearer token and puts the identity on the request', () => {
      const token = jwt.sign(
        { sub: 'u1', username: 'ann', roles: ['admin'] },
        { secret: SECRET, expiresIn: 60 },
      );
      const request: Record<string, unknown> = {
        url: '/modules',
        headers: { authorization: `Bearer ${token}` },
      };
      expect(guard.canActivate(httpContext(request))).toBe(true);
      expect(request[REQUEST_IDENTITY]).toMatchObject({ userId: 'u1', username: 'ann', isAdmin: true });
    });

    it('answers 401 AUTH_FAILED with the reason for a missing or bad token', () => {
      expect(refusal(() => guard.canActivate(httpContext({ url: '/modules', headers: {} })))).toEqual({
        status: 401,
        code: RealtimeErrorCode.AUTH_FAILED,
        message: 'Authentication token missing',
        ends: false,
      });
      const forged = jwt.sign({ sub: 'u1' }, { secret: 'another-secret-of-enough-length', expiresIn: 60 });
      const request = { url: '/modules', headers: { authorization: `Bearer ${forged}` } };
      expect(refusal(() => guard.canActivate(httpContext(request)))).toMatchObject({
        status: 401,
        message: 'Token signature invalid',
      });
    });
  });

  describe.each([
    ['Socket.IO', socketIoContext],
    ['raw ws', rawWsContext],
  ] as const)('%s', (_transport, contextOf) => {
    it('lets through a connection authenticated at the handshake, without a token in the call', () => {
      expect(guard.canActivate(contextOf(identity('u1')))).toBe(true);
    });

    it('refuses a connection without an identity with AUTH_FAILED, the connection kept', () => {
      expect(refusal(() => guard.canActivate(contextOf(null)))).toEqual({
        status: 401,
        code: RealtimeErrorCode.AUTH_FAILED,
        message: 'Not authenticated',
        ends: false,
      });
    });
  });
});
