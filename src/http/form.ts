/** Form bodies, and the client-authenticated form requests of /token, /revoke and /introspect. */
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { type AuthenticatedClient, authenticateClient } from '../protocol/client-auth.js';
import { invalidRequest } from '../protocol/errors.js';
import { assertWellFormed, type Params, readParams } from '../protocol/params.js';

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
  const auth = await authenticateClient(params, req.headers.authorization, (id) =>
    ctx.storage.clients.get(id),
  );
  return { params, auth };
}
