import { withoutToken } from './realtime-io-server';

describe('withoutToken (the Socket.IO handshake auth kept on the socket)', () => {
  it('drops the token and keeps every other field', () => {
    const auth = { token: 'secret', page: 'home', locale: 'fr' };
    const kept = withoutToken(auth);
    expect(kept).toEqual({ page: 'home', locale: 'fr' });
    expect(Object.keys(kept)).toEqual(['page', 'locale']);
    // The client's object is left as it was.
    expect(auth.token).toBe('secret');
  });

  it('gives one shared empty object when the token was the only field', () => {
    const kept = withoutToken({ token: 'secret' });
    expect(kept).toEqual({});
    expect(Object.isFrozen(kept)).toBe(true);
    expect(withoutToken({ token: 'other' })).toBe(kept);
  });

  it('returns an auth without a token as it is', () => {
    const auth = { page: 'home' };
    expect(withoutToken(auth)).toBe(auth);
  });

  it('keeps a "__proto__" field of the client as a plain field, not as the prototype', () => {
    const auth = JSON.parse('{"token":"secret","__proto__":{"isAdmin":true}}') as Record<string, unknown>;
    const kept = withoutToken(auth);
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
    expect((kept as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(kept, '__proto__')?.value).toEqual({ isAdmin: true });
  });
});
