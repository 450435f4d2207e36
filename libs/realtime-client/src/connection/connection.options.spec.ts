// Options: defaults merged once, invalid values named, URLs turned into WebSocket URLs.
import { DEFAULT_RECONNECTION, resolveConnectionOptions, toWebSocketUrl } from './connection.options';

describe('resolveConnectionOptions', () => {
  it('merges the seed 002 reconnection defaults with what is given', () => {
    const resolved = resolveConnectionOptions({
      url: 'http://localhost:3000/',
      token: 't',
      reconnection: { maxReconnectAttempts: 3 },
    });
    expect(resolved.url).toBe('http://localhost:3000');
    expect(resolved.reconnection).toEqual({ ...DEFAULT_RECONNECTION, maxReconnectAttempts: 3 });
    expect(DEFAULT_RECONNECTION).toEqual({
      autoReconnect: true,
      maxReconnectAttempts: 15,
      reconnectDelay: 1000,
      maxReconnectDelay: 15000,
      jitter: 0.5,
      syncOnReconnect: true,
    });
    expect(resolved.maxQueueSize).toBe(100);
    expect(resolved.retryFirstConnection).toBe(true);
  });

  it('keeps retryFirstConnection false when asked (a refused first connection fails at once)', () => {
    const resolved = resolveConnectionOptions({ url: 'http://h', token: 't', retryFirstConnection: false });
    expect(resolved.retryFirstConnection).toBe(false);
  });

  it('requires a token or a token provider', () => {
    expect(() => resolveConnectionOptions({ url: 'http://h' })).toThrow(/token/);
    expect(() => resolveConnectionOptions({ url: 'http://h', tokenProvider: () => 't' })).not.toThrow();
  });

  it('names the invalid option', () => {
    expect(() =>
      resolveConnectionOptions({ url: 'http://h', token: 't', reconnection: { reconnectDelay: -1 } }),
    ).toThrow('invalid option "reconnection.reconnectDelay": must be >= 0 (got -1)');
    expect(() => resolveConnectionOptions({ url: 'http://h', token: 't', maxQueueSize: Number.NaN })).toThrow(
      /maxQueueSize/,
    );
  });

  it('refreshes tokens at 80 % of their lifetime by default; takes a share in (0, 1) or false', () => {
    expect(resolveConnectionOptions({ url: 'http://h', token: 't' }).tokenRefresh).toBe(0.8);
    expect(resolveConnectionOptions({ url: 'http://h', token: 't', tokenRefresh: 0.5 }).tokenRefresh).toBe(
      0.5,
    );
    expect(resolveConnectionOptions({ url: 'http://h', token: 't', tokenRefresh: false }).tokenRefresh).toBe(
      false,
    );
    for (const share of [0, 1, 1.5, -0.2, Number.NaN]) {
      expect(() => resolveConnectionOptions({ url: 'http://h', token: 't', tokenRefresh: share })).toThrow(
        `invalid option "tokenRefresh": must be above 0 and below 1, or false (got ${share})`,
      );
    }
  });

  it('accepts Infinity as an attempt budget (never give up)', () => {
    const resolved = resolveConnectionOptions({
      url: 'http://h',
      token: 't',
      reconnection: { maxReconnectAttempts: Infinity },
    });
    expect(resolved.reconnection.maxReconnectAttempts).toBe(Infinity);
  });
});

describe('toWebSocketUrl', () => {
  it.each([
    ['http://127.0.0.1:3000', 'ws://127.0.0.1:3000'],
    ['https://chat.example', 'wss://chat.example'],
    ['ws://127.0.0.1:1', 'ws://127.0.0.1:1'],
    ['wss://x', 'wss://x'],
  ])('%s → %s', (input, output) => {
    expect(toWebSocketUrl(input)).toBe(output);
  });
});
