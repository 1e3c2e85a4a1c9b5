/**
 * POST /interaction/:id/cancel: the user gave up on the sign-in page; the interaction is
 * completed and the client gets access_denied.
 */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { OAuthError } from '../../../protocol/errors.js';
import { sendAuthorizationError } from '../../respond.js';
import { checkPost, complete, load } from './load.js';

export function postCancel(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const l = await load(ctx, req);
    checkPost(req, l);
    await complete(ctx, l);
    return sendAuthorizationError(
      ctx,
      reply,
      l.request,
      new OAuthError('access_denied', 'The user cancelled the sign-in.'),
    );
  };
}
