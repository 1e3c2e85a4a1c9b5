/**
 * POST /account/password: a new password, with the current one. The current one is checked by
 * the sign-in's own sequence (auth/sign-in.ts: throttled like any sign-in, audited with
 * `via: account`), the new one by the rules an administrator's reset follows (admin/users.ts
 * checkPassword). The person's other sessions end (whoever had the old password is signed out);
 * this one stays. Their applications' grants are left alone: revoking an application's access
 * is its own button below.
 */
import type { RouteHandlerMethod } from 'fastify';
import { checkPassword, UserInputError } from '../../../admin/users.js';
import { signInWithPassword } from '../../../auth/sign-in.js';
import type { ServerContext } from '../../../context.js';
import { openSessions, renderAccount } from './home.js';
import { accountRoute, seeOther } from './page.js';

export function postPassword(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    const user = a.signedIn.user;
    const current = a.params.get('current') ?? '';
    const next = a.params.get('password') ?? '';
    const again = a.params.get('confirm') ?? '';
    const wrong = (status: number, message: string) =>
      renderAccount(ctx, reply, a, { status, error: { section: 'password', message } });
    if (!current || !next) return wrong(400, 'Enter your current password and a new one.');
    if (next !== again) return wrong(400, 'The new password and its confirmation differ.');
    if (next === current) return wrong(400, 'The new password is the one you have now. Choose another.');
    try {
      checkPassword(next);
    } catch (err) {
      if (!(err instanceof UserInputError)) throw err;
      return wrong(400, `The new ${err.message}.`);
    }
    const check = await signInWithPassword(ctx.signIn, {
      username: user.username,
      password: current,
      ip: req.ip,
      via: 'account',
    });
    if (check.outcome === 'throttled') {
      reply.header('retry-after', String(check.retryAfterSec));
      return wrong(429, check.message);
    }
    if (check.outcome !== 'ok' || check.user.id !== user.id)
      return wrong(401, 'Your current password is not right.');
    const now = ctx.clock.now();
    await ctx.storage.users.setPasswordHash(user.id, await ctx.passwords.hash(next), now);
    let ended = 0;
    for (const s of await openSessions(ctx, a)) {
      if (s.idHash === a.signedIn.session.idHash) continue;
      await ctx.storage.sessions.end(s.idHash, now);
      ended++;
    }
    await ctx.audit.record('password_changed', {
      userId: user.id,
      ip: req.ip,
      detail: { via: 'account', sessions_ended: ended },
    });
    return seeOther(reply, '/account?done=password-changed');
  });
}
