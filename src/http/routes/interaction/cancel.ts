/**
 * POST /interaction/:id/cancel: the user gave up on the sign-in page; the interaction is
 * completed and the client gets access_denied.
 */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { isDeviceRequest } from '../../../protocol/device.js';
import { OAuthError } from '../../../protocol/errors.js';
import { sendAuthorizationError } from '../../respond.js';
import { endDeviceSignIn } from '../device.js';
import { checkPost, complete, load } from './load.js';

export function postCancel(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const l = await load(ctx, req);
    checkPost(req, l);
    await complete(ctx, l);
    // RFC 8628 §3.5: a device's sign-in given up is a denial (the device stops polling).
    if (isDeviceRequest(l.request)) return endDeviceSignIn(ctx, reply, l, 'The sign-in was cancelled.');
    return sendAuthorizationError(
      ctx,
      reply,
      l.request,
      new OAuthError('access_denied', 'The user cancelled the sign-in.'),
    );
  };
}
