/**
 * The pushed authorization request endpoint (RFC 9126 §2): POST /par, one handler, postPar.
 */

import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../context.js';
import { type AuthorizeContext, runAuthorizeChecks } from '../../protocol/authorize/index.js';
import { dpopAlgorithmsFor } from '../../protocol/client-policy.js';
import { checkDpopProof } from '../../protocol/dpop.js';
import { newRequestUri, pushedParameters } from '../../protocol/par.js';
import { readParams } from '../../protocol/params.js';
import { dpopDeps, sendNonce } from '../dpop.js';
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
    // RFC 9449 §10.1: a DPoP proof on the pushed request binds the code to its key.
    const proof = await checkDpopProof(
      { header: req.headers.dpop, method: 'POST', uri: `${ctx.config.issuer}/par` },
      { ...dpopDeps(ctx), algorithms: dpopAlgorithmsFor(auth.client) },
    );
    const checked: AuthorizeContext = {
      params: readParams(pushed),
      via: 'par',
      ...(proof ? { proofJkt: proof.jkt } : {}),
    };
    await runAuthorizeChecks(checked, authorizeDeps(ctx));
    const { requestUri, hash } = newRequestUri();
    const now = ctx.clock.now();
    const expiresIn = ctx.config.parTtlSec;
    await ctx.storage.pushedRequests.save({
      uriHash: hash,
      clientId: auth.client.clientId,
      // The key the code is bound to (dpop_jkt, or the proof's), kept with the parameters.
      params: { ...checked.params.toFullRecord(), ...(checked.dpopJkt ? { dpop_jkt: checked.dpopJkt } : {}) },
      createdAt: now,
      expiresAt: now + expiresIn * 1000,
    });
    if (proof) await sendNonce(ctx, reply);
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ request_uri: requestUri, expires_in: expiresIn });
  };
}
