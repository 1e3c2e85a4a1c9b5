/**
 * POST /interaction/:id/login: the password sign-in of src/auth/sign-in.ts for a pending
 * authorization request. Bad input, a throttled or a failed sign-in re-render the page (400,
 * 429 with Retry-After, 401); a success starts the session, then either sends the browser to the
 * consent page (303) or completes the interaction and answers the client with a code.
 */
import type { FastifyReply, RouteHandlerMethod } from 'fastify';
import { SIGN_IN_MESSAGES, signInWithPassword } from '../../../auth/sign-in.js';
import type { ServerContext } from '../../../context.js';
import { needsConsent, respondWithCode } from '../../authorize-flow.js';
import { type ActiveSession, startSession } from '../../session.js';
import { checkPost, complete, type Loaded, load, renderLogin } from './load.js';

/** Completes the interaction exactly once, then answers the client. */
async function finish(
  ctx: ServerContext,
  reply: FastifyReply,
  l: Loaded,
  signedIn: ActiveSession,
): Promise<FastifyReply> {
  await complete(ctx, l);
  return respondWithCode(ctx, reply, l.request, signedIn);
}

export function postLogin(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const l = await load(ctx, req);
    const params = checkPost(req, l);
    const result = await signInWithPassword(ctx.signIn, {
      username: params.get('username') ?? '',
      password: params.get('password') ?? '',
      ip: req.ip,
      via: 'sign-in',
      clientId: l.client.clientId,
    });
    if (result.outcome === 'missing')
      return renderLogin(reply, l, 400, { username: result.username, error: result.message });
    if (result.outcome === 'throttled') {
      reply.header('retry-after', String(result.retryAfterSec));
      return renderLogin(reply, l, 429, { username: result.username, error: result.message });
    }
    if (result.outcome !== 'ok')
      return renderLogin(reply, l, 401, { username: result.username, error: SIGN_IN_MESSAGES.failed });
    const user = result.user;
    const signedIn = await startSession(ctx, reply, user);
    await ctx.storage.interactions.setUser(
      l.interaction.id,
      user.id,
      signedIn.session.idHash,
      signedIn.session.authTime,
    );
    if (await needsConsent(ctx, l.client, l.request, user.id)) {
      return reply.code(303).header('location', `/interaction/${l.interaction.id}`).send();
    }
    return finish(ctx, reply, l, signedIn);
  };
}
