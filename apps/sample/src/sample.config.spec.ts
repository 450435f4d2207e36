// The sample's environment: defaults, parsed values, and refusals that name the variable.
import { Logger } from '@nestjs/common';
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
    expect(options.limits).toBeUndefined();
  });

  it('reads STREAM_PORT=off, STREAM_PERSIST=false and the rate limits', () => {
    const config = loadSampleConfig({
      ...base,
      STREAM_PORT: 'off',
      STREAM_PERSIST: 'false',
      RATE_LIMIT_PER_MINUTE: '600',
      RATE_LIMIT_PER_HOUR: '36000',
    });
    const options = realtimeOptionsFor(config);
    expect(options.stream).toMatchObject({ port: null, persist: false });
    expect(options.limits).toEqual({ rateLimit: { perMinute: 600, perHour: 36000 } });
  });

  it.each([
    ['PORT', '70000', 'PORT must be 0-65535'],
    ['STREAM_PORT', 'abc', 'STREAM_PORT must be 0-65535 or "off"'],
    ['JWT_EXPIRES_IN_SEC', '0', 'JWT_EXPIRES_IN_SEC must be a positive integer'],
    ['RATE_LIMIT_PER_MINUTE', '-5', 'RATE_LIMIT_PER_MINUTE must be a positive integer (got -5)'],
    ['RATE_LIMIT_PER_HOUR', '1.5', 'RATE_LIMIT_PER_HOUR must be a positive integer (got 1.5)'],
  ])('refuses %s=%s', (name, value, message) => {
    expect(() => loadSampleConfig({ ...base, [name]: value })).toThrow(message);
  });
});
