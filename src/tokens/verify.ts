/**
 * Verifying tokens this server issued (userinfo, introspection, revocation, logout hints),
 * with jose against our own published keys. The resource-server SDK has its own fast path.
 */
import { createLocalJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { AccessTokenStore, ApiStore, ClientStore } from '../storage/types.js';
import { CLOCK_SKEW_SEC, checkTimeClaims } from './clock-rules.js';
import { grantIdOfJti } from './jti.js';
import type { KeyManager } from './keys.js';

export interface VerifiedAccessToken {
  payload: JWTPayload & { client_id: string; scope: string; jti: string; sub: string };
  revoked: boolean;
}

/** What verification uses (the server context has all of it). */
export interface VerifyDeps {
  keys: Pick<KeyManager, 'jwks'>;
  config: Pick<Config, 'issuer' | 'audience'>;
  clock: Clock;
  storage: {
    accessTokens: Pick<AccessTokenStore, 'isRevoked'>;
    clients: Pick<ClientStore, 'get'>;
    apis: Pick<ApiStore, 'get'>;
  };
}

const looksLikeJwt = (t: string) =>
  /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(t) && t.length < 8192;

async function keySet(ctx: VerifyDeps) {
  return createLocalJWKSet((await ctx.keys.jwks()) as Parameters<typeof createLocalJWKSet>[0]);
}

/** Returns undefined for anything not a valid, unexpired access token of ours. */
export async function verifyAccessToken(
  ctx: VerifyDeps,
  token: string,
): Promise<VerifiedAccessToken | undefined> {
  if (!looksLikeJwt(token)) return undefined;
  try {
    const { payload } = await jwtVerify(token, await keySet(ctx), {
      issuer: ctx.config.issuer,
      typ: 'at+jwt',
      algorithms: ['RS256', 'ES256'],
      currentDate: new Date(ctx.clock.now()),
      clockTolerance: CLOCK_SKEW_SEC,
      requiredClaims: ['sub', 'jti', 'client_id', 'exp', 'iat'],
    });
    // The same time rules as every other verifier of the project (a future iat too).
    if (checkTimeClaims(payload, ctx.clock.now() / 1000)) return undefined;
    const p = payload as VerifiedAccessToken['payload'];
    // RFC 8707: a token of any registered API (the default one, LATCHKEY_AUDIENCE's, or a stored
    // one); a deleted API's tokens are no longer accepted. Latchkey mints one audience per token.
    if (typeof p.aud !== 'string') return undefined;
    if (p.aud !== ctx.config.audience && !(await ctx.storage.apis.get(p.aud))) return undefined;
    const grantId = grantIdOfJti(String(p.jti));
    let revoked = await ctx.storage.accessTokens.isRevoked(String(p.jti), grantId);
    // A grant-less token (client credentials) dies with its client — also when an application is
    // created again under the same client_id: a token older than its client is not its client's.
    // User tokens die with their grant.
    if (!revoked && grantId === null) {
      const client = await ctx.storage.clients.get(String(p.client_id));
      revoked = !client || (Number(p.iat) + 1) * 1000 <= client.createdAt;
    }
    return { payload: p, revoked };
  } catch (err) {
    if (err instanceof errors.JOSEError) return undefined;
    throw err;
  }
}

/** OIDC RP-Initiated Logout §2: id_token_hint is accepted expired, but signature and issuer are checked. */
export async function verifyIdTokenHint(ctx: VerifyDeps, token: string): Promise<JWTPayload | undefined> {
  if (!looksLikeJwt(token)) return undefined;
  try {
    const { payload, protectedHeader } = await jwtVerify(token, await keySet(ctx), {
      issuer: ctx.config.issuer,
      algorithms: ['RS256'],
      currentDate: new Date(ctx.clock.now()),
      clockTolerance: 10 * 365 * 86400,
    });
    return protectedHeader.typ === 'at+jwt' ? undefined : payload;
  } catch (err) {
    if (err instanceof errors.JOSEError) return undefined;
    throw err;
  }
}

/** The DPoP key thumbprint an access token is bound to (RFC 9449 §6.1 `cnf.jkt`), if any. */
export function boundKey(payload: Record<string, unknown>): string | undefined {
  const cnf = payload['cnf'];
  if (typeof cnf !== 'object' || cnf === null) return undefined;
  const jkt = (cnf as Record<string, unknown>)['jkt'];
  return typeof jkt === 'string' ? jkt : undefined;
}
