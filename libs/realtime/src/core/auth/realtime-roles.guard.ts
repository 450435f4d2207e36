// RealtimeRolesGuard: refuses a caller lacking the roles of @RealtimeRoles(...) with
// PERMISSION_DENIED, on HTTP controllers and on host gateway handlers of both transports.
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { identityInContext } from './connected-user.decorator';
import { notAuthenticated, permissionDenied } from './guard-refusals';
import { RealtimeRolesMetadata } from './realtime-roles.decorator';

/**
 * Lets through a caller holding one of the required roles, or an admin (its roles hold
 * `auth.adminRole`: the identity's `isAdmin`). Without @RealtimeRoles it lets everyone through. On
 * HTTP it reads the identity RealtimeAuthGuard verified, so it comes after it:
 * `@UseGuards(RealtimeAuthGuard, RealtimeRolesGuard)`; on a socket the connection's identity.
 */
@Injectable()
export class RealtimeRolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride(RealtimeRolesMetadata, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required || required.length === 0) return true;
    const identity = identityInContext(context);
    if (!identity) throw notAuthenticated('Not authenticated');
    if (identity.isAdmin || required.some((role) => identity.roles.includes(role))) return true;
    const names = required.map((role) => `"${role}"`).join(', ');
    throw permissionDenied(
      context,
      required.length === 1 ? `Requires the role ${names}` : `Requires one of the roles ${names}`,
      { required_roles: [...required] },
    );
  }
}
