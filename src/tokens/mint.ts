/**
 * Token minting: RFC 9068 JWT access tokens and OpenID Connect ID tokens, RS256 via
 * node:crypto off the event loop (see jwsSigner; bench/README.md compares the options), or
 * ES256 access tokens with LATCHKEY_ACCESS_TOKEN_ALG=ES256 (es256Signer).
 */
import { createHash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { type Clock, epochSeconds } from '../clock.js';
import { accessTokenJti } from './jti.js';
import type { ActiveKey, KeyManager } from './keys.js';

type Sign = (payload: Record<string, unknown>) => Promise<string>;

const b64json = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/**
 * RS256 JWS compact serialisation (RFC 7515 §7.1; RFC 7518 §3.3) with the signature computed by
 * node:crypto's asynchronous `sign`, which runs on libuv's thread pool: the RSA work (two
 * signatures per flow) leaves the event loop, so requests keep flowing while keys are used
 * (the comparison with a synchronous signer is in bench/README.md). Only signing is done
 * here; every token is verified with jose in the tests, and verification elsewhere uses
 * jose (server) or fast-jwt (resource SDK).
 */
function jwsSigner(key: ActiveKey, typ: 'at+jwt' | 'JWT'): Sign {
  const header = b64json({ alg: 'RS256', typ, kid: key.kid });
  return (payload) => {
    const input = `${header}.${b64json(payload)}`;
    return new Promise((resolve, reject) =>
      cryptoSign('sha256', Buffer.from(input), key.privateKey, (err, sig) =>
        err ? reject(err) : resolve(`${input}.${sig.toString('base64url')}`),
      ),
    );
  };
}

/**
 * ES256 (RFC 7518 §3.4): ECDSA P-256 with SHA-256, signature as R‖S (IEEE P1363), 64 bytes.
 * An order of magnitude cheaper than RS256, so it is computed synchronously: handing it to the
 * thread pool would cost more than the signature (bench/README.md).
 */
function es256Signer(kid: string, key: KeyObject, typ: 'at+jwt' | 'JWT' = 'at+jwt'): Sign {
  const header = b64json({ alg: 'ES256', typ, kid });
  return async (payload) => {
    const input = `${header}.${b64json(payload)}`;
    const sig = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${sig.toString('base64url')}`;
  };
}

export interface AccessTokenInput {
  sub: string;
  /** The grant the token belongs to (named in its jti), null for client credentials. */
  grantId: string | null;
  clientId: string;
  scope: string;
  ttlSec: number;
  authTime?: number;
  /** RFC 9068 §2.2.1: the `acr` of the sign-in, for APIs that demand step-up (RFC 9470). */
  acr?: string;
  /** RFC 9449 §6.1: `cnf.jkt`, the thumbprint of the DPoP key the token is bound to. */
  jkt?: string;
  /** ES256 whatever the server's setting (FAPI 2.0 Security Profile, cryptography and secrets: no RS256 for fapi2 applications). */
  es256?: boolean;
  /** The algorithm (tokens/lifetimes.ts accessTokenAlgOf); absent: the server's. */
  alg?: 'RS256' | 'ES256';
  /** RFC 8707 / RFC 9068 §3: the API the token is for; absent: the default API. */
  aud?: string;
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
  /** OIDC Core §2 `amr` (RFC 8176 values) and `acr`. */
  amr?: string[];
  acr?: string;
  /** ES256 instead of RS256 (FAPI 2.0 Security Profile, cryptography and secrets for fapi2 applications). */
  es256?: boolean;
}

/** OIDC Core §3.1.3.6: left half of SHA-256 of the ASCII access token, base64url. */
export function atHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
}

interface Signers {
  /** Access tokens in the server's algorithm (LATCHKEY_ACCESS_TOKEN_ALG). */
  access: Sign;
  id: Sign;
  accessRs: Sign;
  accessEs: Sign;
  idEs: Sign;
}

export class TokenMinter {
  #signers = new Map<string, Signers>();

  constructor(
    private readonly keys: KeyManager,
    private readonly clock: Clock,
    private readonly issuer: string,
    private readonly audience: string,
    /** ES256 uses the generation's P-256 key; a generation without one signs RS256 (keys.ts). */
    private readonly accessTokenAlg: 'RS256' | 'ES256' = 'RS256',
  ) {}

  #signersFor(key: ActiveKey): Signers {
    let s = this.#signers.get(key.kid);
    if (!s) {
      const rsAccess = jwsSigner(key, 'at+jwt');
      const rsId = jwsSigner(key, 'JWT');
      // A generation without an EC key (made before ES256 existed) signs RS256 only.
      const accessEs = key.ec ? es256Signer(key.ec.kid, key.ec.privateKey) : rsAccess;
      const idEs = key.ec ? es256Signer(key.ec.kid, key.ec.privateKey, 'JWT') : rsId;
      s = {
        access: this.accessTokenAlg === 'ES256' ? accessEs : rsAccess,
        id: rsId,
        accessRs: rsAccess,
        accessEs,
        idEs,
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
    const jti = accessTokenJti(input.grantId);
    const payload: Record<string, unknown> = {
      iss: this.issuer,
      sub: input.sub,
      aud: input.aud ?? this.audience,
      client_id: input.clientId,
      scope: input.scope,
      iat,
      exp,
      jti,
    };
    if (input.authTime !== undefined) payload['auth_time'] = Math.floor(input.authTime / 1000);
    if (input.acr !== undefined) payload['acr'] = input.acr;
    if (input.jkt !== undefined) payload['cnf'] = { jkt: input.jkt };
    const signers = this.#signersFor(key);
    const sign =
      input.es256 || input.alg === 'ES256'
        ? signers.accessEs
        : input.alg === 'RS256'
          ? signers.accessRs
          : signers.access;
    return { token: await sign(payload), jti, iat, exp };
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
    if (input.amr !== undefined && input.amr.length > 0) payload['amr'] = input.amr;
    if (input.acr !== undefined) payload['acr'] = input.acr;
    const signers = this.#signersFor(key);
    return (input.es256 ? signers.idEs : signers.id)(payload);
  }
}
