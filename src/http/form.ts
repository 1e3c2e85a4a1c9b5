/** Form bodies, and the client-authenticated form requests of /token, /revoke and /introspect. */
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import {
  type AuthenticatedClient,
  authenticateClient,
  type ClientAuthDeps,
} from '../protocol/client-auth.js';
import { invalidRequest } from '../protocol/errors.js';
import { assertWellFormed, type Params, readParams } from '../protocol/params.js';
import { openClientSecret } from '../tokens/client-secrets.js';

export const isForm = (req: FastifyRequest): boolean =>
  (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() ===
  'application/x-www-form-urlencoded';

/**
 * RFC 6749 §3.2: a form body (no other content type), no parameter twice, then client
 * authentication (RFC 6749 §2.3) by whichever single method the request uses.
 */
export async function authenticatedForm(
  ctx: ServerContext,
  req: FastifyRequest,
): Promise<{ params: Params; auth: AuthenticatedClient }> {
  if (!isForm(req)) throw invalidRequest('The request must be application/x-www-form-urlencoded.');
  const params = readParams(req.body);
  assertWellFormed(params);
  const auth = await authenticateClient(params, req.headers.authorization, clientAuthDeps(ctx, req));
  return { params, auth };
}

/** What client authentication needs from the server (client-auth.ts, client-assertion.ts). */
export function clientAuthDeps(ctx: ServerContext, req: FastifyRequest): ClientAuthDeps {
  const issuer = ctx.config.issuer;
  return {
    getClient: ctx.resolveClient,
    assertion: {
      now: () => ctx.clock.now(),
      issuer,
      // OIDC Core §9: the token endpoint; RFC 9126 §2: the endpoint that received it.
      endpoints: [`${issuer}/token`, `${issuer}${req.routeOptions.url ?? '/token'}`],
      keysOf: (client, opts) => ctx.clientKeys.of(client, opts),
      secretOf: (client) =>
        client.secretSealed === undefined
          ? undefined
          : openClientSecret(ctx.config.keyEncryptionKey, client.clientId, client.secretSealed),
      useJti: (key, expiresAt) => ctx.storage.replays.use(key, expiresAt, ctx.clock.now()),
    },
  };
}
