// @RealtimeRoles(...roles): the roles a handler (or every handler of a class) requires;
// RealtimeRolesGuard checks them.
import { Reflector } from '@nestjs/core';

/** The metadata itself; RealtimeRolesGuard reads it with `reflector.getAllAndOverride(RealtimeRolesMetadata, …)`. */
export const RealtimeRolesMetadata = Reflector.createDecorator<readonly string[]>();

/**
 * Requires one of these roles (the roles claim of the token) or an admin (`auth.adminRole`), checked
 * by RealtimeRolesGuard. On a handler it replaces the class's.
 */
export function RealtimeRoles(...roles: [string, ...string[]]): ClassDecorator & MethodDecorator {
  for (const role of roles) {
    if (typeof role !== 'string' || role === '') {
      throw new TypeError(`@RealtimeRoles(): a role is a non-empty string (got ${JSON.stringify(role)})`);
    }
  }
  return RealtimeRolesMetadata(roles);
}
