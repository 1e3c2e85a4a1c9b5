/**
 * The admin console's sign-in and sign-out: GET/POST /admin/login (a pre-session CSRF cookie,
 * double submit, then the one password sign-in of src/auth/sign-in.ts, refusing accounts that
 * are not administrators) and POST /admin/logout (ends the browser session, audited).
 */
import type { RouteHandlerMethod } from 'fastify';
import { MAX_USERNAME_LENGTH, signInWithPassword } from '../../../auth/sign-in.js';
import type { ServerContext } from '../../../context.js';
import { randomToken, sha256 } from '../../../crypto.js';
import { readParams } from '../../../protocol/params.js';
import { adminLoginPage, adminMessagePage } from '../../../ui/admin/pages.js';
import { isForm } from '../../form.js';
import { sendHtml } from '../../respond.js';
import {
  clearSessionCookie,
  cookieValue,
  SESSION_COOKIE,
  secureCookies,
  startSession,
} from '../../session.js';
import { consoleAuth, csrfMatches } from './auth.js';
import { page, seeOther } from './page.js';

/** Pre-session CSRF cookie of the admin sign-in form (double submit, HttpOnly, SameSite=Strict). */
export const ADMIN_LOGIN_COOKIE = 'latchkey_admin_login';

const loginCookieOpts = (ctx: ServerContext) => ({
  path: '/admin/login',
  httpOnly: true,
  sameSite: 'strict' as const,
  secure: secureCookies(ctx),
});

/** GET /admin/login: the sign-in form, or straight to /admin for a signed-in admin. */
export function getSignIn(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const auth = await consoleAuth(ctx, req);
    if (auth.status === 'admin') return seeOther(reply, '/admin');
    const csrf = randomToken(24);
    reply.setCookie(ADMIN_LOGIN_COOKIE, csrf, { ...loginCookieOpts(ctx), maxAge: 3600 });
    return sendHtml(reply, 200, adminLoginPage({ csrf }));
  };
}

/** POST /admin/login: CSRF double submit, then a password sign-in for administrators only. */
export function postSignIn(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const cookie = cookieValue(req, ADMIN_LOGIN_COOKIE);
    const params = isForm(req) ? readParams(req.body) : undefined;
    if (
      !params ||
      cookie === undefined ||
      params.duplicated.includes('csrf') ||
      !csrfMatches(params.get('csrf'), cookie)
    ) {
      return sendHtml(
        reply,
        403,
        adminMessagePage({
          title: 'Forbidden',
          message:
            'The sign-in form was not submitted from this browser (CSRF check failed). Open the sign-in page again.',
        }),
      );
    }
    const result = await signInWithPassword(ctx.signIn, {
      username: params.get('username') ?? '',
      password: params.get('password') ?? '',
      ip: req.ip,
      via: 'console',
      refuse: (user) => (user.isAdmin === true ? undefined : 'not_admin'),
    });
    const again = (status: number, error: string) =>
      sendHtml(
        reply,
        status,
        adminLoginPage({ csrf: cookie, username: result.username.slice(0, MAX_USERNAME_LENGTH), error }),
      );
    if (result.outcome === 'missing') return again(400, result.message);
    if (result.outcome === 'throttled') {
      reply.header('retry-after', String(result.retryAfterSec));
      return again(429, result.message);
    }
    if (result.outcome === 'failed') return again(401, result.message);
    if (result.outcome === 'refused') {
      return sendHtml(
        reply,
        403,
        adminMessagePage({
          title: 'Administrators only',
          message: `${result.user.username} is not an administrator account.`,
        }),
      );
    }
    const user = result.user;
    await startSession(ctx, reply, user, { pwd: ctx.clock.now() });
    reply.clearCookie(ADMIN_LOGIN_COOKIE, loginCookieOpts(ctx));
    return seeOther(reply, '/admin');
  };
}

/** POST /admin/logout: ends this browser's session and records the logout. */
export function postSignOut(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'home', async (req, reply, a) => {
    const raw = cookieValue(req, SESSION_COOKIE);
    if (raw !== undefined) await ctx.storage.sessions.end(sha256(raw), ctx.clock.now());
    clearSessionCookie(ctx, reply);
    await ctx.audit.record('logout', { ip: a.actor.ip, detail: { via: 'console', admin: a.actor.admin } });
    return seeOther(reply, '/admin/login');
  });
}
