// The sample app's configuration, read from the environment in one place (the library never reads env).
import { Logger } from '@nestjs/common';
import { join } from 'path';

export interface SampleConfig {
  /** HTTP port; 0 picks a free one (tests). */
  port: number;
  /** Folder of the SQLite files. */
  dataDir: string;
  /** PostgreSQL URL; when set, both the library and the sample use PostgreSQL instead of SQLite. */
  databaseUrl: string | null;
  jwtSecret: string;
  /** Token lifetime in seconds. */
  jwtExpiresInSec: number;
  /** Usernames that get the admin role at login (besides "admin"). */
  adminUsers: string[];
  /** Own port of the seed 004 log stream (served at '/'); null serves it only at /ws/logs. */
  streamPort: number | null;
  /** Keep each app's log buffer in the database, so the stream's backlog survives a restart. @default true */
  persistLogs?: boolean;
  /** Messages per user per minute / hour; unset keeps the library's defaults (10 / 100, seed 003). */
  rateLimit?: { perMinute?: number; perHour?: number };
  /** When set, main.ts streams the sample's own Nest logs to the log stream under this appId. */
  logStreamAppId?: string;
  /** Announcements an admin may make per minute (the announcements gateways' own rate limit). @default 5 */
  announcementsPerMinute?: number;
}

export const DEFAULT_ANNOUNCEMENTS_PER_MINUTE = 5;

export const DEVELOPMENT_SECRET = 'development-secret-change-me-0123456789';

export function loadSampleConfig(env: NodeJS.ProcessEnv = process.env): SampleConfig {
  const jwtSecret = env.JWT_SECRET ?? DEVELOPMENT_SECRET;
  if (!env.JWT_SECRET) {
    new Logger('SampleConfig').warn(
      '*** JWT_SECRET is not set: using a well-known DEVELOPMENT secret. Anyone can forge tokens. ' +
        'Set JWT_SECRET (16+ characters) before exposing this server. ***',
    );
  }
  new Logger('SampleConfig').warn(
    'POST /auth/login is a development login without password: anyone can obtain any token, admin included.',
  );
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be 0-65535 (got ${env.PORT})`);
  // STREAM_PORT: default 3001 as in seed 004; "off" (or empty) serves the stream only at /ws/logs.
  const rawStreamPort = env.STREAM_PORT ?? '3001';
  const streamPort = rawStreamPort === '' || rawStreamPort === 'off' ? null : Number(rawStreamPort);
  if (streamPort !== null && (!Number.isInteger(streamPort) || streamPort < 0 || streamPort > 65535)) {
    throw new Error(`STREAM_PORT must be 0-65535 or "off" (got ${env.STREAM_PORT})`);
  }
  const expires = Number(env.JWT_EXPIRES_IN_SEC ?? 3600);
  if (!Number.isInteger(expires) || expires <= 0) {
    throw new Error(`JWT_EXPIRES_IN_SEC must be a positive integer (got ${env.JWT_EXPIRES_IN_SEC})`);
  }
  const rateLimit = {
    perMinute: optionalPositiveInt(env, 'RATE_LIMIT_PER_MINUTE'),
    perHour: optionalPositiveInt(env, 'RATE_LIMIT_PER_HOUR'),
  };
  return {
    port,
    dataDir: env.DATA_DIR ?? join(process.cwd(), 'data'),
    databaseUrl: env.DATABASE_URL ?? null,
    jwtSecret,
    jwtExpiresInSec: expires,
    adminUsers: (env.ADMIN_USERS ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
    streamPort,
    persistLogs: !['false', '0', 'off'].includes((env.STREAM_PERSIST ?? 'true').toLowerCase()),
    logStreamAppId: env.LOG_STREAM_APP_ID || undefined,
    rateLimit,
    announcementsPerMinute:
      optionalPositiveInt(env, 'ANNOUNCEMENTS_PER_MINUTE') ?? DEFAULT_ANNOUNCEMENTS_PER_MINUTE,
  };
}

function optionalPositiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer (got ${raw})`);
  return value;
}
