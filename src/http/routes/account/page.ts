/**
 * What every account page handler shares: `accountRoute(ctx, rule, fn)`, the wrapper that
 * 1. wants the browser's session, or sends the person through the sign-in (account/sign-in.ts);
 * 2. for a POST, reads the form and checks its CSRF token, derived from the raw session cookie
 *    (never stored: the database holds only the cookie's SHA-256, so even a database reader
 *    cannot forge it; the admin console derives its own the same way under another label);
 * 3. asks the MFA policy whether the session is enough for the account page (LATCHKEY_MFA, as for
 *    an application), else starts the missing steps (a step-up);
 * 4. for a change (`rule` `change`), wants a recent sign-in: the latest method of the session no
 *    older than RECENT_AUTH_MS, else nothing is changed and the person signs in again
 *    (prompt=login) and comes back to the account page;
 * and renders an OAuthError as a message page (bad input never ends as a 500).
 */
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { lastAuthTime } from '../../../auth/sign-in-policy.js';
import type { ServerContext } from '../../../context.js';
import { safeEqual, sha256 } from '../../../crypto.js';
import { OAuthError } from '../../../protocol/errors.js';
import { type Params, readParams } from '../../../protocol/params.js';
import { accountMessagePage } from '../../../ui/account-pages.js';
import { sessionStep } from '../../authorize-flow.js';
import { isForm } from '../../form.js';
import { sendHtml } from '../../respond.js';
import { type ActiveSession, cookieValue, currentSession, SESSION_COOKIE } from '../../session.js';
import { sessionMethods } from '../interaction/steps.js';
import {
  ACCOUNT_PATH,
  type AccountReturnPath,
  accountClient,
  accountRequest,
  startAccountSignIn,
} from './sign-in.js';

/** A change needs a sign-in this recent (OWASP ASVS 4.0 §3.7.1: re-authenticate for sensitive changes). */
export const RECENT_AUTH_MS = 5 * 60_000;

/** What `accountRoute` hands a handler once the session and the form have been checked. */
export interface AccountRequest {
  signedIn: ActiveSession;
  /** The CSRF token of this browser session, for the forms of the page. */
  csrf: string;
  /** The form of a POST, or the query of a GET. */
  params: Params;
  /** The person signed in within RECENT_AUTH_MS (changes go ahead without a new sign-in). */
  recent: boolean;
}

export type AccountHandler = (
  req: FastifyRequest,
  reply: FastifyReply,
  a: AccountRequest,
) => Promise<FastifyReply>;

/**
 * `view`: a page for any signed-in person; `change`: needs a recent sign-in (a form that changes
 * something, or a page that starts one: a new passkey, an authenticator app's secret); `post`: a
 * form that needs no recent sign-in (signing this browser out, cancelling a set-up).
 */
export type AccountRule = 'view' | 'change' | 'post';

/** The account page's CSRF token for a browser session (the raw cookie value). */
export const accountCsrf = (rawSessionCookie: string): string =>
  sha256(`latchkey-account-csrf\u0000${rawSessionCookie}`);

export const seeOther = (reply: FastifyReply, location: string): FastifyReply =>
  reply.code(303).header('cache-control', 'no-store').header('location', location).send();

/** The `:id` of the route, when it has the shape of the ids this server makes (else none matches). */
export function idParam(req: FastifyRequest): string {
  const id = (req.params as { id?: unknown }).id;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : '';
}

/**
 * What a sign-in that did not finish came back with (account/sign-in.ts redirects errors to the
 * page as an application would get them). Only our own words are shown, never the query's.
 */
function unfinishedSignIn(query: Params): string | undefined {
  const error = query.get('error');
  if (error === undefined) return undefined;
  if (error === 'access_denied') return 'The sign-in was cancelled.';
  if (error === 'unmet_authentication_requirements')
    return 'Your account cannot sign in here the way this server requires. Ask an administrator for help.';
  return 'The sign-in did not finish.';
}

const notSignedIn = (reply: FastifyReply, message: string) =>
  sendHtml(
    reply,
    200,
    accountMessagePage({
      title: 'Not signed in',
      message,
      link: { href: ACCOUNT_PATH, label: 'Sign in to your account' },
    }),
  );

export function accountRoute(
  ctx: ServerContext,
  rule: AccountRule,
  fn: AccountHandler,
  opts: { returnTo?: AccountReturnPath } = {},
): RouteHandlerMethod {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const post = req.method === 'POST';
    // A form's change is not replayed after a sign-in: the person comes back to the page.
    const returnTo: AccountReturnPath = post ? ACCOUNT_PATH : (opts.returnTo ?? ACCOUNT_PATH);
    const query = readParams(req.query);
    const signedIn = await currentSession(ctx, req);
    const raw = cookieValue(req, SESSION_COOKIE);
    if (!signedIn || raw === undefined) {
      const unfinished = post ? undefined : unfinishedSignIn(query);
      if (unfinished !== undefined) return notSignedIn(reply, unfinished);
      return startAccountSignIn(ctx, reply, returnTo);
    }
    const csrf = accountCsrf(raw);
    try {
      let params = query;
      if (post) {
        if (!isForm(req))
          throw new OAuthError('invalid_request', 'The form could not be read.', { status: 400 });
        params = readParams(req.body);
        const presented = params.get('csrf');
        if (
          params.duplicated.includes('csrf') ||
          presented === undefined ||
          presented.length > 256 ||
          !safeEqual(presented, csrf)
        )
          throw new OAuthError(
            'access_denied',
            'The form was not sent from your account page (CSRF check failed). Reload the page and try again.',
            { status: 403 },
          );
      }
      // The account page's own MFA policy, as /authorize asks it of an application's.
      const step = await sessionStep(ctx, accountClient(), accountRequest(returnTo, false), signedIn);
      if (step.step === 'unmet') throw new OAuthError('access_denied', step.reason, { status: 403 });
      if (step.step !== 'done') {
        const unfinished = post ? undefined : unfinishedSignIn(query);
        if (unfinished !== undefined) return notSignedIn(reply, unfinished);
        return startAccountSignIn(ctx, reply, returnTo, { signedIn });
      }
      const age = ctx.clock.now() - lastAuthTime(sessionMethods(signedIn.session));
      const recent = age <= RECENT_AUTH_MS;
      if (rule === 'change' && !recent) return startAccountSignIn(ctx, reply, returnTo, { fresh: true });
      return await fn(req, reply, { signedIn, csrf, params, recent });
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      return sendHtml(
        reply,
        err.status,
        accountMessagePage({
          title:
            err.status === 403
              ? 'Not allowed'
              : err.status === 404
                ? 'Not found'
                : err.status === 429
                  ? 'Too many attempts'
                  : 'This change was not made',
          message: err.description,
          link: { href: ACCOUNT_PATH, label: 'Back to your account' },
        }),
      );
    }
  };
}

/** A refusal shown on a message page: 400 unless said otherwise. */
export const refuse = (message: string, status = 400): OAuthError =>
  new OAuthError(status === 403 ? 'access_denied' : 'invalid_request', message, { status });
