/**
 * Sessions on the account page:
 * - POST /account/sessions/:id/end: signs out one of the person's other sessions (`:id` is the
 *   handle the page shows, home.ts sessionHandle, never the stored id);
 * - POST /account/sessions/end-others: signs out all of them but this one;
 * - POST /account/sign-out: signs this browser out (no recent sign-in needed for that).
 */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { accountMessagePage } from '../../../ui/account-pages.js';
import { sendHtml } from '../../respond.js';
import { clearSessionCookie } from '../../session.js';
import { openSessions, renderAccount, sessionHandle } from './home.js';
import { accountRoute, idParam, seeOther } from './page.js';
import { ACCOUNT_PATH } from './sign-in.js';

export function postSessionEnd(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    const handle = idParam(req);
    const target = (await openSessions(ctx, a)).find(
      (s) => handle !== '' && sessionHandle(s.idHash) === handle,
    );
    if (!target)
      return renderAccount(ctx, reply, a, {
        status: 404,
        error: { section: 'sessions', message: 'That session is not open any more.' },
      });
    if (target.idHash === a.signedIn.session.idHash)
      return renderAccount(ctx, reply, a, {
        status: 400,
        error: { section: 'sessions', message: 'To sign out this device, use “Sign out”.' },
      });
    await ctx.storage.sessions.end(target.idHash, ctx.clock.now());
    await ctx.audit.record('session_ended', {
      userId: a.signedIn.user.id,
      ip: req.ip,
      detail: { via: 'account', sessions: 1 },
    });
    return seeOther(reply, '/account?done=session-ended');
  });
}

export function postOtherSessionsEnd(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    const now = ctx.clock.now();
    let ended = 0;
    for (const s of await openSessions(ctx, a)) {
      if (s.idHash === a.signedIn.session.idHash) continue;
      await ctx.storage.sessions.end(s.idHash, now);
      ended++;
    }
    if (ended > 0)
      await ctx.audit.record('session_ended', {
        userId: a.signedIn.user.id,
        ip: req.ip,
        detail: { via: 'account', sessions: ended },
      });
    return seeOther(reply, '/account?done=sessions-ended');
  });
}

export function postSignOut(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'post', async (req, reply, a) => {
    await ctx.storage.sessions.end(a.signedIn.session.idHash, ctx.clock.now());
    await ctx.audit.record('logout', { userId: a.signedIn.user.id, ip: req.ip, detail: { via: 'account' } });
    clearSessionCookie(ctx, reply);
    return sendHtml(
      reply,
      200,
      accountMessagePage({
        title: 'You are signed out',
        message: 'This browser is no longer signed in to Latchkey.',
        link: { href: ACCOUNT_PATH, label: 'Sign in again' },
      }),
    );
  });
}
