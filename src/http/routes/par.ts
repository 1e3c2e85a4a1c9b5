/**
 * The pushed authorization request endpoint (RFC 9126 §2): POST /par, one handler, postPar.
 */
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../context.js';
import { type AuthorizeContext, runAuthorizeChecks } from '../../protocol/authorize/index.js';
import { newRequestUri, pushedParameters } from '../../protocol/par.js';
import { readParams } from '../../protocol/params.js';
import { authenticatedForm } from '../form.js';
import { authorizeDeps } from './authorize.js';

export function parRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/par', { config: { cors: true } }, postPar(ctx));
}

/**
 * POST /par: the client authenticates as at /token (public clients send client_id); every check
 * of /authorize runs on the request before it is kept, and a refusal is a JSON error (§2.3),
 * never a redirect. Then 201 with the reference and its lifetime (§2.2).
 */
export function postPar(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { params, auth } = await authenticatedForm(ctx, req);
    const pushed = pushedParameters(params, auth.client);
    // The checked parameters are kept: a request object (RFC 9101) is unpacked once, here.
    const checked: AuthorizeContext = { params: readParams(pushed), via: 'par' };
    await runAuthorizeChecks(checked, authorizeDeps(ctx));
    const { requestUri, hash } = newRequestUri();
    const now = ctx.clock.now();
    const expiresIn = ctx.config.parTtlSec;
    await ctx.storage.pushedRequests.save({
      uriHash: hash,
      clientId: auth.client.clientId,
      params: checked.params.toRecord(),
      createdAt: now,
      expiresAt: now + expiresIn * 1000,
    });
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ request_uri: requestUri, expires_in: expiresIn });
  };
}
