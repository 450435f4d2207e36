// Injection tokens and fixed names of the library.

/** Resolved options (defaults merged, validated): inject with @Inject(REALTIME_OPTIONS). */
export const REALTIME_OPTIONS = Symbol('REALTIME_OPTIONS');
/** Name of the TypeORM connection owned by the library. */
export const REALTIME_CONNECTION = 'realtime';
/** Socket.IO rooms derived from the identity; every socket joins them at connection. */
export const ROOM_PREFIX = {
  user: 'rt:user:',
  page: 'rt:page:',
  admins: 'rt:admins',
  /** Chat rooms on Socket.IO. */
  room: 'rt:room:',
} as const;
/** Names of the gateways this module mounts (from the `gateways` extra), for the boot-time checks. */
export const MOUNTED_GATEWAYS = Symbol('REALTIME_MOUNTED_GATEWAYS');
