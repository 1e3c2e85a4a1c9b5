/**
 * Token revocation (RFC 7009) and introspection (RFC 7662): two handlers, postRevoke and
 * postIntrospect, that read the same authenticated form (`authenticated`). Introspection
 * answers for an access token (introspectAccess) or a refresh token (introspectRefresh).
 */
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../context.js';
import { sha256 } from '../../crypto.js';
import type { AuthenticatedClient } from '../../protocol/client-auth.js';
import { invalidClient, invalidRequest } from '../../protocol/errors.js';
import { grantIdOfJti } from '../../tokens/jti.js';
import { boundKey, verifyAccessToken } from '../../tokens/verify.js';
import { authenticatedForm } from '../form.js';

/** RFC 7009 §2.1 / RFC 7662 §2.1: an authenticated form with `token` and an optional hint. */
async function authenticated(
  ctx: ServerContext,
  req: FastifyRequest,
): Promise<{ auth: AuthenticatedClient; token: string }> {
  const { params, auth } = await authenticatedForm(ctx, req);
  const token = params.get('token');
  if (!token) throw invalidRequest('The token parameter is missing.');
  // token_type_hint is only a hint (RFC 7009 §2.1, RFC 7662 §2.1): every type is searched
  // whatever it says, and values we do not know are ignored.
  return { auth, token };
}

export function revokeIntrospectRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/revoke', { config: { cors: true } }, postRevoke(ctx));
  app.post('/introspect', postIntrospect(ctx));
}

/**
 * POST /revoke (RFC 7009): a refresh token revokes its whole grant, an access token itself; only
 * the client's own tokens. §2.2: 200 whether or not the token was known; the hint is a hint
 * (§2.1), not trusted.
 */
export function postRevoke(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { auth, token } = await authenticated(ctx, req);
    const now = ctx.clock.now();
    const refresh = token.length <= 512 ? await ctx.storage.refreshTokens.get(sha256(token)) : undefined;
    if (refresh) {
      if (refresh.clientId === auth.client.clientId)
        await ctx.storage.grants.revokeGrant(refresh.grantId, now);
      return reply.header('cache-control', 'no-store').send();
    }
    const access = await verifyAccessToken(ctx, token);
    if (access && access.payload.client_id === auth.client.clientId) {
      const p = access.payload;
      await ctx.storage.accessTokens.revoke(
        {
          jti: p.jti,
          grantId: grantIdOfJti(p.jti),
          clientId: p.client_id,
          sub: p.sub,
          scope: typeof p.scope === 'string' ? p.scope : '',
          expiresAt: (p.exp ?? 0) * 1000,
        },
        now,
      );
    }
    return reply.header('cache-control', 'no-store').send();
  };
}

/**
 * POST /introspect (RFC 7662 §2): only for authenticated confidential clients (e.g. a service
 * acting for an API). An access token is looked at first, then a refresh token.
 */
export function postIntrospect(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { auth, token } = await authenticated(ctx, req);
    if (auth.method === 'none')
      throw invalidClient('Introspection needs an authenticated confidential client.');
    // RFC 7662 §4: only callers entitled to the token learn about it — its own client, or a
    // service application (an API introspecting the tokens presented to it).
    const entitled = (clientId: string) =>
      auth.client.type === 'service' || clientId === auth.client.clientId;
    reply.header('cache-control', 'no-store');
    const now = ctx.clock.now();
    const access = await verifyAccessToken(ctx, token);
    if (access) return introspectAccess(ctx, access, entitled);
    return introspectRefresh(ctx, token, now, entitled);
  };
}

type Entitled = (clientId: string) => boolean;

/** The introspection answer for a (signature-checked) access token. */
async function introspectAccess(
  ctx: ServerContext,
  access: NonNullable<Awaited<ReturnType<typeof verifyAccessToken>>>,
  entitled: Entitled,
): Promise<Record<string, unknown>> {
  if (access.revoked || !entitled(access.payload.client_id)) return { active: false };
  const p = access.payload;
  const user = p.sub === p.client_id ? undefined : await ctx.storage.users.getById(p.sub);
  if (user?.disabled) return { active: false };
  return {
    active: true,
    scope: p.scope,
    client_id: p.client_id,
    ...(user ? { username: user.username } : {}),
    token_type: boundKey(p) !== undefined ? 'DPoP' : 'Bearer',
    exp: p.exp,
    iat: p.iat,
    sub: p.sub,
    aud: p.aud,
    iss: p.iss,
    jti: p.jti,
    // RFC 9449 §6.2: the confirmation of a DPoP-bound token.
    ...(boundKey(p) !== undefined ? { cnf: { jkt: boundKey(p) } } : {}),
  };
}

/** The introspection answer for anything else: a live refresh token of a live grant, or inactive. */
async function introspectRefresh(
  ctx: ServerContext,
  token: string,
  now: number,
  entitled: Entitled,
): Promise<Record<string, unknown>> {
  const refresh = token.length <= 512 ? await ctx.storage.refreshTokens.get(sha256(token)) : undefined;
  if (
    !refresh ||
    !entitled(refresh.clientId) ||
    refresh.consumedAt !== null ||
    refresh.expiresAt <= now ||
    refresh.idleExpiresAt <= now
  )
    return { active: false };
  const grant = await ctx.storage.grants.getGrant(refresh.grantId);
  const user = await ctx.storage.users.getById(refresh.userId);
  if (!grant || grant.revokedAt !== null || !user || user.disabled) return { active: false };
  return {
    active: true,
    scope: refresh.scope,
    client_id: refresh.clientId,
    username: user.username,
    token_type: 'refresh_token',
    exp: Math.floor(Math.min(refresh.expiresAt, refresh.idleExpiresAt) / 1000),
    iat: Math.floor(refresh.createdAt / 1000),
    sub: refresh.userId,
    iss: ctx.config.issuer,
  };
}
