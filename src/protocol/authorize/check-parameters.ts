import { invalidRequest, OAuthError } from '../errors.js';
import { assertWellFormed } from '../params.js';
import type { AuthorizeCheck } from './request.js';

/** RFC 6749 §3.1: no parameter more than once. OIDC Core §6: request objects are not supported. */
export const checkParameters: AuthorizeCheck = (ctx) => {
  assertWellFormed(ctx.params);
  if (ctx.params.has('request'))
    throw new OAuthError('request_not_supported', 'Request objects are not supported.');
  if (ctx.params.has('request_uri')) {
    throw new OAuthError('request_uri_not_supported', 'The request_uri parameter is not supported.');
  }
  const state = ctx.params.get('state');
  if (state !== undefined && state.length > 2048)
    throw invalidRequest('state is too long (at most 2048 characters).');
  const nonce = ctx.params.get('nonce');
  if (nonce !== undefined && nonce.length > 512)
    throw invalidRequest('nonce is too long (at most 512 characters).');
};
