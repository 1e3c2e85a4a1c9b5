/**
 * Demo mode's redirect URI (`latchkey serve --demo` only): GET /demo/callback shows the code and
 * the exact token request; POST /demo/exchange makes that request at this server's own /token
 * and shows the tokens decoded; GET /demo/mail lists the development outbox (without SMTP).
 * Nothing here exists without --demo. demoRoutes registers the handlers, getDemoCallback,
 * postDemoExchange and getDemoMail; `tokenCurl` is also the start-up banner's.
 */
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { ServerContext } from '../../context.js';
import { randomToken, safeEqual } from '../../crypto.js';
import { DEMO_CALLBACK_PATH, type DemoAttempts } from '../../demo/attempts.js';
import type { DevMailbox } from '../../ops/mail.js';
import { invalidRequest, OAuthError } from '../../protocol/errors.js';
import { readParams } from '../../protocol/params.js';
import { demoCallbackPage, demoMailPage, demoTokensPage, type ShownToken } from '../../ui/demo-pages.js';
import { isForm } from '../form.js';
import { sendHtml } from '../respond.js';
import { cookieValue, secureCookies } from '../session.js';

const CSRF_COOKIE = 'latchkey_demo_csrf';

/** The exchange as a shell command, as the seed guide shows it. */
export function tokenCurl(p: {
  issuer: string;
  clientId: string;
  code: string;
  verifier: string;
  redirectUri: string;
}): string {
  return [
    `curl -X POST ${p.issuer}/token \\`,
    '  -d grant_type=authorization_code \\',
    `  -d client_id=${p.clientId} \\`,
    `  -d redirect_uri=${p.redirectUri} \\`,
    `  -d code=${p.code} \\`,
    `  -d code_verifier=${p.verifier}`,
  ].join('\n');
}

export function demoRoutes(app: FastifyInstance, ctx: ServerContext, demo: DemoAttempts): void {
  const config = { html: true };
  app.get(DEMO_CALLBACK_PATH, { config, exposeHeadRoute: false }, getDemoCallback(ctx, demo));
  app.post('/demo/exchange', { config }, postDemoExchange(app, ctx, demo));
  const mailbox = ctx.mailer.devMailbox;
  if (mailbox) app.get('/demo/mail', { config, exposeHeadRoute: false }, getDemoMail(mailbox));
}

/** GET /demo/mail: the development outbox (demo mode without SMTP only; never logged). */
export function getDemoMail(mailbox: DevMailbox): RouteHandlerMethod {
  return async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    const messages = mailbox.list().map((m) => ({
      at: new Date(m.at).toISOString(),
      to: m.to.name ? `${m.to.name} <${m.to.address}>` : m.to.address,
      subject: m.subject,
      text: m.text,
    }));
    return sendHtml(reply, 200, demoMailPage({ messages }));
  };
}

/** The demo page's redirect URI, as the demo application registers it. */
const demoRedirectUri = (ctx: ServerContext) => `${ctx.config.issuer}${DEMO_CALLBACK_PATH}`;

/** GET /demo/callback: the code (or the error), the token request as curl, and an Exchange button. */
export function getDemoCallback(ctx: ServerContext, demo: DemoAttempts): RouteHandlerMethod {
  const redirectUri = demoRedirectUri(ctx);
  return async (req, reply) => {
    const q = readParams(req.query);
    const code = q.get('code');
    const state = q.get('state') ?? '';
    const verifier = state ? demo.peek(state) : undefined;
    const clientId = demo.clientId;
    const csrf = randomToken(24);
    reply.setCookie(CSRF_COOKIE, csrf, {
      path: '/demo',
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookies(ctx),
      maxAge: 600,
    });
    reply.header('cache-control', 'no-store');
    return sendHtml(
      reply,
      code === undefined ? 400 : 200,
      demoCallbackPage({
        code,
        error: q.get('error'),
        errorDescription: q.get('error_description'),
        curl:
          code !== undefined && verifier && clientId
            ? tokenCurl({ issuer: ctx.config.issuer, clientId, code, verifier, redirectUri })
            : undefined,
        csrf,
        state,
        canExchange: verifier !== undefined && clientId !== undefined,
      }),
    );
  };
}

/**
 * POST /demo/exchange: the callback page's form (CSRF-checked); makes the token request at this
 * server's own /token, through `app.inject`, and shows the answer, tokens decoded.
 */
export function postDemoExchange(
  app: FastifyInstance,
  ctx: ServerContext,
  demo: DemoAttempts,
): RouteHandlerMethod {
  const redirectUri = demoRedirectUri(ctx);
  return async (req, reply) => {
    if (!isForm(req)) throw invalidRequest('The exchange must be a form.');
    const body = readParams(req.body);
    const csrf = body.get('csrf');
    const cookie = cookieValue(req, CSRF_COOKIE);
    if (!csrf || !cookie || !safeEqual(csrf, cookie)) {
      throw new OAuthError(
        'invalid_request',
        'The form was not submitted from this page (CSRF check failed).',
        {
          status: 403,
        },
      );
    }
    const code = body.get('code');
    const verifier = demo.take(body.get('state') ?? '');
    const clientId = demo.clientId;
    if (!code || !verifier || !clientId) {
      throw invalidRequest(
        'This code was not started from the authorize URL printed at start-up (or was exchanged already).',
      );
    }
    // The real token endpoint, through the whole HTTP stack of this server.
    const res = await app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        redirect_uri: redirectUri,
        code,
        code_verifier: verifier,
      }).toString(),
    });
    const answer = res.json() as Record<string, unknown>;
    reply.clearCookie(CSRF_COOKIE, { path: '/demo' });
    reply.header('cache-control', 'no-store');
    if (res.statusCode !== 200) {
      const error = `${String(answer['error'])}${answer['error_description'] ? `: ${String(answer['error_description'])}` : ''}`;
      return sendHtml(reply, 400, demoTokensPage({ status: res.statusCode, tokens: [], error }));
    }
    const tokens: ShownToken[] = [];
    for (const name of ['access_token', 'id_token', 'refresh_token']) {
      const value = answer[name];
      if (typeof value === 'string') tokens.push(show(name, value));
    }
    const rest = Object.fromEntries(Object.entries(answer).filter(([k]) => !k.endsWith('_token')));
    tokens.push({ name: 'the rest of the response', value: JSON.stringify(rest, null, 2) });
    return sendHtml(reply, 200, demoTokensPage({ status: res.statusCode, tokens }));
  };
}

/** A token as the tokens page shows it: a JWT also as its decoded header and claims. */
function show(name: string, value: string): ShownToken {
  if (value.split('.').length !== 3) return { name, value };
  try {
    return {
      name,
      value,
      header: JSON.stringify(decodeProtectedHeader(value), null, 2),
      claims: JSON.stringify(decodeJwt(value), null, 2),
    };
  } catch {
    return { name, value };
  }
}
