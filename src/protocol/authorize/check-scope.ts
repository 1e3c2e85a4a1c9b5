import type { Client } from '../../storage/types.js';
import { invalidScope } from '../errors.js';
import type { Params } from '../params.js';
import { knownScopes, parseScope } from '../scopes.js';
import type { AuthorizeCheck } from './request.js';

/**
 * RFC 6749 §3.3 syntax; OIDC Core §3.1.2.1: unknown scope values are ignored.
 * offline_access is granted only to clients allowed the refresh_token grant.
 * The device authorization request (RFC 8628 §3.1) checks its scope the same way.
 */
export function runScopeCheck(client: Client, params: Params): string[] {
  const parsed = parseScope(params.get('scope'));
  if (parsed === undefined) throw invalidScope('The scope parameter is malformed.');
  let scopes = knownScopes(parsed);
  if (!client.grantTypes.includes('refresh_token')) scopes = scopes.filter((s) => s !== 'offline_access');
  return scopes;
}

export const checkScope: AuthorizeCheck = (ctx) => {
  ctx.scopes = runScopeCheck(ctx.client!, ctx.params);
};
