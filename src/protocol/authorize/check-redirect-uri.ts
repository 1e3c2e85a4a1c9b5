import { isFapi2 } from '../client-policy.js';
import { invalidRequest } from '../errors.js';
import { matchRedirectUri } from '../redirect-uris.js';
import type { AuthorizeCheck } from './request.js';

/**
 * RFC 9700 §4.1.3 exact matching (loopback IPs may vary the port, RFC 8252 §7.3).
 * OIDC Core §3.1.2.1: redirect_uri is required for OpenID requests; otherwise it may be
 * omitted when exactly one is registered (RFC 6749 §3.1.2.3). Failures here render an error page.
 */
export const checkRedirectUri: AuthorizeCheck = (ctx) => {
  const client = ctx.client!;
  if (ctx.params.duplicated.includes('redirect_uri'))
    throw invalidRequest('redirect_uri was given more than once.');
  if (ctx.params.malformed.includes('redirect_uri'))
    throw invalidRequest('The redirect_uri is too long or malformed.');
  const requested = ctx.params.get('redirect_uri');
  if (requested === undefined) {
    const openid = (ctx.params.get('scope') ?? '').split(' ').includes('openid');
    if (openid) throw invalidRequest('The redirect_uri parameter is required for OpenID Connect requests.');
    // FAPI 2.0 Security Profile, authorization server requirements: the pushed request of a fapi2 application names its redirect_uri.
    if (isFapi2(client))
      throw invalidRequest('The redirect_uri parameter is required for this (fapi2) application.');
    if (client.redirectUris.length !== 1) {
      throw invalidRequest(
        'The redirect_uri parameter is required: this application has several registered.',
      );
    }
    ctx.redirectUri = client.redirectUris[0]!;
    ctx.redirectUriGiven = false;
    return;
  }
  if (!matchRedirectUri(requested, client.redirectUris)) {
    throw invalidRequest('The redirect_uri does not match any URI registered for this application.');
  }
  ctx.redirectUri = requested;
  ctx.redirectUriGiven = true;
};
