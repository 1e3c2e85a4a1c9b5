/**
 * POST /account/recovery-codes: a new set of recovery codes (the old ones stop working), shown
 * once. Only for a person with a passkey or an authenticator app: codes stand in for those.
 */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { accountRecoveryCodesPage } from '../../../ui/account-pages.js';
import { sendHtml } from '../../respond.js';
import { factorsOf } from './factors.js';
import { renderAccount } from './home.js';
import { accountRoute } from './page.js';

export function postRecoveryCodes(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    const userId = a.signedIn.user.id;
    if ((await factorsOf(ctx, userId)).count === 0)
      return renderAccount(ctx, reply, a, {
        status: 409,
        error: {
          section: 'recovery',
          message: 'Recovery codes come with a passkey or an authenticator app: add one of those first.',
        },
      });
    const made = await ctx.factors.recovery.regenerate(userId);
    await ctx.audit.record('recovery_codes_generated', {
      userId,
      ip: req.ip,
      detail: { via: 'account', first: false },
    });
    return sendHtml(reply, 200, accountRecoveryCodesPage({ codes: made.codes, first: false }));
  });
}
