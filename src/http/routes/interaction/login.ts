/**
 * POST /interaction/:id/login: the password sign-in of src/auth/sign-in.ts for a pending
 * authorization request. Bad input, a throttled or a failed sign-in re-render the page (400,
 * 429 with Retry-After, 401); a right password is the first step, and the sign-in policy decides
 * what follows (steps.ts: a second factor, an enrolment, consent or the code).
 */
import type { RouteHandlerMethod } from 'fastify';
import { SIGN_IN_MESSAGES, signInWithPassword } from '../../../auth/sign-in.js';
import type { ServerContext } from '../../../context.js';
import { checkPost, load, renderLogin } from './load.js';
import { advance } from './steps.js';

export function postLogin(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const l = await load(ctx, req);
    const params = checkPost(req, l);
    // A first step was done in this interaction already: the page to post to is the next one.
    if (l.interaction.userId !== null)
      return reply.code(303).header('location', `/interaction/${l.interaction.id}`).send();
    const result = await signInWithPassword(ctx.signIn, {
      username: params.get('username') ?? '',
      password: params.get('password') ?? '',
      ip: req.ip,
      via: 'sign-in',
      clientId: l.client.clientId,
    });
    if (result.outcome === 'missing')
      return renderLogin(ctx, reply, l, 400, { username: result.username, error: result.message });
    if (result.outcome === 'throttled') {
      reply.header('retry-after', String(result.retryAfterSec));
      return renderLogin(ctx, reply, l, 429, { username: result.username, error: result.message });
    }
    if (result.outcome !== 'ok')
      return renderLogin(ctx, reply, l, 401, { username: result.username, error: SIGN_IN_MESSAGES.failed });
    return advance(ctx, req, reply, l, { user: result.user, methods: {} }, { pwd: ctx.clock.now() });
  };
}
