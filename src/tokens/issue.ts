/** Issues the tokens of one grant: access token, ID token when `openid`, refresh token when allowed. */
import type { ServerContext } from '../context.js';
import { randomToken, sha256 } from '../crypto.js';
import type { TokenResponse } from '../protocol/grants/types.js';
import { hasScope } from '../protocol/scopes.js';
import type { Client, Grant, User } from '../storage/types.js';
import type { MintedAccessToken } from './mint.js';

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
 * Mints an access token with the client's lifetime. Nothing is written: its jti names its grant,
 * which is what revocation, introspection and userinfo check (tokens/jti.ts).
 */
export async function issueAccessToken(
  ctx: ServerContext,
  client: Client,
  t: { sub: string; scope: string; grantId: string | null; authTime?: number },
): Promise<{ at: MintedAccessToken; ttl: number }> {
  const ttl = client.accessTokenTtl ?? ctx.config.accessTokenTtlSec;
  const at = await ctx.minter.accessToken({
    sub: t.sub,
    grantId: t.grantId,
    clientId: client.clientId,
    scope: t.scope,
    ttlSec: ttl,
    ...(t.authTime !== undefined ? { authTime: t.authTime } : {}),
  });
  return { at, ttl };
}

export async function issueUserTokens(
  ctx: ServerContext,
  client: Client,
  grant: Grant,
  user: User,
  scope: string,
  opts: { nonce: string | null; refresh?: 'new' | 'none' | { keep: string } },
): Promise<TokenResponse> {
  const { at, ttl } = await issueAccessToken(ctx, client, {
    sub: user.id,
    scope,
    grantId: grant.id,
    authTime: grant.authTime,
  });
  const response: TokenResponse = { access_token: at.token, token_type: 'Bearer', expires_in: ttl, scope };
  if (hasScope(scope, 'openid')) {
    response.id_token = await ctx.minter.idToken({
      sub: user.id,
      clientId: client.clientId,
      nonce: opts.nonce,
      authTime: grant.authTime,
      sid: grant.sessionHash ? grant.sessionHash.slice(0, 22) : null,
      accessToken: at.token,
      ttlSec: ctx.config.idTokenTtlSec,
      claims: claimsFor(user, scope),
    });
  }
  const refresh = opts.refresh ?? (mayRefresh(client, grant.scope) ? 'new' : undefined);
  if (refresh === 'new') response.refresh_token = await issueRefreshToken(ctx, client, grant, user);
  else if (refresh !== undefined && refresh !== 'none') response.refresh_token = refresh.keep;
  return response;
}

/** Refresh tokens go to clients allowed the grant that asked for offline_access. */
export const mayRefresh = (client: Client, grantScope: string): boolean =>
  client.grantTypes.includes('refresh_token') && hasScope(grantScope, 'offline_access');

/** An opaque token of 256 random bits, stored as a hash, in the grant's family. */
export async function issueRefreshToken(
  ctx: ServerContext,
  client: Client,
  grant: Grant,
  user: User,
): Promise<string> {
  const token = randomToken(32);
  const now = ctx.clock.now();
  const absolute = (client.refreshTokenTtl ?? ctx.config.refreshTokenTtlSec) * 1000;
  const idle = (client.refreshIdleTtl ?? ctx.config.refreshIdleTtlSec) * 1000;
  const familyEnd = grant.createdAt + absolute;
  await ctx.storage.refreshTokens.insert({
    hash: sha256(token),
    grantId: grant.id,
    clientId: client.clientId,
    userId: user.id,
    scope: grant.scope,
    createdAt: now,
    expiresAt: familyEnd,
    idleExpiresAt: Math.min(familyEnd, now + idle),
    consumedAt: null,
    successor: null,
    graceUntil: null,
  });
  return token;
}
