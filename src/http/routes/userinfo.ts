/**
 * UserInfo (OIDC Core §5.3): GET, POST with the Bearer header, POST with access_token in the
 * body (RFC 6750 §2). One handler, serveUserinfo, for both methods; bearerToken finds the token.
 */
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../context.js';
import { invalidRequest, invalidToken, OAuthError } from '../../protocol/errors.js';
import { claimsFor } from '../../protocol/grants/issue-tokens.js';
import { readParams } from '../../protocol/params.js';
import { hasScope } from '../../protocol/scopes.js';
import { verifyAccessToken } from '../../tokens/verify.js';
import { isForm } from '../form.js';

export function userinfoRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const handle = serveUserinfo(ctx);
  app.get('/userinfo', { config: { cors: true } }, handle);
  app.post('/userinfo', { config: { cors: true } }, handle);
}

/** GET and POST /userinfo: the claims of the token's user that its scopes allow. */
export function serveUserinfo(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const token = bearerToken(req);
    const verified = await verifyAccessToken(ctx, token);
    if (!verified || verified.revoked) throw invalidToken('The access token is invalid, expired or revoked.');
    const { payload } = verified;
    if (!hasScope(payload.scope, 'openid')) {
      throw new OAuthError('insufficient_scope', 'The access token does not carry the openid scope.', {
        status: 403,
        headers: {
          'www-authenticate': 'Bearer realm="latchkey", error="insufficient_scope", scope="openid"',
        },
      });
    }
    const user = await ctx.storage.users.getById(payload.sub);
    if (!user || user.disabled) throw invalidToken('The user of this access token can no longer sign in.');
    return reply
      .header('cache-control', 'no-store')
      .send({ sub: user.id, ...claimsFor(user, payload.scope) });
  };
}

/** RFC 6750 §2: exactly one method; header or (POST form) body, never the query. */
export function bearerToken(req: FastifyRequest): string {
  const header = req.headers.authorization;
  let body: string | undefined;
  if (req.method === 'POST' && req.body !== undefined && req.body !== null) {
    if (!isForm(req)) throw invalidRequest('The request body must be application/x-www-form-urlencoded.');
    const params = readParams(req.body);
    if (params.duplicated.includes('access_token'))
      throw invalidRequest('access_token was given more than once.');
    body = params.get('access_token');
  }
  if (header !== undefined && body !== undefined)
    throw invalidRequest('Send the access token in one place only.');
  if (header !== undefined) {
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!m) throw invalidToken('The Authorization header is not a Bearer token.');
    return m[1]!;
  }
  if (body !== undefined) return body;
  throw new OAuthError('invalid_token', 'An access token is required.', {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="latchkey"' },
  });
}
