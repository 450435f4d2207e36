// TokenVerifier: pinned algorithms, issuer and audience, claims mapped to the identity, and a specific
// AUTH_FAILED reason for every refusal; verifyHandshake finds the token and the page; verifyRefresh
// takes a fresh token of the same user and app only.
import { createSecretKey, generateKeyPairSync } from 'crypto';
import * as jwt from 'jsonwebtoken';
import { RealtimeErrorCode } from '../../protocol';
import { type RealtimeModuleOptions, resolveRealtimeOptions } from '../../realtime.options';
import { endsSession, RealtimeError, RefreshRefusedError } from '../errors/realtime-error';
import type { HandshakeSource } from './token-extractor';
import { TokenVerifier } from './token-verifier.service';

const SECRET = 'a-test-secret-of-32-characters!!';
/** The module object the verifier calls into (the namespace import above cannot be spied on). */
const jsonwebtoken = jest.requireActual<typeof jwt>('jsonwebtoken');

function verifierWith(auth: RealtimeModuleOptions['auth']): TokenVerifier {
  return new TokenVerifier(resolveRealtimeOptions({ auth }));
}

/** Runs the check and returns the RealtimeError it must throw. */
function refusal(check: () => unknown): RealtimeError {
  try {
    check();
  } catch (error) {
    if (error instanceof RealtimeError) return error;
    throw error;
  }
  throw new Error('the token was accepted');
}

function expectAuthFailed(check: () => unknown, message: string): void {
  const error = refusal(check);
  expect(error.code).toBe(RealtimeErrorCode.AUTH_FAILED);
  expect(error.message).toBe(message);
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function hs256(payload: object, options: jwt.SignOptions = {}): string {
  return jwt.sign(payload, SECRET, { algorithm: 'HS256', expiresIn: 600, ...options });
}

describe('TokenVerifier', () => {
  describe('with a secret (HS256 pinned)', () => {
    const verifier = verifierWith({ secret: SECRET });

    it('maps the claims of a valid token to the identity', () => {
      const exp = Math.floor(Date.now() / 1000) + 600;
      const token = jwt.sign(
        { sub: 'u-1', username: 'alice', roles: ['user', 'admin'], appId: 'app-7', exp },
        SECRET,
      );

      expect(verifier.verify(token, 'modules')).toEqual({
        userId: 'u-1',
        username: 'alice',
        roles: ['user', 'admin'],
        isAdmin: true,
        appId: 'app-7',
        page: 'modules',
        expiresAt: exp * 1000,
      });
    });

    it('turns a numeric sub into a string', () => {
      const identity = verifier.verify(hs256({ sub: 42, username: 'bob' }));
      expect(identity.userId).toBe('42');
    });

    it('falls back to the user id as username and to no roles, no app, no page', () => {
      const identity = verifier.verify(hs256({ sub: 'u-2' }));
      expect(identity).toMatchObject({
        userId: 'u-2',
        username: 'u-2',
        roles: [],
        isAdmin: false,
        appId: null,
        page: null,
      });
    });

    it('refuses a token without exp by default (it would never expire)', () => {
      expectAuthFailed(
        () => verifier.verify(jwt.sign({ sub: 'u-2' }, SECRET)),
        'Token has no expiry ("exp" claim)',
      );
    });

    it('accepts a token without exp when auth.requireExpiry is false, with no expiry time', () => {
      const lenient = verifierWith({ secret: SECRET, requireExpiry: false });
      expect(lenient.verify(jwt.sign({ sub: 'u-2' }, SECRET)).expiresAt).toBeNull();
    });

    it('is not admin without the admin role and keeps only string roles', () => {
      const identity = verifier.verify(hs256({ sub: 'u-3', roles: ['user', 7, null, 'ops'] }));
      expect(identity.roles).toEqual(['user', 'ops']);
      expect(identity.isAdmin).toBe(false);
    });

    it('refuses a missing token', () => {
      expectAuthFailed(() => verifier.verify(undefined), 'Authentication token missing');
      expectAuthFailed(() => verifier.verify(''), 'Authentication token missing');
    });

    it('refuses a token signed with another secret', () => {
      const token = jwt.sign({ sub: 'u-1' }, 'another-secret-of-32-characters!');
      expectAuthFailed(() => verifier.verify(token), 'Token signature invalid');
    });

    it('refuses a token whose payload was altered', () => {
      const [header, , signature] = hs256({ sub: 'u-1', roles: [] }).split('.');
      const forged = `${header}.${base64url({ sub: 'u-1', roles: ['admin'] })}.${signature}`;
      expectAuthFailed(() => verifier.verify(forged), 'Token signature invalid');
    });

    it('refuses an expired token', () => {
      const token = jwt.sign({ sub: 'u-1', exp: Math.floor(Date.now() / 1000) - 10 }, SECRET);
      expectAuthFailed(() => verifier.verify(token), 'Token expired');
    });

    it('refuses a token that is not active yet', () => {
      const token = jwt.sign({ sub: 'u-1', nbf: Math.floor(Date.now() / 1000) + 600 }, SECRET);
      expectAuthFailed(() => verifier.verify(token), 'Token not active yet');
    });

    it('refuses an unsigned alg:none token', () => {
      const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'u-1', roles: ['admin'] })}.`;
      expectAuthFailed(() => verifier.verify(token), 'Unsigned token not accepted');
    });

    it('refuses HS384 when only HS256 is pinned', () => {
      const token = jwt.sign({ sub: 'u-1' }, SECRET, { algorithm: 'HS384' });
      expectAuthFailed(() => verifier.verify(token), 'Token algorithm not accepted');
    });

    it('refuses a malformed token', () => {
      expectAuthFailed(() => verifier.verify('not-a-jwt'), 'Token invalid');
    });

    it('refuses a token without sub', () => {
      expectAuthFailed(() => verifier.verify(hs256({ username: 'alice' })), 'Token has no "sub" claim');
    });

    it('refuses a token with an empty sub', () => {
      expectAuthFailed(() => verifier.verify(hs256({ sub: '' })), 'Token has no "sub" claim');
    });
  });

  describe('with issuer and audience', () => {
    const verifier = verifierWith({ secret: SECRET, issuer: 'https://auth.example', audience: 'realtime' });

    it('accepts the configured issuer and audience', () => {
      const token = hs256({ sub: 'u-1' }, { issuer: 'https://auth.example', audience: 'realtime' });
      expect(verifier.verify(token).userId).toBe('u-1');
    });

    it('refuses another issuer', () => {
      const token = hs256({ sub: 'u-1' }, { issuer: 'https://evil.example', audience: 'realtime' });
      expectAuthFailed(() => verifier.verify(token), 'Token issuer not accepted');
    });

    it('refuses a token without issuer', () => {
      const token = hs256({ sub: 'u-1' }, { audience: 'realtime' });
      expectAuthFailed(() => verifier.verify(token), 'Token issuer not accepted');
    });

    it('refuses another audience', () => {
      const token = hs256({ sub: 'u-1' }, { issuer: 'https://auth.example', audience: 'billing' });
      expectAuthFailed(() => verifier.verify(token), 'Token audience not accepted');
    });
  });

  it('refuses a token whose payload is not a JSON object, naming the claim it lacks', () => {
    // A string payload carries no `exp` either: without requiring one, the missing user claim decides.
    const verifier = verifierWith({ secret: SECRET, requireExpiry: false });
    const stringPayload = jwt.sign('u-1', SECRET, { algorithm: 'HS256' });
    expectAuthFailed(() => verifier.verify(stringPayload), 'Token has no "sub" claim');
  });

  it('accepts any audience when none is configured', () => {
    const verifier = verifierWith({ secret: SECRET });
    expect(verifier.verify(hs256({ sub: 'u-1' }, { audience: 'billing' })).userId).toBe('u-1');
  });

  it('reads the claims and admin role named in the options', () => {
    const verifier = verifierWith({
      secret: SECRET,
      claims: { userId: 'uid', username: 'name', roles: 'groups', appId: 'tenant' },
      adminRole: 'root',
    });
    const identity = verifier.verify(
      hs256({ sub: 'ignored', uid: 'u-9', name: 'neo', groups: ['root'], tenant: 't1' }),
    );
    expect(identity).toMatchObject({
      userId: 'u-9',
      username: 'neo',
      roles: ['root'],
      isAdmin: true,
      appId: 't1',
    });
    expectAuthFailed(() => verifier.verify(hs256({ sub: 'u-1' })), 'Token has no "uid" claim');
  });

  describe('with an RSA public key (RS256 pinned)', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const verifier = verifierWith({ publicKey });

    it('accepts an RS256 token signed with the private key', () => {
      const token = jwt.sign({ sub: 'u-1', roles: ['admin'] }, privateKey, {
        algorithm: 'RS256',
        expiresIn: 600,
      });
      expect(verifier.verify(token)).toMatchObject({ userId: 'u-1', isAdmin: true });
    });

    it('refuses an HS256 token signed with the public key text as secret (algorithm confusion)', () => {
      const token = jwt.sign({ sub: 'u-1', roles: ['admin'] }, createSecretKey(Buffer.from(publicKey)), {
        algorithm: 'HS256',
      });
      expectAuthFailed(() => verifier.verify(token), 'Token algorithm not accepted');
    });

    it('refuses an RS256 token signed with another private key', () => {
      const other = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      const token = jwt.sign({ sub: 'u-1' }, other.privateKey, { algorithm: 'RS256' });
      expectAuthFailed(() => verifier.verify(token), 'Token signature invalid');
    });

    it('refuses an unsigned alg:none token', () => {
      const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'u-1' })}.`;
      expectAuthFailed(() => verifier.verify(token), 'Unsigned token not accepted');
    });
  });

  describe('verifyHandshake', () => {
    const verifier = verifierWith({ secret: SECRET });
    const alice = hs256({ sub: 'alice' });
    const bob = hs256({ sub: 'bob' });
    const carol = hs256({ sub: 'carol' });

    function handshake(parts: Partial<HandshakeSource>): HandshakeSource {
      return { query: {}, headers: {}, ...parts };
    }

    it('reads the token from auth.token first', () => {
      const source = handshake({
        auth: { token: alice },
        query: { token: bob },
        headers: { authorization: `Bearer ${carol}` },
      });
      expect(verifier.verifyHandshake(source).userId).toBe('alice');
    });

    it('reads the token from the query when auth has none', () => {
      const source = handshake({
        auth: {},
        query: { token: bob },
        headers: { authorization: `Bearer ${carol}` },
      });
      expect(verifier.verifyHandshake(source).userId).toBe('bob');
    });

    it('reads the first token of a repeated query parameter', () => {
      expect(verifier.verifyHandshake(handshake({ query: { token: [bob, carol] } })).userId).toBe('bob');
    });

    it('reads the token from an Authorization: Bearer header last', () => {
      const source = handshake({ headers: { authorization: `Bearer ${carol}` } });
      expect(verifier.verifyHandshake(source).userId).toBe('carol');
    });

    it('accepts the bearer scheme in any case', () => {
      expect(
        verifier.verifyHandshake(handshake({ headers: { authorization: `bearer ${carol}` } })).userId,
      ).toBe('carol');
    });

    it('ignores an Authorization header of another scheme', () => {
      const source = handshake({
        headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      });
      expectAuthFailed(() => verifier.verifyHandshake(source), 'Authentication token missing');
    });

    it('refuses a handshake without any token', () => {
      expectAuthFailed(() => verifier.verifyHandshake(handshake({})), 'Authentication token missing');
    });

    it('reads the page from auth.page before query.page', () => {
      const source = handshake({ auth: { token: alice, page: 'modules' }, query: { page: 'admin' } });
      expect(verifier.verifyHandshake(source).page).toBe('modules');
    });

    it('reads the page from the query', () => {
      expect(verifier.verifyHandshake(handshake({ query: { token: alice, page: 'dashboard' } })).page).toBe(
        'dashboard',
      );
    });

    it.each([
      ['a page with spaces', 'my page'],
      ['a page with a slash', '../admin'],
      ['an empty page', ''],
      ['a page of 65 characters', 'p'.repeat(65)],
    ])('turns %s into null', (_label, page) => {
      expect(verifier.verifyHandshake(handshake({ auth: { token: alice, page } })).page).toBeNull();
    });

    it('turns a non-string page into null', () => {
      expect(verifier.verifyHandshake(handshake({ auth: { token: alice, page: 12 } })).page).toBeNull();
    });

    it('still refuses a bad token found in the handshake', () => {
      const source = handshake({ query: { token: jwt.sign({ sub: 'x' }, SECRET, { algorithm: 'HS512' }) } });
      expectAuthFailed(() => verifier.verifyHandshake(source), 'Token algorithm not accepted');
    });
  });

  describe('verifyRefresh', () => {
    const verifier = verifierWith({ secret: SECRET });
    const current = verifier.verify(hs256({ sub: 'u-1', username: 'alice', appId: 'app-7' }), 'modules');

    /** The refusal, which must leave the session as it was (not end it). */
    function refreshRefusal(token: string | undefined): RealtimeError {
      const error = refusal(() => verifier.verifyRefresh(current, token));
      expect(error).toBeInstanceOf(RefreshRefusedError);
      expect(error.code).toBe(RealtimeErrorCode.AUTH_FAILED);
      expect(error.details).toEqual({ reason: 'refresh_refused' });
      expect(endsSession(error)).toBe(false);
      return error;
    }

    it('returns the fresh identity of the same user and app, keeping the handshake page', () => {
      const exp = Math.floor(Date.now() / 1000) + 900;
      const fresh = verifier.verifyRefresh(
        current,
        jwt.sign({ sub: 'u-1', username: 'alice', roles: ['ops'], appId: 'app-7', exp }, SECRET),
      );
      expect(fresh).toEqual({
        userId: 'u-1',
        username: 'alice',
        roles: ['ops'],
        isAdmin: false,
        appId: 'app-7',
        page: 'modules',
        expiresAt: exp * 1000,
      });
      expect(fresh).not.toBe(current);
    });

    it('refuses a token of another user', () => {
      expect(refreshRefusal(hs256({ sub: 'u-2', appId: 'app-7' })).message).toBe('Token is for another user');
    });

    it('refuses a token of another app, or with no app where there was one', () => {
      expect(refreshRefusal(hs256({ sub: 'u-1', appId: 'app-8' })).message).toBe('Token is for another app');
      expect(refreshRefusal(hs256({ sub: 'u-1' })).message).toBe('Token is for another app');
    });

    it('refuses an expired, forged or missing token with the handshake reason', () => {
      const expired = jwt.sign(
        { sub: 'u-1', appId: 'app-7', exp: Math.floor(Date.now() / 1000) - 10 },
        SECRET,
      );
      expect(refreshRefusal(expired).message).toBe('Token expired');
      const forged = jwt.sign({ sub: 'u-1', appId: 'app-7' }, 'another-secret-of-32-characters!!', {
        expiresIn: 600,
      });
      expect(refreshRefusal(forged).message).toBe('Token signature invalid');
      expect(refreshRefusal(undefined).message).toBe('Authentication token missing');
    });

    it('keeps ending the session for the handshake refusals', () => {
      expect(endsSession(refusal(() => verifier.verify('not-a-jwt')))).toBe(true);
    });
  });

  describe('verified-token cache (auth.verifiedTokenCache)', () => {
    afterEach(() => jest.restoreAllMocks());

    it('checks a token it verified before for time only, and maps it for the page asked', () => {
      const verifier = verifierWith({ secret: SECRET });
      const token = hs256({ sub: 'u-1', appId: 'app-7' });
      const signatureChecks = jest.spyOn(jsonwebtoken, 'verify');

      expect(verifier.verify(token, 'modules').page).toBe('modules');
      const again = verifier.verify(token, 'settings');

      expect(signatureChecks).toHaveBeenCalledTimes(1);
      expect(again).toMatchObject({ userId: 'u-1', appId: 'app-7', page: 'settings' });
    });

    it('refuses a remembered token once it expired, on the clock jsonwebtoken reads', () => {
      const verifier = verifierWith({ secret: SECRET });
      const token = hs256({ sub: 'u-1' }, { expiresIn: 60 });
      verifier.verify(token);
      const start = Date.now();
      jest.spyOn(Date, 'now').mockReturnValue(start + 61_000);

      expectAuthFailed(() => verifier.verify(token), 'Token expired');
      // Forgotten once refused: the next try is a full verify, with the same answer.
      const signatureChecks = jest.spyOn(jsonwebtoken, 'verify');
      expectAuthFailed(() => verifier.verify(token), 'Token expired');
      expect(signatureChecks).toHaveBeenCalledTimes(1);
    });

    it('applies the tolerated clock skew to a remembered token as to a new one', () => {
      const verifier = verifierWith({ secret: SECRET, clockToleranceSec: 30 });
      const token = hs256({ sub: 'u-1' }, { expiresIn: 60 });
      verifier.verify(token);
      const start = Date.now();
      const clock = jest.spyOn(Date, 'now').mockReturnValue(start + 75_000);
      expect(verifier.verify(token).userId).toBe('u-1');
      clock.mockReturnValue(start + 91_000);
      expectAuthFailed(() => verifier.verify(token), 'Token expired');
    });

    it('keeps no token that was refused, whatever the reason', () => {
      const verifier = verifierWith({ secret: SECRET });
      const noUser = hs256({ username: 'nobody' });
      const badSignature = jwt.sign({ sub: 'u-1' }, 'another-secret-of-32-characters!!', { expiresIn: 600 });
      const signatureChecks = jest.spyOn(jsonwebtoken, 'verify');

      for (let i = 0; i < 2; i += 1) {
        expectAuthFailed(() => verifier.verify(noUser), 'Token has no "sub" claim');
        expectAuthFailed(() => verifier.verify(badSignature), 'Token signature invalid');
      }
      expect(signatureChecks).toHaveBeenCalledTimes(4);
    });

    it('verifies every token in full with 0, and keeps at most the count configured', () => {
      const off = verifierWith({ secret: SECRET, verifiedTokenCache: 0 });
      const token = hs256({ sub: 'u-1' });
      const signatureChecks = jest.spyOn(jsonwebtoken, 'verify');
      off.verify(token);
      off.verify(token);
      expect(signatureChecks).toHaveBeenCalledTimes(2);

      const two = verifierWith({ secret: SECRET, verifiedTokenCache: 2 });
      const [a, b, c] = [hs256({ sub: 'u-a' }), hs256({ sub: 'u-b' }), hs256({ sub: 'u-c' })];
      for (const t of [a, b, c]) two.verify(t);
      signatureChecks.mockClear();
      two.verify(c);
      two.verify(b);
      expect(signatureChecks).toHaveBeenCalledTimes(0);
      two.verify(a);
      expect(signatureChecks).toHaveBeenCalledTimes(1);
    });
  });
});
