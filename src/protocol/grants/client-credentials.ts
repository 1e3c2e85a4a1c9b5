/**
 * grant_type=client_credentials (RFC 6749 §4.4) for service applications: the client acts
 * for itself, so `sub` is its client_id; the scopes are those registered for it
 * (`--scope`); no ID token, no refresh token (§4.4.3).
 */

import { invalidScope, unauthorizedClient } from '../errors.js';
import { KNOWN_SCOPES, parseScope } from '../scopes.js';
import { issueAccessToken } from './issue-tokens.js';
import type { GrantHandler } from './types.js';

/** User-facing OpenID scopes make no sense without a user. */
const USER_SCOPES = new Set<string>(KNOWN_SCOPES);

export const clientCredentialsGrant: GrantHandler = {
  grantType: 'client_credentials',
  parameters: ['scope'],
  async handle(deps, { params, auth, dpopJkt }) {
    const client = auth.client;
    if (client.tokenEndpointAuthMethod === 'none')
      throw unauthorizedClient('Public clients cannot use client credentials.');
    const requested = parseScope(params.get('scope'));
    if (requested === undefined) throw invalidScope('The scope parameter is malformed.');
    const denied = requested.filter((s) => USER_SCOPES.has(s));
    if (denied.length > 0)
      throw invalidScope(
        `Scope ${denied.join(' ')} needs a user; it cannot be granted to a service application.`,
      );
    // RFC 6749 §3.3: only the scopes registered for this application; none asked → all of them.
    const allowed = client.allowedScopes ?? [];
    const notAllowed = requested.filter((s) => !allowed.includes(s));
    if (notAllowed.length > 0) {
      throw invalidScope(`Scope ${notAllowed.slice(0, 5).join(' ')} is not allowed for this application.`);
    }
    const scope = (requested.length > 0 ? requested : allowed).join(' ');
    const { at, ttl } = await issueAccessToken(deps, client, {
      sub: client.clientId,
      scope,
      grantId: null,
      ...(dpopJkt !== undefined ? { jkt: dpopJkt } : {}),
    });
    return { access_token: at.token, token_type: dpopJkt ? 'DPoP' : 'Bearer', expires_in: ttl, scope };
  },
};
