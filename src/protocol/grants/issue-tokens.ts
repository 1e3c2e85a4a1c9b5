/** Issues the tokens of one grant: access token, ID token when `openid`, refresh token when allowed. */
import { randomToken, sha256 } from '../../crypto.js';
import type { Api, Client, Grant, User } from '../../storage/types.js';
import { accessTokenAlgOf, lifetimesOf } from '../../tokens/lifetimes.js';
import type { MintedAccessToken } from '../../tokens/mint.js';
import { isFapi2 } from '../client-policy.js';
import { hasScope } from '../scopes.js';
import type { IssueDeps, TokenResponse } from './types.js';

/** OIDC Core §5.4: claims by scope. */
export function claimsFor(user: User, scope: string): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (hasScope(scope, 'profile')) {
    if (user.name !== null) claims['name'] = user.name;
    claims['preferred_username'] = user.username;
    claims['updated_at'] = Math.floor(user.updatedAt / 1000);
  }
  if (hasScope(scope, 'email') && user.email !== null) {
    claims['email'] = user.email;
    claims['email_verified'] = false;
  }
  return claims;
}

/**
 * Mints an access token for `api` (its `aud`), with the lifetime and algorithm in force for this
 * application and API (tokens/lifetimes.ts). Nothing is written: its jti names its grant, which
 * is what revocation, introspection and userinfo check (tokens/jti.ts).
 */
export async function issueAccessToken(
  deps: Pick<IssueDeps, 'lifetimes' | 'minter'>,
  client: Client,
  api: Api,
  t: { sub: string; scope: string; grantId: string | null; authTime?: number; acr?: string; jkt?: string },
): Promise<{ at: MintedAccessToken; ttl: number }> {
  const ttl = lifetimesOf(client, deps.lifetimes, api).accessToken.seconds;
  const at = await deps.minter.accessToken({
    sub: t.sub,
    grantId: t.grantId,
    clientId: client.clientId,
    scope: t.scope,
    ttlSec: ttl,
    aud: api.identifier,
    alg: accessTokenAlgOf(client, deps.lifetimes, api).alg,
    ...(t.authTime !== undefined ? { authTime: t.authTime } : {}),
    ...(t.acr !== undefined ? { acr: t.acr } : {}),
    ...(t.jkt !== undefined ? { jkt: t.jkt } : {}),
  });
  return { at, ttl };
}

export async function issueUserTokens(
  deps: IssueDeps,
  client: Client,
  grant: Grant,
  user: User,
  scope: string,
  opts: {
    nonce: string | null;
    /** The API the access token is for (grants/token-resource.ts); `scope` is narrowed to it. */
    api: Api;
    refresh?: 'new' | 'none' | { keep: string };
    jkt?: string;
  },
): Promise<TokenResponse> {
  const { at, ttl } = await issueAccessToken(deps, client, opts.api, {
    sub: user.id,
    scope,
    grantId: grant.id,
    authTime: grant.authTime,
    ...(grant.acr !== undefined ? { acr: grant.acr } : {}),
    ...(opts.jkt !== undefined ? { jkt: opts.jkt } : {}),
  });
  const response: TokenResponse = {
    access_token: at.token,
    token_type: opts.jkt !== undefined ? 'DPoP' : 'Bearer',
    expires_in: ttl,
    scope,
  };
  if (hasScope(scope, 'openid')) {
    response.id_token = await deps.minter.idToken({
      sub: user.id,
      clientId: client.clientId,
      nonce: opts.nonce,
      authTime: grant.authTime,
      sid: grant.sessionHash ? grant.sessionHash.slice(0, 22) : null,
      accessToken: at.token,
      ttlSec: lifetimesOf(client, deps.lifetimes).idToken.seconds,
      claims: claimsFor(user, scope),
      ...(grant.amr !== undefined ? { amr: grant.amr } : {}),
      ...(grant.acr !== undefined ? { acr: grant.acr } : {}),
      // FAPI 2.0 Security Profile, cryptography and secrets: PS256, ES256 or EdDSA for everything signed for a fapi2 application.
      ...(isFapi2(client) ? { es256: true } : {}),
    });
  }
  const refresh = opts.refresh ?? (mayRefresh(client, grant.scope) ? 'new' : undefined);
  if (refresh === 'new')
    response.refresh_token = await issueRefreshToken(deps, client, grant, user, opts.jkt);
  else if (refresh !== undefined && refresh !== 'none') response.refresh_token = refresh.keep;
  return response;
}

/** Refresh tokens go to clients allowed the grant that asked for offline_access. */
export const mayRefresh = (client: Client, grantScope: string): boolean =>
  client.grantTypes.includes('refresh_token') && hasScope(grantScope, 'offline_access');

/**
 * An opaque token of 256 random bits, stored as a hash, in the grant's family. RFC 9449 §5: a
 * public client's refresh token is bound to the DPoP key of the request (confidential clients'
 * are bound by their client authentication).
 */
export async function issueRefreshToken(
  deps: IssueDeps,
  client: Client,
  grant: Grant,
  user: User,
  jkt?: string,
): Promise<string> {
  const token = randomToken(32);
  const now = deps.clock.now();
  const lifetimes = lifetimesOf(client, deps.lifetimes);
  const familyEnd = grant.createdAt + lifetimes.refreshToken.seconds * 1000;
  await deps.stores.refreshTokens.insert({
    hash: sha256(token),
    grantId: grant.id,
    clientId: client.clientId,
    userId: user.id,
    scope: grant.scope,
    createdAt: now,
    expiresAt: familyEnd,
    idleExpiresAt: Math.min(familyEnd, now + lifetimes.refreshIdle.seconds * 1000),
    consumedAt: null,
    successor: null,
    graceUntil: null,
    ...(jkt !== undefined && client.tokenEndpointAuthMethod === 'none' ? { dpopJkt: jkt } : {}),
  });
  return token;
}
