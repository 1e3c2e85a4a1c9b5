/**
 * Fastify integration: a preHandler factory. Failures become RFC 6750 responses; the verified
 * token is on `request.auth`.
 *
 *   app.get('/hello', { preHandler: requireToken(verifier) }, (req) => req.auth!.claims.sub)
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  authenticate,
  checkGuardOptions,
  type GuardOptions,
  requestUrl,
  toVerificationError,
} from './bearer.js';
import { errorBody, failureHeaders } from './errors.js';
import { checkResourceMetadataUrl, withResourceMetadata } from './protected-resource.js';
import type { AccessTokenVerifier, VerifiedAccessToken } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the Latchkey resource-server preHandler when the access token is valid. */
    auth?: VerifiedAccessToken;
  }
}

export type FastifyPreHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
) => Promise<FastifyReply | undefined>;

export function requireToken(verifier: AccessTokenVerifier, opts: GuardOptions = {}): FastifyPreHandler {
  checkGuardOptions(opts, 'requireToken');
  checkResourceMetadataUrl(opts.resourceMetadataUrl);
  return async (request, reply) => {
    try {
      request.auth = await authenticate(
        verifier,
        {
          authorization: request.headers.authorization,
          dpop: request.headers.dpop,
          method: request.method,
          url: requestUrl(opts.publicOrigin, request.protocol, request.host, request.url),
        },
        opts,
      );
      // RFC 9449 §9: the nonce for the client's next proof comes with the response.
      if (request.auth.dpopNonce !== undefined) reply.header('dpop-nonce', request.auth.dpopNonce);
      return undefined;
    } catch (e) {
      const err = toVerificationError(e);
      reply
        .code(err.status)
        .headers(withResourceMetadata(failureHeaders(err, opts.realm), opts.resourceMetadataUrl));
      // Returning the reply after send() tells Fastify the response is done: the handler never runs.
      return reply.send(err.code === 'LATCHKEY_TOKEN_MISSING' ? { error: 'unauthorized' } : errorBody(err));
    }
  };
}
