// The sample app's configuration, read from the environment in one place (the library never reads env).
import { Logger } from '@nestjs/common';
import { hostname } from 'os';
import { join } from 'path';

export interface SampleConfig {
  /** HTTP port; 0 picks a free one (tests). */
  port: number;
  /** Interface to listen on; unset listens on all of them. */
  host?: string;
  /** This node's name, shown by GET /health, so that one can tell which node answered. @default the host name */
  nodeName?: string;
  /** Folder of the SQLite files. */
  dataDir: string;
  /** PostgreSQL URL; when set, both the library and the sample use PostgreSQL instead of SQLite. */
  databaseUrl: string | null;
  jwtSecret: string;
  /** Token lifetime in seconds. */
  jwtExpiresInSec: number;
  /** Usernames that get the admin role at login (besides "admin"). */
  adminUsers: string[];
  /** Own port of the log stream (served at '/'); null serves it only at /ws/logs. */
  streamPort: number | null;
  /** Keep each app's log buffer in the database, so the stream's backlog survives a restart. @default true */
  persistLogs?: boolean;
  /** Interval of the stream's `metrics` frames (`stream.metricsIntervalMs`); unset keeps the library's 5000. */
  metricsIntervalMs?: number;
  /** Messages per user per minute / hour; unset keeps the library's defaults (10 / 100). */
  rateLimit?: { perMinute?: number; perHour?: number };
  /** When set, main.ts streams the sample's own Nest logs to the log stream under this appId. */
  logStreamAppId?: string;
  /** Announcements an admin may make per minute (the announcements gateways' own rate limit). @default 5 */
  announcementsPerMinute?: number;
  /** Redis of a deployment of several nodes (the library's `redis` option); unset: a single node. */
  redis?: SampleRedisConfig;
  /** The balancers whose X-Forwarded-For is believed (the library's `trustedProxies`); unset: none. */
  trustedProxies?: string[];
}

/** The library's `redis` options the sample reads from the environment (unset ones keep its defaults). */
export interface SampleRedisConfig {
  url: string;
  keyPrefix?: string;
  nodeExpiryMs?: number;
  socketIoAdapter?: 'streams' | 'pubsub';
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
  // STREAM_PORT: default 3001, the log stream protocol's port; "off" (or empty) serves the stream only at /ws/logs.
  const rawStreamPort = env.STREAM_PORT ?? '3001';
  const streamPort = rawStreamPort === '' || rawStreamPort === 'off' ? null : Number(rawStreamPort);
  if (streamPort !== null && (!Number.isInteger(streamPort) || streamPort < 0 || streamPort > 65535)) {
    throw new Error(`STREAM_PORT must be 0-65535 or "off" (got ${env.STREAM_PORT})`);
  }
  const expires = Number(env.JWT_EXPIRES_IN_SEC ?? 3600);
  if (!Number.isInteger(expires) || expires <= 0) {
    throw new Error(`JWT_EXPIRES_IN_SEC must be a positive integer (got ${env.JWT_EXPIRES_IN_SEC})`);
  }
  const metricsIntervalMs = optionalPositiveInt(env, 'STREAM_METRICS_INTERVAL_MS');
  // A floor, so that a typo cannot make every stream client receive hundreds of frames a second.
  if (metricsIntervalMs !== undefined && metricsIntervalMs < 100) {
    throw new Error(`STREAM_METRICS_INTERVAL_MS must be at least 100 (got ${metricsIntervalMs})`);
  }
  const rateLimit = {
    perMinute: optionalPositiveInt(env, 'RATE_LIMIT_PER_MINUTE'),
    perHour: optionalPositiveInt(env, 'RATE_LIMIT_PER_HOUR'),
  };
  if (env.NODE_NAME && !/^[A-Za-z0-9_.-]{1,64}$/.test(env.NODE_NAME)) {
    throw new Error(`NODE_NAME must be 1-64 letters, digits, _ . or - (got ${env.NODE_NAME})`);
  }
  return {
    port,
    host: env.HOST || undefined,
    nodeName: env.NODE_NAME || hostname(),
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
    metricsIntervalMs,
    logStreamAppId: env.LOG_STREAM_APP_ID || undefined,
    rateLimit,
    announcementsPerMinute:
      optionalPositiveInt(env, 'ANNOUNCEMENTS_PER_MINUTE') ?? DEFAULT_ANNOUNCEMENTS_PER_MINUTE,
    redis: loadRedisConfig(env),
    trustedProxies: listOrUndefined(env.TRUSTED_PROXIES),
  };
}

/** A comma-separated list; unset or empty: undefined. */
function listOrUndefined(raw: string | undefined): string[] | undefined {
  const items = (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length > 0 ? items : undefined;
}

/** REDIS_URL turns on the deployment of several nodes; the other REDIS_* refine it and need it. */
function loadRedisConfig(env: NodeJS.ProcessEnv): SampleRedisConfig | undefined {
  const url = env.REDIS_URL || undefined;
  if (url === undefined) {
    const orphan = ['REDIS_KEY_PREFIX', 'REDIS_NODE_EXPIRY_MS', 'REDIS_SOCKET_IO_ADAPTER'].find(
      (name) => env[name],
    );
    if (orphan) throw new Error(`${orphan} needs REDIS_URL (Redis is used only when REDIS_URL is set)`);
    return undefined;
  }
  if (!/^rediss?:\/\/[^/\s]+/.test(url)) {
    throw new Error(`REDIS_URL must be a redis:// or rediss:// URL (got ${url})`);
  }
  const keyPrefix = env.REDIS_KEY_PREFIX || undefined;
  if (keyPrefix !== undefined && !/^[A-Za-z0-9_.:-]{1,32}$/.test(keyPrefix)) {
    throw new Error(`REDIS_KEY_PREFIX must be 1-32 letters, digits, _ . : or - (got ${keyPrefix})`);
  }
  const nodeExpiryMs = optionalPositiveInt(env, 'REDIS_NODE_EXPIRY_MS');
  if (nodeExpiryMs !== undefined && nodeExpiryMs < 1000) {
    throw new Error(`REDIS_NODE_EXPIRY_MS must be at least 1000 (got ${nodeExpiryMs})`);
  }
  const socketIoAdapter = env.REDIS_SOCKET_IO_ADAPTER || undefined;
  if (socketIoAdapter !== undefined && socketIoAdapter !== 'streams' && socketIoAdapter !== 'pubsub') {
    throw new Error(`REDIS_SOCKET_IO_ADAPTER must be "streams" or "pubsub" (got ${socketIoAdapter})`);
  }
  return { url, keyPrefix, nodeExpiryMs, socketIoAdapter };
}

function optionalPositiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer (got ${raw})`);
  return value;
}
