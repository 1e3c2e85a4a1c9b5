/**
 * grant_type=client_credentials (RFC 6749 §4.4) for service applications: the client acts
 * for itself, so `sub` is its client_id; the scopes are those registered for it; no ID token,
 * no refresh token (§4.4.3).
 *
 * RFC 8707 §2: without `resource`, or naming the default API, the token is for the default API
 * with the application's `allowed_scopes` (`--scope`); naming another API, the application must be
 * allowed it (`--allow-api`) and the scopes are that API's it may ask.
 */

import { invalidScope, unauthorizedClient } from '../errors.js';
import { allowedScopesOf, invalidTarget, parseResources } from '../resources.js';
import { KNOWN_SCOPES, parseScope } from '../scopes.js';
import { issueAccessToken } from './issue-tokens.js';
import type { GrantHandler } from './types.js';

/** User-facing OpenID scopes make no sense without a user. */
const USER_SCOPES = new Set<string>(KNOWN_SCOPES);

export const clientCredentialsGrant: GrantHandler = {
  grantType: 'client_credentials',
  parameters: ['scope', 'resource'],
  async handle(deps, { params, auth, dpopJkt }) {
    const client = auth.client;
    if (client.tokenEndpointAuthMethod === 'none')
      throw unauthorizedClient('Public clients cannot use client credentials.');
    const resources = parseResources(params.all('resource'));
    if (resources.length > 1)
      throw invalidTarget('One access token is issued per resource: send one resource parameter at a time.');
    const identifier = resources[0] ?? deps.apis.defaultIdentifier;
    const api = await deps.apis.get(identifier);
    if (!api) throw invalidTarget('The resource is not an API registered here.');
    const isDefault = identifier === deps.apis.defaultIdentifier;
    const allowed = isDefault
      ? (client.allowedScopes ?? [])
      : allowedScopesOf(client, api, deps.apis.defaultIdentifier);
    if (allowed === undefined)
      throw invalidTarget('This application may not ask for tokens for this resource.');
    const requested = parseScope(params.get('scope'));
    if (requested === undefined) throw invalidScope('The scope parameter is malformed.');
    const denied = requested.filter((s) => USER_SCOPES.has(s));
    if (denied.length > 0)
      throw invalidScope(
        `Scope ${denied.join(' ')} needs a user; it cannot be granted to a service application.`,
      );
    // RFC 6749 §3.3: only the scopes registered for this application; none asked → all of them.
    const notAllowed = requested.filter((s) => !allowed.includes(s));
    if (notAllowed.length > 0) {
      throw invalidScope(`Scope ${notAllowed.slice(0, 5).join(' ')} is not allowed for this application.`);
    }
    const scope = (requested.length > 0 ? requested : allowed).join(' ');
    const { at, ttl } = await issueAccessToken(deps, client, api, {
      sub: client.clientId,
      scope,
      grantId: null,
      ...(dpopJkt !== undefined ? { jkt: dpopJkt } : {}),
    });
    return { access_token: at.token, token_type: dpopJkt ? 'DPoP' : 'Bearer', expires_in: ttl, scope };
  },
};
