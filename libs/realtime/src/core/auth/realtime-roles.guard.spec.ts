// RealtimeRolesGuard with @RealtimeRoles: one of the roles or an admin gets through; anyone else gets
// PERMISSION_DENIED naming the roles (403 on HTTP, the connection kept on a socket); the handler's
// @RealtimeRoles replaces the class's; without @RealtimeRoles everyone passes.
import { HttpException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RealtimeErrorCode } from '../../protocol';
import { endsSession, RealtimeError, toRealtimeError } from '../errors/realtime-error';
import { REQUEST_IDENTITY } from './connected-user.decorator';
import {
  httpContext,
  identity,
  rawWsContext,
  socketIoContext,
  type Target,
} from './guard-context.helper-spec';
import type { RealtimeIdentity } from './realtime-identity';
import { RealtimeRolesGuard } from './realtime-roles.guard';
import { RealtimeRoles } from './realtime-roles.decorator';

@RealtimeRoles('staff')
class HostHandlers {
  @RealtimeRoles('admin')
  announce(): void {}

  @RealtimeRoles('editor', 'reviewer')
  publish(): void {}

  /** Only the class's @RealtimeRoles. */
  listDrafts(): void {}
}

class OpenHandlers {
  ping(): void {}
}

const target = (name: keyof HostHandlers): Target => ({
  cls: HostHandlers,
  handler: HostHandlers.prototype[name],
});

describe('RealtimeRolesGuard', () => {
  const guard = new RealtimeRolesGuard(new Reflector());

  function outcome(context: ReturnType<typeof httpContext>): 'ok' | Record<string, unknown> {
    try {
      expect(guard.canActivate(context)).toBe(true);
      return 'ok';
    } catch (error) {
      const mapped = toRealtimeError(error);
      return {
        status: error instanceof HttpException ? error.getStatus() : null,
        code: mapped.code,
        message: mapped.message,
        details: mapped.details,
        ends: endsSession(error),
      };
    }
  }

  const transports = [
    [
      'HTTP',
      (who: RealtimeIdentity | null, t?: Target) => httpContext(who ? { [REQUEST_IDENTITY]: who } : {}, t),
    ],
    ['Socket.IO', socketIoContext],
    ['raw ws', rawWsContext],
  ] as const;

  describe.each(transports)('%s', (transport, contextOf) => {
    it('lets through a user holding the role, and an admin (auth.adminRole) whatever its roles', () => {
      expect(outcome(contextOf(identity('u1', ['admin']), target('announce')))).toBe('ok');
      expect(outcome(contextOf(identity('u2', ['superuser'], true), target('announce')))).toBe('ok');
      expect(outcome(contextOf(identity('u3', ['reviewer']), target('publish')))).toBe('ok');
    });

    it('refuses a user lacking the role with PERMISSION_DENIED naming it', () => {
      const refused = outcome(contextOf(identity('u1', ['staff']), target('announce')));
      expect(refused).toMatchObject({
        code: RealtimeErrorCode.PERMISSION_DENIED,
        message: 'Requires the role "admin"',
        ends: false,
      });
      // A socket keeps the details; HTTP has them in the 403 body.
      if (transport === 'HTTP') expect(refused).toMatchObject({ status: 403 });
      else expect(refused).toMatchObject({ details: { required_roles: ['admin'] } });
      expect(outcome(contextOf(identity('u1', ['staff']), target('publish')))).toMatchObject({
        message: 'Requires one of the roles "editor", "reviewer"',
      });
    });

    it('reads the class’s @RealtimeRoles where the handler has none, and lets everyone through without any', () => {
      expect(outcome(contextOf(identity('u1', ['staff']), target('listDrafts')))).toBe('ok');
      expect(outcome(contextOf(identity('u2'), target('listDrafts')))).toMatchObject({
        message: 'Requires the role "staff"',
      });
      const open: Target = { cls: OpenHandlers, handler: OpenHandlers.prototype.ping };
      expect(outcome(contextOf(identity('u2'), open))).toBe('ok');
    });

    it('refuses a caller without an identity with AUTH_FAILED', () => {
      expect(outcome(contextOf(null, target('announce')))).toMatchObject({
        code: RealtimeErrorCode.AUTH_FAILED,
        message: 'Not authenticated',
        ends: false,
      });
    });
  });

  it('keeps the 403 body in the library’s shape on HTTP', () => {
    try {
      guard.canActivate(httpContext({ [REQUEST_IDENTITY]: identity('u1') }, target('announce')));
      throw new Error('not refused');
    } catch (error) {
      expect(error).not.toBeInstanceOf(RealtimeError);
      expect((error as HttpException).getResponse()).toEqual({
        statusCode: 403,
        code: 'PERMISSION_DENIED',
        message: 'Requires the role "admin"',
        details: { required_roles: ['admin'] },
      });
    }
  });

  it('@RealtimeRoles() refuses an empty role name at decoration time', () => {
    expect(() => RealtimeRoles('')).toThrow('@RealtimeRoles(): a role is a non-empty string (got "")');
  });
});
