// Reading the user id claim and the expiry of a token, without verification.
import { readTokenClaim, readTokenExpiry } from './token-claims';

const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;

describe('readTokenClaim', () => {
  it('reads string and numeric claims as strings', () => {
    expect(readTokenClaim(jwt({ sub: 'u-42' }), 'sub')).toBe('u-42');
    expect(readTokenClaim(jwt({ uid: 7 }), 'uid')).toBe('7');
  });

  it('decodes base64url bodies that need padding and carry - or _', () => {
    const token = jwt({ sub: '1', name: '>>>???x' });
    expect((token.split('.')[1] ?? '').length % 4).not.toBe(0);
    expect(token.split('.')[1]).toMatch(/-/);
    expect(token.split('.')[1]).toMatch(/_/);
    expect(readTokenClaim(token, 'sub')).toBe('1');
  });

  it('returns undefined for a missing claim, an object claim or a token that is not a JWT', () => {
    expect(readTokenClaim(jwt({ sub: 'x' }), 'other')).toBeUndefined();
    expect(readTokenClaim(jwt({ sub: { id: 1 } }), 'sub')).toBeUndefined();
    expect(readTokenClaim('not-a-jwt', 'sub')).toBeUndefined();
    expect(readTokenClaim('a.%%%.b', 'sub')).toBeUndefined();
  });
});

describe('readTokenExpiry', () => {
  it('reads exp in epoch milliseconds', () => {
    expect(readTokenExpiry(jwt({ sub: 'x', exp: 1_700_000_000 }))).toBe(1_700_000_000_000);
  });

  it('returns undefined without a numeric exp, or for a token that is not a JWT', () => {
    expect(readTokenExpiry(jwt({ sub: 'x' }))).toBeUndefined();
    expect(readTokenExpiry(jwt({ exp: '1700000000' }))).toBeUndefined();
    expect(readTokenExpiry(`h.${Buffer.from('42').toString('base64url')}.s`)).toBeUndefined();
    expect(readTokenExpiry('not-a-jwt')).toBeUndefined();
  });
});
