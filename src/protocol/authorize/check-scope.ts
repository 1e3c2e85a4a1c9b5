import { invalidScope } from '../errors.js';
import { knownScopes, parseScope } from '../scopes.js';
import type { AuthorizeCheck } from './request.js';

/**
 * RFC 6749 §3.3 syntax; OIDC Core §3.1.2.1: unknown scope values are ignored.
 * offline_access is granted only to clients allowed the refresh_token grant.
 */
export const checkScope: AuthorizeCheck = (ctx) => {
  const parsed = parseScope(ctx.params.get('scope'));
  if (parsed === undefined) throw invalidScope('The scope parameter is malformed.');
  let scopes = knownScopes(parsed);
  if (!ctx.client!.grantTypes.includes('refresh_token'))
    scopes = scopes.filter((s) => s !== 'offline_access');
  ctx.scopes = scopes;
};
