import { authorizationScopes, parseResources, resolveResources } from '../resources.js';
import { parseScope } from '../scopes.js';
import type { AuthorizeCheck } from './request.js';

/**
 * RFC 8707 §2 at the authorization endpoint: the APIs the request names (`resource`, repeatable;
 * none: the default API), each registered and allowed to the application (else `invalid_target`),
 * and the scopes of those APIs it may ask, added to the OpenID Connect scopes checkScope kept.
 */
export const checkResource: AuthorizeCheck = async (ctx, deps) => {
  const client = ctx.client!;
  const apis = await resolveResources(deps.apis, client, parseResources(ctx.params.all('resource')));
  // checkScope has refused a malformed scope parameter already.
  const requested = parseScope(ctx.params.get('scope')) ?? [];
  const { scopes, granted } = await authorizationScopes(deps.apis, client, requested, apis);
  ctx.scopes = [...(ctx.scopes ?? []), ...scopes];
  ctx.apis = granted;
};
