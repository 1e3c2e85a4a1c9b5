/**
 * RP-Initiated Logout 1.0: end_session_endpoint with id_token_hint (accepted expired, signature
 * and issuer checked), client_id, a registered post_logout_redirect_uri and state. Without a
 * valid hint the user confirms on a page (CSRF-protected). An unregistered URI: error page.
 * Handlers: startLogout (GET and POST /logout) and postLogoutConfirm; both end in `finish`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../context.js';
import { randomToken, safeEqual } from '../../crypto.js';
import { invalidRequest, OAuthError } from '../../protocol/errors.js';
import { assertWellFormed, type Params, readParams } from '../../protocol/params.js';
import type { Client } from '../../storage/types.js';
import { verifyIdTokenHint } from '../../tokens/verify.js';
import { loggedOutPage, logoutConfirmPage } from '../../ui/pages.js';
import { isForm } from '../form.js';
import { appendQuery, sendHtml } from '../respond.js';
import { clearSessionCookie, cookieValue, currentSession, secureCookies } from '../session.js';

const LOGOUT_COOKIE = 'latchkey_logout';

interface LogoutRequest {
  client: Client | undefined;
  postLogoutRedirectUri: string | undefined;
  state: string | undefined;
  hintSub: string | undefined;
}

async function parseLogout(ctx: ServerContext, params: Params): Promise<LogoutRequest> {
  assertWellFormed(params);
  const hint = params.get('id_token_hint');
  let hintPayload: Awaited<ReturnType<typeof verifyIdTokenHint>>;
  if (hint !== undefined) {
    hintPayload = await verifyIdTokenHint(ctx, hint);
    if (!hintPayload) throw invalidRequest('The id_token_hint is not a valid ID token from this server.');
  }
  const auds = hintPayload
    ? Array.isArray(hintPayload.aud)
      ? hintPayload.aud
      : [hintPayload.aud ?? '']
    : [];
  const clientIdParam = params.get('client_id');
  if (clientIdParam !== undefined && hintPayload && !auds.includes(clientIdParam)) {
    throw invalidRequest('client_id does not match the audience of the id_token_hint.');
  }
  const clientId = clientIdParam ?? auds[0];
  const client = clientId ? await ctx.resolveClient(clientId) : undefined;
  if (clientId && !client) throw invalidRequest('Unknown client_id.');
  const uri = params.get('post_logout_redirect_uri');
  if (uri !== undefined) {
    if (!client) throw invalidRequest('post_logout_redirect_uri needs client_id or id_token_hint.');
    if (!client.postLogoutRedirectUris.includes(uri)) {
      throw invalidRequest('The post_logout_redirect_uri is not registered for this application.');
    }
  }
  return { client, postLogoutRedirectUri: uri, state: params.get('state'), hintSub: hintPayload?.sub };
}

export function logoutRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = { html: true };
  const start = startLogout(ctx);
  app.get('/logout', { config, exposeHeadRoute: false }, start);
  app.post('/logout', { config }, start);
  app.post('/logout/confirm', { config }, postLogoutConfirm(ctx));
}

/**
 * GET and POST /logout: with an id_token_hint for the signed-in user (or no session), signs out
 * at once; otherwise asks the user on a confirmation page, which posts to /logout/confirm.
 */
export function startLogout(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    if (req.method === 'POST' && !isForm(req)) throw invalidRequest('The logout request must be a form.');
    const params = readParams(req.method === 'POST' ? req.body : req.query);
    const lr = await parseLogout(ctx, params);
    const s = await currentSession(ctx, req);
    if (lr.hintSub !== undefined && (!s || s.user.id === lr.hintSub)) return finish(ctx, req, reply, lr);
    // No (matching) hint: ask the user.
    const csrf = randomToken(24);
    reply.setCookie(LOGOUT_COOKIE, csrf, {
      path: '/logout',
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookies(ctx),
      maxAge: 900,
    });
    const fields: Record<string, string> = {};
    if (lr.client) fields['client_id'] = lr.client.clientId;
    if (lr.postLogoutRedirectUri) fields['post_logout_redirect_uri'] = lr.postLogoutRedirectUri;
    if (lr.state !== undefined) fields['state'] = lr.state;
    return sendHtml(reply, 200, logoutConfirmPage({ action: '/logout/confirm', csrf, fields }));
  };
}

/** POST /logout/confirm: the confirmation page's form (CSRF-checked); its fields are parsed again. */
export function postLogoutConfirm(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    if (!isForm(req)) throw invalidRequest('The logout request must be a form.');
    const params = readParams(req.body);
    const csrf = params.get('csrf');
    const cookie = cookieValue(req, LOGOUT_COOKIE);
    if (!csrf || !cookie || !safeEqual(csrf, cookie)) {
      throw new OAuthError(
        'invalid_request',
        'The sign-out form was not submitted from this server (CSRF check failed).',
        { status: 403 },
      );
    }
    const rest = readParams(
      Object.fromEntries(
        ['client_id', 'post_logout_redirect_uri', 'state'].flatMap((k) =>
          params.has(k) ? [[k, params.get(k)]] : [],
        ),
      ),
    );
    return finish(ctx, req, reply, await parseLogout(ctx, rest));
  };
}

/** Ends the session (if any), clears the cookies, then redirects to the client or shows a page. */
async function finish(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, lr: LogoutRequest) {
  const s = await currentSession(ctx, req);
  if (s) {
    await ctx.storage.sessions.end(s.session.idHash, ctx.clock.now());
    await ctx.audit.record('logout', {
      userId: s.user.id,
      clientId: lr.client?.clientId ?? null,
      ip: req.ip,
    });
  }
  clearSessionCookie(ctx, reply);
  reply.clearCookie(LOGOUT_COOKIE, { path: '/logout' });
  if (lr.postLogoutRedirectUri) {
    const fields: Record<string, string> = lr.state !== undefined ? { state: lr.state } : {};
    const location =
      Object.keys(fields).length > 0
        ? appendQuery(lr.postLogoutRedirectUri, fields)
        : lr.postLogoutRedirectUri;
    return reply.code(303).header('cache-control', 'no-store').header('location', location).send();
  }
  return sendHtml(reply, 200, loggedOutPage());
}
