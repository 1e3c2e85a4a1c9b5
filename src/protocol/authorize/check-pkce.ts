import { invalidRequest } from '../errors.js';
import { CHALLENGE_PATTERN } from '../pkce.js';
import type { AuthorizeCheck } from './request.js';

/**
 * RFC 7636 §4.3 with OAuth 2.1 / RFC 9700 §2.1.1: S256 only. An omitted method means
 * `plain` (RFC 7636 §4.3), so it is refused too.
 */
export const checkPkce: AuthorizeCheck = (ctx) => {
  const challenge = ctx.params.get('code_challenge');
  const method = ctx.params.get('code_challenge_method');
  if (challenge === undefined) {
    if (method !== undefined)
      throw invalidRequest('code_challenge_method was given without a code_challenge.');
    if (ctx.client!.requirePkce) {
      throw invalidRequest('PKCE is required: send code_challenge with code_challenge_method=S256.');
    }
    ctx.codeChallenge = null;
    return;
  }
  if (method !== 'S256') {
    throw invalidRequest('code_challenge_method must be S256 (plain, or an omitted method, is not allowed).');
  }
  if (!CHALLENGE_PATTERN.test(challenge)) {
    throw invalidRequest(
      'code_challenge must be 43 base64url characters (BASE64URL(SHA-256(code_verifier))).',
    );
  }
  ctx.codeChallenge = challenge;
};
