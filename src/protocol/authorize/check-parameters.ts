import { invalidRequest, OAuthError } from '../errors.js';
import { assertWellFormed } from '../params.js';
import type { AuthorizeCheck } from './request.js';

/** RFC 6749 §3.1: no parameter more than once. A request object was unpacked before (check-request-object.ts). */
export const checkParameters: AuthorizeCheck = (ctx) => {
  assertWellFormed(ctx.params);
  // Left here only for an application without registered keys (check-request-object.ts).
  if (ctx.params.has('request'))
    throw new OAuthError(
      'request_not_supported',
      'Request objects need the application to register its keys (jwks or jwks_uri).',
    );
  // A request_uri from /par was resolved before the checks (protocol/par.ts). Any other one (a
  // request object by reference, RFC 9101 §5.2) is not supported; inside a pushed request it is
  // an error of its own (RFC 9126 §2.1).
  if (ctx.params.has('request_uri')) {
    if (ctx.via !== 'front')
      throw invalidRequest('A request_uri cannot be part of a pushed authorization request.');
    throw new OAuthError(
      'request_uri_not_supported',
      'Only a request_uri from the pushed authorization request endpoint (/par) is accepted.',
    );
  }
  const state = ctx.params.get('state');
  if (state !== undefined && state.length > 2048)
    throw invalidRequest('state is too long (at most 2048 characters).');
  const nonce = ctx.params.get('nonce');
  if (nonce !== undefined && nonce.length > 512)
    throw invalidRequest('nonce is too long (at most 512 characters).');
};
