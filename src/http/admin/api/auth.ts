/**
 * Who may call the admin API: `Authorization: Bearer <LATCHKEY_ADMIN_TOKEN>` (when the setting is
 * unset the token door is closed and the API answers 404 to anyone but a signed-in admin), or an
 * admin's console session plus the console's CSRF token in the `X-Latchkey-CSRF` header. The
 * checks themselves (constant-time token and CSRF compares, the session) are in
 * ../console/auth.ts, shared with the console.
 */
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../../admin/actions.js';
import type { ServerContext } from '../../../context.js';
import { OAuthError } from '../../../protocol/errors.js';
import { bearerMatches, CSRF_HEADER, consoleAuth, csrfMatches } from '../console/auth.js';
import { notFound } from './json.js';

/** The caller as an audit actor, or a 401 / 403 / 404 OAuthError. */
export async function authenticate(ctx: ServerContext, req: FastifyRequest): Promise<Actor> {
  const token = ctx.config.adminToken;
  const header = req.headers.authorization;
  if (header !== undefined) {
    if (token === undefined) throw notFound();
    if (!bearerMatches(header, token)) {
      throw new OAuthError('invalid_token', 'The admin token is missing or wrong.', {
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="latchkey-admin", error="invalid_token"' },
      });
    }
    return { via: 'api', ip: req.ip };
  }
  const auth = await consoleAuth(ctx, req);
  if (auth.status === 'admin') {
    if (!csrfMatches(req.headers[CSRF_HEADER], auth.csrf)) {
      throw new OAuthError(
        'access_denied',
        `With a console session, the admin API needs the console's CSRF token in the ${CSRF_HEADER} header.`,
        { status: 403 },
      );
    }
    return { via: 'api', ip: req.ip, admin: auth.signedIn.user.username };
  }
  if (auth.status === 'not-admin')
    throw new OAuthError('access_denied', 'This account is not an administrator.', { status: 403 });
  if (token === undefined) throw notFound();
  throw new OAuthError('invalid_token', 'The admin API needs Authorization: Bearer <admin token>.', {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="latchkey-admin"' },
  });
}
