// Verifies JWTs with pinned algorithms, issuer and audience, and maps claims to a RealtimeIdentity.
import { Inject, Injectable } from '@nestjs/common';
import { createPublicKey, createSecretKey, type KeyObject } from 'crypto';
import { verify as verifyJwt, type VerifyOptions } from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { RealtimeError, RefreshRefusedError } from '../errors/realtime-error';
import { REALTIME_OPTIONS } from '../../realtime.constants';
import type { ResolvedRealtimeOptions } from '../../realtime.options';
import type { RealtimeIdentity } from './realtime-identity';
import { extractPage, extractToken, type HandshakeSource } from './token-extractor';

type Claims = Record<string, unknown>;

/** Bytes of token text the verified-token cache holds at most, whatever the count allows. */
const VERIFIED_CACHE_MAX_BYTES = 4 * 1024 * 1024;

@Injectable()
export class TokenVerifier {
  /**
   * jsonwebtoken's options of every verify, made once. The library calls jsonwebtoken (the verifier
   * under `@nestjs/jwt`) itself: no JwtService, so that no host JwtModule (global, or among
   * forRootAsync's imports) can lend its secret, key provider or verify options, and no options
   * object is copied and merged on every handshake (about 6 µs of one). The checks that could be
   * loosened are set explicitly.
   */
  private readonly verifyOptions: VerifyOptions & { complete: false };
  /** The configured secret or public key, as jsonwebtoken would make it on every call (keyObjectOf). */
  private readonly key: KeyObject | string | Buffer;
  /**
   * Claims of tokens that passed every check, by their exact text (`auth.verifiedTokenCache`): a
   * log producer sends the same token with every request, and the signature check was the largest
   * part of a request's own work. A hit is checked for time again (`exp`, `nbf`) as jsonwebtoken
   * does, on the same clock; anything else a verify checks depends on the text alone.
   */
  private readonly verified: LRUCache<string, Claims> | null;

  constructor(@Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions) {
    const { auth } = options;
    this.verifyOptions = {
      algorithms: auth.algorithms,
      issuer: auth.issuer,
      audience: auth.audience as string | [string, ...string[]] | undefined,
      clockTolerance: auth.clockToleranceSec,
      ignoreExpiration: false,
      ignoreNotBefore: false,
      complete: false,
    };
    // Resolved options hold a secret or a public key (checked at boot); '' is refused by every verify.
    this.key = keyObjectOf(auth.secret ?? auth.publicKey) ?? '';
    this.verified =
      auth.verifiedTokenCache > 0
        ? new LRUCache<string, Claims>({
            max: auth.verifiedTokenCache,
            maxSize: VERIFIED_CACHE_MAX_BYTES,
            sizeCalculation: (_claims, token) => token.length,
          })
        : null;
  }

  /** Verifies a token; throws RealtimeError(AUTH_FAILED) with a reason a client can act on. */
  verify(token: string | undefined, page: string | null = null): RealtimeIdentity {
    if (!token) throw RealtimeError.authFailed('Authentication token missing');
    const remembered = this.verified?.get(token);
    if (remembered !== undefined) {
      const refusal = this.timeRefusal(remembered);
      if (refusal === null) return this.toIdentity(remembered, page);
      this.verified?.delete(token);
      throw RealtimeError.authFailed(refusal);
    }
    const { auth } = this.options;
    let claims: Claims;
    try {
      const verified = verifyJwt(token, this.key, this.verifyOptions);
      // A token whose payload is not a JSON object (jsonwebtoken accepts a string payload) names no user.
      claims = typeof verified === 'object' && verified !== null ? verified : {};
    } catch (error) {
      throw RealtimeError.authFailed(describeJwtError(error));
    }
    if (auth.requireExpiry && typeof claims.exp !== 'number') {
      throw RealtimeError.authFailed('Token has no expiry ("exp" claim)');
    }
    const identity = this.toIdentity(claims, page);
    this.verified?.set(token, claims);
    return identity;
  }

  /**
   * Verifies a fresh token for an open connection whose identity is `current`, with the handshake's
   * rules. It must name the same user and the same app (appId claim, or none as before); the page
   * declared at the handshake is kept. Throws RefreshRefusedError (AUTH_FAILED that leaves the
   * connection on its current token) otherwise, and for an invalid or expired token.
   */
  verifyRefresh(current: RealtimeIdentity, token: string | undefined): RealtimeIdentity {
    let fresh: RealtimeIdentity;
    try {
      fresh = this.verify(token, current.page);
    } catch (error) {
      throw new RefreshRefusedError(error instanceof RealtimeError ? error.message : 'Token invalid');
    }
    if (fresh.userId !== current.userId) throw new RefreshRefusedError('Token is for another user');
    if (fresh.appId !== current.appId) throw new RefreshRefusedError('Token is for another app');
    return fresh;
  }

  /** Extracts the token of a handshake and verifies it. */
  verifyHandshake(source: HandshakeSource): RealtimeIdentity {
    return this.verify(extractToken(source), extractPage(source));
  }

  /**
   * Why a token verified earlier is refused now, as jsonwebtoken words it (its `exp` and `nbf`
   * checks, with the tolerated skew, in whole seconds of Date.now()); null while it is still valid.
   */
  private timeRefusal(claims: Claims): string | null {
    const now = Math.floor(Date.now() / 1000);
    const tolerance = this.options.auth.clockToleranceSec;
    if (typeof claims.exp === 'number' && now >= claims.exp + tolerance) return 'Token expired';
    if (typeof claims.nbf === 'number' && claims.nbf > now + tolerance) return 'Token not active yet';
    return null;
  }

  private toIdentity(claims: Claims, page: string | null): RealtimeIdentity {
    const names = this.options.auth.claims;
    const rawId = claims[names.userId];
    if ((typeof rawId !== 'string' || rawId === '') && typeof rawId !== 'number') {
      throw RealtimeError.authFailed(`Token has no "${names.userId}" claim`);
    }
    const userId = String(rawId);
    const rawName = claims[names.username];
    const rawRoles = claims[names.roles];
    const roles = Array.isArray(rawRoles) ? rawRoles.filter((r): r is string => typeof r === 'string') : [];
    const rawApp = claims[names.appId];
    const exp = claims.exp;
    return {
      userId,
      username: typeof rawName === 'string' && rawName !== '' ? rawName : userId,
      roles,
      isAdmin: roles.includes(this.options.auth.adminRole),
      appId: typeof rawApp === 'string' && rawApp !== '' ? rawApp : null,
      page,
      // The tolerated clock skew applies to later expiry checks too.
      expiresAt: typeof exp === 'number' ? (exp + this.options.auth.clockToleranceSec) * 1000 : null,
    };
  }
}

/**
 * What jsonwebtoken 9 does with a string or Buffer key on every verify: a public key if it parses as
 * one, else an HMAC secret. Given a string, each call paid for OpenSSL's failed attempt to decode it
 * as a PEM key (about 50 times the HMAC check itself); a KeyObject is used as it is. Material that is
 * neither stays as given, for jsonwebtoken to refuse as before.
 */
function keyObjectOf(material: string | Buffer | undefined): KeyObject | string | Buffer | undefined {
  if (material === undefined) return undefined;
  try {
    return createPublicKey(material);
  } catch {
    // Not a public key: an HMAC secret, jsonwebtoken's next attempt.
    try {
      return createSecretKey(typeof material === 'string' ? Buffer.from(material) : material);
    } catch {
      // Not key material at all: every verify refuses it, as it did.
      return material;
    }
  }
}

function describeJwtError(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : '';
  if (name === 'TokenExpiredError') return 'Token expired';
  if (name === 'NotBeforeError') return 'Token not active yet';
  if (message.includes('invalid algorithm')) return 'Token algorithm not accepted';
  if (message.includes('jwt issuer invalid')) return 'Token issuer not accepted';
  if (message.includes('jwt audience invalid')) return 'Token audience not accepted';
  if (message.includes('invalid signature')) return 'Token signature invalid';
  if (message.includes('jwt signature is required')) return 'Unsigned token not accepted';
  return 'Token invalid';
}
