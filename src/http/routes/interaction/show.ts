/**
 * GET /interaction/:id: the sign-in page, or, once the interaction is signed in and still needs
 * the user's consent, the consent page (for the session it was signed in with only).
 */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { expired, interactionSession, load, renderConsent, renderLogin } from './load.js';

export function showInteraction(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const l = await load(ctx, req);
    if (l.interaction.userId === null) return renderLogin(reply, l, 200);
    const s = await interactionSession(ctx, req, l);
    if (!s) throw expired();
    return renderConsent(reply, l, s.user.username);
  };
}
