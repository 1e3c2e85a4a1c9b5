/**
 * The token endpoint (RFC 6749 §3.2, §5): form bodies only, grants dispatched by grant_type to
 * the handlers of protocol/grants. tokenRoutes registers the one handler, postToken.
 */
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../context.js';
import { dpopAlgorithmsFor, requiresDpop } from '../../protocol/client-policy.js';
import { checkDpopProof } from '../../protocol/dpop.js';
import { invalidRequest, unauthorizedClient, unsupportedGrantType } from '../../protocol/errors.js';
import { GRANT_HANDLERS } from '../../protocol/grants/index.js';
import type { GrantType } from '../../storage/types.js';
import { dpopDeps, sendNonce } from '../dpop.js';
import { authenticatedForm } from '../form.js';

export function tokenRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/token', { config: { cors: true } }, postToken(ctx));
}

/** POST /token: the grant named by grant_type, if the authenticated client may use it. */
export function postToken(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { params, auth } = await authenticatedForm(ctx, req);
    const grantType = params.get('grant_type');
    if (!grantType) throw invalidRequest('The grant_type parameter is missing.');
    const handler = GRANT_HANDLERS.get(grantType);
    if (!handler) throw unsupportedGrantType(`grant_type ${grantType.slice(0, 40)} is not supported.`);
    if (!auth.client.grantTypes.includes(grantType as GrantType)) {
      throw unauthorizedClient(`This application may not use grant_type ${grantType}.`);
    }
    // RFC 9449 §5: a valid proof binds the tokens to its key; an invalid one is refused.
    const proof = await checkDpopProof(
      { header: req.headers.dpop, method: 'POST', uri: `${ctx.config.issuer}/token` },
      { ...dpopDeps(ctx), algorithms: dpopAlgorithmsFor(auth.client) },
    );
    // RFC 9449 §5.2: an application registered with dpop_bound_access_tokens always proves.
    if (!proof && requiresDpop(auth.client))
      throw invalidRequest('This application must send a DPoP proof with every token request.');
    const body = await handler.handle(ctx.grants, {
      params,
      auth,
      ip: req.ip,
      ...(proof ? { dpopJkt: proof.jkt } : {}),
    });
    if (proof) await sendNonce(ctx, reply);
    // RFC 6749 §5.1: no caching of token responses.
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
  };
}
