// resolveRealtimeOptions: the defaults merged once, and every invalid option refused at boot with a
// RealtimeOptionsError that names the option.
import { generateKeyPairSync } from 'crypto';
import {
  type RealtimeDatabaseOptions,
  type RealtimeModuleOptions,
  RealtimeOptionsError,
  resolveRealtimeOptions,
} from './realtime.options';

const SECRET = 'a-test-secret-of-32-characters!!';
const { publicKey: PUBLIC_KEY } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

/** Runs the resolver and returns the RealtimeOptionsError it must throw. */
function refusal(options: RealtimeModuleOptions | undefined): RealtimeOptionsError {
  try {
    resolveRealtimeOptions(options);
  } catch (error) {
    if (error instanceof RealtimeOptionsError) return error;
    throw error;
  }
  throw new Error('resolveRealtimeOptions accepted invalid options');
}

describe('resolveRealtimeOptions', () => {
  describe('defaults', () => {
    const resolved = resolveRealtimeOptions({ auth: { secret: SECRET } });

    it('mounts the three endpoints on their documented paths', () => {
      expect(resolved.paths).toEqual({ socketIo: '/socket.io', rooms: '/ws/chat', logs: '/ws/logs' });
    });

    it('limits messages to 10 per minute and 100 per hour', () => {
      expect(resolved.limits.rateLimit).toEqual({ perMinute: 10, perHour: 100 });
    });

    it('limits message length to 4096 characters and payloads to 1 MiB', () => {
      expect(resolved.limits.maxMessageLength).toBe(4096);
      expect(resolved.limits.maxPayloadBytes).toBe(1024 * 1024);
    });

    it('fills the remaining limits', () => {
      expect(resolved.limits).toMatchObject({
        maxConnections: 10_000,
        maxConnectionsPerUser: 20,
        heartbeatIntervalMs: 30_000,
        heartbeatTimeoutMs: 20_000,
        idleTimeoutMs: 0,
        maxHistoryLimit: 100,
        maxBufferedBytes: 8 * 1024 * 1024,
        maxConnectionsPerIp: 1000,
        maxHandshakesPerSecondPerIp: 100,
        shutdownGraceMs: 10_000,
      });
    });

    it('keeps every message and believes no forwarded header', () => {
      expect(resolved.rooms.retention).toEqual({
        maxAgeMs: 0,
        maxMessagesPerConversation: 0,
        intervalMs: 60_000,
      });
      expect(resolved.trustedProxies).toBeNull();
    });

    it('stores data in an embedded SQLite file', () => {
      expect(resolved.database).toEqual({
        type: 'sqlite',
        path: 'data/realtime.sqlite',
        checkpointIntervalMs: 1000,
      });
    });

    it('gives a sqlite database without path the default file', () => {
      const sqlite = resolveRealtimeOptions({ auth: { secret: SECRET }, database: { type: 'sqlite' } });
      expect(sqlite.database).toEqual({
        type: 'sqlite',
        path: 'data/realtime.sqlite',
        checkpointIntervalMs: 1000,
      });
    });

    it('pins HS256 for a secret and maps the default claims', () => {
      expect(resolved.auth).toEqual({
        secret: SECRET,
        publicKey: undefined,
        algorithms: ['HS256'],
        issuer: undefined,
        audience: undefined,
        clockToleranceSec: 0,
        requireExpiry: true,
        verifiedTokenCache: 1000,
        claims: { userId: 'sub', username: 'username', roles: 'roles', appId: 'appId' },
        adminRole: 'admin',
      });
    });

    it('fills the events options', () => {
      expect(resolved.events).toEqual({
        modulesPage: 'modules',
        stateCacheSize: 10_000,
        statsThrottleMs: 1000,
      });
    });

    it('pins RS256 for a public key', () => {
      const withKey = resolveRealtimeOptions({ auth: { publicKey: PUBLIC_KEY } });
      expect(withKey.auth.algorithms).toEqual(['RS256']);
      expect(withKey.auth.secret).toBeUndefined();
      expect(withKey.auth.publicKey).toBe(PUBLIC_KEY);
    });

    it('fills the postgres schema, pool size and timeouts', () => {
      const pg = resolveRealtimeOptions({
        auth: { secret: SECRET },
        database: { type: 'postgres', url: 'postgres://u:p@localhost:5432/db' },
      });
      expect(pg.database).toEqual({
        type: 'postgres',
        url: 'postgres://u:p@localhost:5432/db',
        schema: 'public',
        poolSize: 10,
        connectTimeoutMs: 5000,
        queryTimeoutMs: 10_000,
      });
    });
  });

  describe('given values', () => {
    it('keeps the values given instead of the defaults', () => {
      const resolved = resolveRealtimeOptions({
        auth: {
          secret: SECRET,
          algorithms: ['HS512'],
          issuer: 'iss',
          audience: ['a', 'b'],
          adminRole: 'root',
        },
        paths: { rooms: '/rooms', logs: '/logs' },
        limits: { rateLimit: { perMinute: 5, perHour: 5 }, maxMessageLength: 10, idleTimeoutMs: 0 },
        database: { type: 'sqlite', path: ':memory:', checkpointIntervalMs: 250 },
        events: { statsThrottleMs: 0 },
      });
      expect(resolved.auth).toMatchObject({
        algorithms: ['HS512'],
        issuer: 'iss',
        audience: ['a', 'b'],
        adminRole: 'root',
      });
      expect(resolved.paths).toEqual({ socketIo: '/socket.io', rooms: '/rooms', logs: '/logs' });
      expect(resolved.limits.rateLimit).toEqual({ perMinute: 5, perHour: 5 });
      expect(resolved.limits.maxMessageLength).toBe(10);
      expect(resolved.limits.idleTimeoutMs).toBe(0);
      expect(resolved.database).toEqual({ type: 'sqlite', path: ':memory:', checkpointIntervalMs: 250 });
      expect(resolved.events.statsThrottleMs).toBe(0);
    });

    it('drops a trailing slash from a path', () => {
      const resolved = resolveRealtimeOptions({ auth: { secret: SECRET }, paths: { rooms: '/ws/rooms/' } });
      expect(resolved.paths.rooms).toBe('/ws/rooms');
    });

    it('keeps the root path as it is', () => {
      const resolved = resolveRealtimeOptions({ auth: { secret: SECRET }, paths: { rooms: '/' } });
      expect(resolved.paths.rooms).toBe('/');
    });

    it('normalises a path made only of slashes to the root, never to an empty path', () => {
      // '//' passes the absolute-path check, then trailing-slash trimming must not leave ''.
      const resolved = resolveRealtimeOptions({ auth: { secret: SECRET }, paths: { rooms: '//' } });
      expect(resolved.paths.rooms).toBe('/');
    });

    it('accepts postgresql:// URLs', () => {
      const resolved = resolveRealtimeOptions({
        auth: { secret: SECRET },
        database: {
          type: 'postgres',
          url: 'postgresql://localhost/db',
          schema: 'rt',
          poolSize: 3,
          queryTimeoutMs: 2500,
        },
      });
      expect(resolved.database).toEqual({
        type: 'postgres',
        url: 'postgresql://localhost/db',
        schema: 'rt',
        poolSize: 3,
        connectTimeoutMs: 5000,
        queryTimeoutMs: 2500,
      });
    });
  });

  describe('refusals', () => {
    it('refuses missing options', () => {
      const error = refusal(undefined);
      expect(error.option).toBe('auth');
      expect(error.message).toContain('"auth"');
      expect(error.name).toBe('RealtimeOptionsError');
    });

    it('refuses missing auth', () => {
      const error = refusal({} as unknown as RealtimeModuleOptions);
      expect(error.option).toBe('auth');
      expect(error.message).toBe('RealtimeModule: invalid option "auth": is required');
    });

    it('refuses auth with neither secret nor public key', () => {
      const error = refusal({ auth: {} });
      expect(error.option).toBe('auth.secret');
      expect(error.message).toContain('exactly one of auth.secret and auth.publicKey');
    });

    it('refuses auth with both secret and public key', () => {
      const error = refusal({ auth: { secret: SECRET, publicKey: PUBLIC_KEY } });
      expect(error.option).toBe('auth.secret');
      expect(error.message).toContain('exactly one of auth.secret and auth.publicKey');
    });

    it('refuses an empty public key', () => {
      const error = refusal({ auth: { publicKey: '' } });
      expect(error.option).toBe('auth.publicKey');
    });

    it('refuses a secret shorter than 16 characters', () => {
      const error = refusal({ auth: { secret: 'fifteen-chars!!' } });
      expect(error.option).toBe('auth.secret');
      expect(error.message).toContain('at least 16 characters');
    });

    it('accepts a secret of exactly 16 characters', () => {
      expect(resolveRealtimeOptions({ auth: { secret: 'sixteen-chars!!!' } }).auth.secret).toBe(
        'sixteen-chars!!!',
      );
    });

    it('refuses an empty algorithm list', () => {
      const error = refusal({ auth: { secret: SECRET, algorithms: [] } });
      expect(error.option).toBe('auth.algorithms');
      expect(error.message).toContain('non-empty array');
    });

    it.each([
      ['none with a secret', { secret: SECRET, algorithms: ['none'] }, 'none'],
      ['none with a public key', { publicKey: PUBLIC_KEY, algorithms: ['none'] }, 'none'],
      ['RS256 with a secret', { secret: SECRET, algorithms: ['RS256'] }, 'RS256'],
      ['ES256 with a secret', { secret: SECRET, algorithms: ['HS256', 'ES256'] }, 'ES256'],
      ['HS256 with a public key', { publicKey: PUBLIC_KEY, algorithms: ['HS256'] }, 'HS256'],
      [
        'HS512 beside RS256 with a public key',
        { publicKey: PUBLIC_KEY, algorithms: ['RS256', 'HS512'] },
        'HS512',
      ],
    ] satisfies [string, { secret?: string; publicKey?: string; algorithms: string[] }, string][])(
      'refuses %s',
      (_label, auth, algorithm) => {
        // 'none' is outside the typed algorithms: a host without types (or with a cast) may still pass it.
        const error = refusal({ auth: auth as RealtimeModuleOptions['auth'] });
        expect(error.option).toBe('auth.algorithms');
        expect(error.message).toContain(`"${algorithm}" does not fit`);
      },
    );

    it('accepts every asymmetric family with a public key', () => {
      const resolved = resolveRealtimeOptions({
        auth: { publicKey: PUBLIC_KEY, algorithms: ['RS512', 'ES384', 'PS256'] },
      });
      expect(resolved.auth.algorithms).toEqual(['RS512', 'ES384', 'PS256']);
    });

    it.each([
      ['auth.clockToleranceSec', -1, { auth: { secret: SECRET, clockToleranceSec: -1 } }],
      ['auth.clockToleranceSec', 1.5, { auth: { secret: SECRET, clockToleranceSec: 1.5 } }],
      ['auth.verifiedTokenCache', -1, { auth: { secret: SECRET, verifiedTokenCache: -1 } }],
      ['auth.verifiedTokenCache', 2.5, { auth: { secret: SECRET, verifiedTokenCache: 2.5 } }],
      ['stream.flushIntervalMs', -1, { auth: { secret: SECRET }, stream: { flushIntervalMs: -1 } }],
      ['limits.maxPayloadBytes', 0, { auth: { secret: SECRET }, limits: { maxPayloadBytes: 0 } }],
      ['limits.maxPayloadBytes', -1024, { auth: { secret: SECRET }, limits: { maxPayloadBytes: -1024 } }],
      ['limits.maxConnections', 10.5, { auth: { secret: SECRET }, limits: { maxConnections: 10.5 } }],
      [
        'limits.maxConnectionsPerUser',
        Number.NaN,
        { auth: { secret: SECRET }, limits: { maxConnectionsPerUser: Number.NaN } },
      ],
      [
        'limits.rateLimit.perMinute',
        -10,
        { auth: { secret: SECRET }, limits: { rateLimit: { perMinute: -10 } } },
      ],
      [
        'limits.rateLimit.perHour',
        0.5,
        { auth: { secret: SECRET }, limits: { rateLimit: { perHour: 0.5 } } },
      ],
      ['limits.heartbeatIntervalMs', 0, { auth: { secret: SECRET }, limits: { heartbeatIntervalMs: 0 } }],
      ['limits.heartbeatTimeoutMs', -1, { auth: { secret: SECRET }, limits: { heartbeatTimeoutMs: -1 } }],
      ['limits.idleTimeoutMs', -1, { auth: { secret: SECRET }, limits: { idleTimeoutMs: -1 } }],
      ['limits.maxMessageLength', 0, { auth: { secret: SECRET }, limits: { maxMessageLength: 0 } }],
      ['limits.maxHistoryLimit', 2.5, { auth: { secret: SECRET }, limits: { maxHistoryLimit: 2.5 } }],
      ['limits.maxBufferedBytes', -1, { auth: { secret: SECRET }, limits: { maxBufferedBytes: -1 } }],
      ['limits.maxConnectionsPerIp', 0, { auth: { secret: SECRET }, limits: { maxConnectionsPerIp: 0 } }],
      [
        'limits.maxHandshakesPerSecondPerIp',
        1.5,
        { auth: { secret: SECRET }, limits: { maxHandshakesPerSecondPerIp: 1.5 } },
      ],
      ['limits.shutdownGraceMs', -1, { auth: { secret: SECRET }, limits: { shutdownGraceMs: -1 } }],
      ['rooms.retention.maxAgeMs', -1, { auth: { secret: SECRET }, rooms: { retention: { maxAgeMs: -1 } } }],
      [
        'rooms.retention.maxMessagesPerConversation',
        2.5,
        { auth: { secret: SECRET }, rooms: { retention: { maxMessagesPerConversation: 2.5 } } },
      ],
      [
        'rooms.retention.intervalMs',
        0,
        { auth: { secret: SECRET }, rooms: { retention: { intervalMs: 0 } } },
      ],
      ['events.stateCacheSize', 0, { auth: { secret: SECRET }, events: { stateCacheSize: 0 } }],
      ['events.statsThrottleMs', -5, { auth: { secret: SECRET }, events: { statsThrottleMs: -5 } }],
    ] satisfies [string, number, RealtimeModuleOptions][])('refuses %s = %p', (option, _value, options) => {
      const error = refusal(options);
      expect(error.option).toBe(option);
      expect(error.message).toContain(`"${option}"`);
      expect(error.message).toMatch(/must be a (positive|non-negative) integer/);
    });

    it('refuses a verified-token cache past 100,000 tokens, naming the bound', () => {
      expect(() => resolveRealtimeOptions({ auth: { secret: SECRET, verifiedTokenCache: 100_001 } })).toThrow(
        'invalid option "auth.verifiedTokenCache": must be at most 100000 (got 100001)',
      );
      expect(
        resolveRealtimeOptions({ auth: { secret: SECRET, verifiedTokenCache: 100_000 } }).auth,
      ).toMatchObject({
        verifiedTokenCache: 100_000,
      });
    });

    it('takes a retention of 30 days and 1000 messages per conversation', () => {
      const resolved = resolveRealtimeOptions({
        auth: { secret: SECRET },
        rooms: { retention: { maxAgeMs: 30 * 86_400_000, maxMessagesPerConversation: 1000 } },
      });
      expect(resolved.rooms.retention).toEqual({
        maxAgeMs: 30 * 86_400_000,
        maxMessagesPerConversation: 1000,
        intervalMs: 60_000,
      });
    });

    it.each([
      ['limits.shutdownGraceMs', { limits: { shutdownGraceMs: 2 ** 31 } }],
      ['limits.heartbeatIntervalMs', { limits: { heartbeatIntervalMs: 2 ** 31 } }],
      ['rooms.retention.intervalMs', { rooms: { retention: { intervalMs: 30 * 86_400_000 } } }],
    ] satisfies [string, Partial<RealtimeModuleOptions>][])(
      'refuses %s past what a Node timer waits (it would fire after 1 ms)',
      (option, options) => {
        const error = refusal({ auth: { secret: SECRET }, ...options });
        expect(error.option).toBe(option);
        expect(error.message).toContain('must be at most 2147483647 ms');
      },
    );

    it('takes trusted proxies as addresses, ranges and names', () => {
      const proxies = ['loopback', '10.0.0.0/8', '192.168.1.7', 'fd00::/8'];
      expect(
        resolveRealtimeOptions({ auth: { secret: SECRET }, trustedProxies: proxies }).trustedProxies,
      ).toEqual(proxies);
    });

    it.each([
      ['trustedProxies', []],
      ['trustedProxies', 'loopback'],
      ['trustedProxies[1]', ['loopback', 'not-an-address']],
      ['trustedProxies[0]', ['10.0.0.0/99']],
    ])('refuses %s in trustedProxies = %j', (option, value) => {
      const error = refusal({ auth: { secret: SECRET }, trustedProxies: value as string[] });
      expect(error.option).toBe(option);
      expect(error.message).toContain(`"${option}"`);
    });

    it('keeps the log buffer in memory only unless stream.persist is true', () => {
      expect(resolveRealtimeOptions({ auth: { secret: SECRET } }).stream.persist).toBe(false);
      expect(
        resolveRealtimeOptions({ auth: { secret: SECRET }, stream: { persist: true } }).stream.persist,
      ).toBe(true);
    });

    it('refuses a stream.persist that is not a boolean', () => {
      const error = refusal({
        auth: { secret: SECRET },
        stream: { persist: 'yes' as unknown as boolean },
      });
      expect(error.option).toBe('stream.persist');
      expect(error.message).toContain('must be true or false (got "yes")');
    });

    it('refuses perHour below perMinute', () => {
      const error = refusal({
        auth: { secret: SECRET },
        limits: { rateLimit: { perMinute: 20, perHour: 19 } },
      });
      expect(error.option).toBe('limits.rateLimit.perHour');
      expect(error.message).toContain('at least limits.rateLimit.perMinute');
    });

    it('refuses a default perHour below a given perMinute', () => {
      const error = refusal({ auth: { secret: SECRET }, limits: { rateLimit: { perMinute: 101 } } });
      expect(error.option).toBe('limits.rateLimit.perHour');
    });

    it.each([
      ['paths.rooms', { rooms: 'ws/chat' }],
      ['paths.rooms', { rooms: '' }],
      ['paths.logs', { logs: '/ws/logs?x=1' }],
      ['paths.logs', { logs: '/ws logs' }],
      ['paths.socketIo', { socketIo: 'http://host/socket.io' }],
    ] satisfies [string, RealtimeModuleOptions['paths']][])('refuses a malformed %s: %j', (option, paths) => {
      const error = refusal({ auth: { secret: SECRET }, paths });
      expect(error.option).toBe(option);
      expect(error.message).toContain('must be an absolute URL path');
    });

    it('refuses two endpoints on the same path', () => {
      const error = refusal({ auth: { secret: SECRET }, paths: { rooms: '/ws', logs: '/ws' } });
      expect(error.option).toBe('paths');
      expect(error.message).toContain('paths must differ');
    });

    it('refuses paths that are equal once the trailing slash is dropped', () => {
      const error = refusal({ auth: { secret: SECRET }, paths: { logs: '/ws/chat/' } });
      expect(error.option).toBe('paths');
    });

    it('refuses an unknown database type', () => {
      const database = { type: 'mysql', url: 'mysql://localhost/db' } as unknown as RealtimeDatabaseOptions;
      const error = refusal({ auth: { secret: SECRET }, database });
      expect(error.option).toBe('database.type');
      expect(error.message).toContain('"mysql"');
    });

    it('refuses a checkpoint interval that is not a positive integer', () => {
      const error = refusal({
        auth: { secret: SECRET },
        database: { type: 'sqlite', path: ':memory:', checkpointIntervalMs: 0 },
      });
      expect(error.option).toBe('database.checkpointIntervalMs');
    });

    it('refuses a postgres database with a non-postgres URL', () => {
      const error = refusal({
        auth: { secret: SECRET },
        database: { type: 'postgres', url: 'mysql://localhost/db' },
      });
      expect(error.option).toBe('database.url');
      expect(error.message).toContain('postgres:// or postgresql://');
    });

    it('refuses a postgres database without a URL', () => {
      const database = { type: 'postgres' } as unknown as RealtimeDatabaseOptions;
      const error = refusal({ auth: { secret: SECRET }, database });
      expect(error.option).toBe('database.url');
    });

    it('refuses an invalid postgres pool size', () => {
      const error = refusal({
        auth: { secret: SECRET },
        database: { type: 'postgres', url: 'postgres://localhost/db', poolSize: 0 },
      });
      expect(error.option).toBe('database.poolSize');
    });

    it('refuses an empty sqlite path', () => {
      const error = refusal({ auth: { secret: SECRET }, database: { type: 'sqlite', path: ' ' } });
      expect(error.option).toBe('database.path');
    });

    it.each([
      ['auth.claims.userId', { secret: SECRET, claims: { userId: '' } }],
      ['auth.adminRole', { secret: SECRET, adminRole: '  ' }],
    ] satisfies [string, RealtimeModuleOptions['auth']][])('refuses an empty %s', (option, auth) => {
      const error = refusal({ auth });
      expect(error.option).toBe(option);
      expect(error.message).toContain('non-empty string');
    });
  });
});

describe('resolveRealtimeOptions: redis', () => {
  const withRedis = (redis: Record<string, unknown>) =>
    resolveRealtimeOptions({ auth: { secret: SECRET }, redis } as unknown as RealtimeModuleOptions);

  it('fills the scale-out defaults: node expiry 15 s, the streams adapter', () => {
    expect(withRedis({ url: 'redis://127.0.0.1:6379' }).redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'rt',
      connectTimeoutMs: 5000,
      nodeExpiryMs: 15_000,
      socketIoAdapter: 'streams',
    });
  });

  it.each([
    [{ url: 'http://127.0.0.1:6379' }, 'redis.url'],
    [{ url: 'redis://h', keyPrefix: 'has space' }, 'redis.keyPrefix'],
    [{ url: 'redis://h', nodeExpiryMs: 999 }, 'redis.nodeExpiryMs'],
    [{ url: 'redis://h', nodeExpiryMs: 1.5 }, 'redis.nodeExpiryMs'],
    [{ url: 'redis://h', socketIoAdapter: 'kafka' }, 'redis.socketIoAdapter'],
  ])('refuses %j, naming %s', (redis, option) => {
    expect(() => withRedis(redis)).toThrow(RealtimeOptionsError);
    expect(() => withRedis(redis)).toThrow(option);
  });
});
