/**
 * POST /account/applications/revoke (`client` in the form): takes an application's access away —
 * the person's consent is forgotten (the application asks again next time, if it asks) and their
 * grants to it are revoked, and with them every access and refresh token issued under one.
 */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { applicationsOf, renderAccount } from './home.js';
import { accountRoute, seeOther } from './page.js';

export function postApplicationRevoke(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    const userId = a.signedIn.user.id;
    const clientId = a.params.get('client') ?? '';
    const known = clientId !== '' && (await applicationsOf(ctx, userId)).some((x) => x.clientId === clientId);
    if (!known)
      return renderAccount(ctx, reply, a, {
        status: 404,
        error: { section: 'applications', message: 'That application has no access to your account.' },
      });
    const consent = await ctx.storage.consents.delete(userId, clientId);
    const grants = await ctx.storage.grants.revokeAllForUserAndClient(userId, clientId, ctx.clock.now());
    await ctx.audit.record('grant_revoked_by_user', {
      userId,
      clientId,
      ip: req.ip,
      detail: { via: 'account', grants, consent },
    });
    return seeOther(reply, '/account?done=app-revoked');
  });
}
