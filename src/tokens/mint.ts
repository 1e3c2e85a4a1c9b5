/**
 * Token minting: RFC 9068 JWT access tokens and OpenID Connect ID tokens, RS256 via
 * node:crypto (fast-jwt's signer; see bench/README.md for why not jose's WebCrypto path here).
 */
import { createHash } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { type Clock, epochSeconds } from '../clock.js';
import { randomToken } from '../crypto.js';
import type { ActiveKey, KeyManager } from './keys.js';

type Sign = (payload: Record<string, unknown>) => string;

export interface AccessTokenInput {
  sub: string;
  clientId: string;
  scope: string;
  ttlSec: number;
  authTime?: number;
}

export interface MintedAccessToken {
  token: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface IdTokenInput {
  sub: string;
  clientId: string;
  nonce: string | null;
  authTime: number;
  sid: string | null;
  accessToken?: string;
  ttlSec: number;
  claims?: Record<string, unknown>;
}

/** OIDC Core §3.1.3.6: left half of SHA-256 of the ASCII access token, base64url. */
export function atHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
}

export class TokenMinter {
  #signers = new Map<string, { access: Sign; id: Sign }>();

  constructor(
    private readonly keys: KeyManager,
    private readonly clock: Clock,
    private readonly issuer: string,
    private readonly audience: string,
  ) {}

  #signersFor(key: ActiveKey): { access: Sign; id: Sign } {
    let s = this.#signers.get(key.kid);
    if (!s) {
      const base = { key: key.privatePem, algorithm: 'RS256' as const, kid: key.kid };
      s = {
        access: createSigner({ ...base, header: { alg: 'RS256', typ: 'at+jwt' } }) as Sign,
        id: createSigner({ ...base, header: { alg: 'RS256', typ: 'JWT' } }) as Sign,
      };
      this.#signers.set(key.kid, s);
    }
    return s;
  }

  /** RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti (+ scope, auth_time). */
  async accessToken(input: AccessTokenInput): Promise<MintedAccessToken> {
    const key = await this.keys.signingKey();
    const iat = epochSeconds(this.clock);
    const exp = iat + input.ttlSec;
    const jti = randomToken(16);
    const payload: Record<string, unknown> = {
      iss: this.issuer,
      sub: input.sub,
      aud: this.audience,
      client_id: input.clientId,
      scope: input.scope,
      iat,
      exp,
      jti,
    };
    if (input.authTime !== undefined) payload['auth_time'] = Math.floor(input.authTime / 1000);
    return { token: this.#signersFor(key).access(payload), jti, iat, exp };
  }

  /** OIDC Core §2: iss, sub, aud, exp, iat, auth_time, nonce, at_hash, sid. */
  async idToken(input: IdTokenInput): Promise<string> {
    const key = await this.keys.signingKey();
    const iat = epochSeconds(this.clock);
    const payload: Record<string, unknown> = {
      ...input.claims,
      iss: this.issuer,
      sub: input.sub,
      aud: input.clientId,
      iat,
      exp: iat + input.ttlSec,
      auth_time: Math.floor(input.authTime / 1000),
    };
    if (input.nonce !== null) payload['nonce'] = input.nonce;
    if (input.accessToken !== undefined) payload['at_hash'] = atHash(input.accessToken);
    if (input.sid !== null) payload['sid'] = input.sid;
    return this.#signersFor(key).id(payload);
  }
}
