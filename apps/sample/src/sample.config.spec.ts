// The sample's environment: defaults, parsed values, and refusals that name the variable.
import { Logger } from '@nestjs/common';
import { hostname } from 'os';
import { realtimeOptionsFor } from './app.module';
import { loadSampleConfig } from './sample.config';

describe('loadSampleConfig', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  const base = { JWT_SECRET: 'a-sample-secret-of-32-characters' };

  it('serves the stream on 3001 with a persisted backlog and the library rate limits by default', () => {
    const config = loadSampleConfig(base);
    expect(config).toMatchObject({ port: 3000, streamPort: 3001, persistLogs: true });
    const options = realtimeOptionsFor(config);
    expect(options.stream).toMatchObject({ port: 3001, persist: true });
    // The library's own default interval (5000 ms) applies.
    expect(options.stream).not.toHaveProperty('metricsIntervalMs');
    expect(options.limits).toBeUndefined();
  });

  it('reads STREAM_PORT=off, STREAM_PERSIST=false, STREAM_METRICS_INTERVAL_MS and the rate limits', () => {
    const config = loadSampleConfig({
      ...base,
      STREAM_PORT: 'off',
      STREAM_PERSIST: 'false',
      STREAM_METRICS_INTERVAL_MS: '500',
      RATE_LIMIT_PER_MINUTE: '600',
      RATE_LIMIT_PER_HOUR: '36000',
    });
    const options = realtimeOptionsFor(config);
    expect(options.stream).toMatchObject({ port: null, persist: false, metricsIntervalMs: 500 });
    expect(options.limits).toEqual({ rateLimit: { perMinute: 600, perHour: 36000 } });
  });

  it('believes the forwarded address of the TRUSTED_PROXIES only, a comma-separated list', () => {
    expect(realtimeOptionsFor(loadSampleConfig(base)).trustedProxies).toBeUndefined();
    const config = loadSampleConfig({ ...base, TRUSTED_PROXIES: 'loopback, 10.0.0.0/8' });
    expect(realtimeOptionsFor(config).trustedProxies).toEqual(['loopback', '10.0.0.0/8']);
  });

  it('is a single node without REDIS_URL, named after the host', () => {
    const config = loadSampleConfig(base);
    expect(config.redis).toBeUndefined();
    expect(config.nodeName).toBe(hostname());
    expect(config.host).toBeUndefined();
    expect(realtimeOptionsFor(config).redis).toBeUndefined();
  });

  it('joins a deployment of several nodes with REDIS_URL and the other REDIS_* variables', () => {
    const config = loadSampleConfig({
      ...base,
      HOST: '127.0.0.1',
      NODE_NAME: 'node-2',
      REDIS_URL: 'redis://redis:6379/0',
      REDIS_KEY_PREFIX: 'chat-prod',
      REDIS_NODE_EXPIRY_MS: '3000',
      REDIS_SOCKET_IO_ADAPTER: 'pubsub',
    });
    expect(config).toMatchObject({ host: '127.0.0.1', nodeName: 'node-2' });
    expect(realtimeOptionsFor(config).redis).toEqual({
      url: 'redis://redis:6379/0',
      keyPrefix: 'chat-prod',
      nodeExpiryMs: 3000,
      socketIoAdapter: 'pubsub',
    });
  });

  it('leaves the unset REDIS_* options to the library defaults', () => {
    const config = loadSampleConfig({ ...base, REDIS_URL: 'rediss://cache.internal:6380' });
    expect(realtimeOptionsFor(config).redis).toEqual({ url: 'rediss://cache.internal:6380' });
  });

  it.each([
    ['PORT', '70000', 'PORT must be 0-65535'],
    ['STREAM_PORT', 'abc', 'STREAM_PORT must be 0-65535 or "off"'],
    [
      'STREAM_METRICS_INTERVAL_MS',
      'fast',
      'STREAM_METRICS_INTERVAL_MS must be a positive integer (got fast)',
    ],
    ['STREAM_METRICS_INTERVAL_MS', '50', 'STREAM_METRICS_INTERVAL_MS must be at least 100 (got 50)'],
    ['JWT_EXPIRES_IN_SEC', '0', 'JWT_EXPIRES_IN_SEC must be a positive integer'],
    ['RATE_LIMIT_PER_MINUTE', '-5', 'RATE_LIMIT_PER_MINUTE must be a positive integer (got -5)'],
    ['RATE_LIMIT_PER_HOUR', '1.5', 'RATE_LIMIT_PER_HOUR must be a positive integer (got 1.5)'],
    ['NODE_NAME', 'node 1', 'NODE_NAME must be 1-64 letters, digits, _ . or - (got node 1)'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL must be a redis:// or rediss:// URL (got localhost:6379)'],
  ])('refuses %s=%s', (name, value, message) => {
    expect(() => loadSampleConfig({ ...base, [name]: value })).toThrow(message);
  });

  it.each([
    [
      'REDIS_KEY_PREFIX',
      'has space',
      'REDIS_KEY_PREFIX must be 1-32 letters, digits, _ . : or - (got has space)',
    ],
    ['REDIS_NODE_EXPIRY_MS', '500', 'REDIS_NODE_EXPIRY_MS must be at least 1000 (got 500)'],
    ['REDIS_NODE_EXPIRY_MS', 'soon', 'REDIS_NODE_EXPIRY_MS must be a positive integer (got soon)'],
    [
      'REDIS_SOCKET_IO_ADAPTER',
      'cluster',
      'REDIS_SOCKET_IO_ADAPTER must be "streams" or "pubsub" (got cluster)',
    ],
  ])('refuses %s=%s with REDIS_URL', (name, value, message) => {
    expect(() => loadSampleConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379', [name]: value })).toThrow(
      message,
    );
  });

  it.each(['REDIS_KEY_PREFIX', 'REDIS_NODE_EXPIRY_MS', 'REDIS_SOCKET_IO_ADAPTER'])(
    'refuses %s without REDIS_URL, which it would silently not use',
    (name) => {
      expect(() => loadSampleConfig({ ...base, [name]: 'rt' })).toThrow(
        `${name} needs REDIS_URL (Redis is used only when REDIS_URL is set)`,
      );
    },
  );
});
