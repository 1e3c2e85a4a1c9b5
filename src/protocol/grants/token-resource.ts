/**
 * RFC 8707 §2.2 at the token endpoint, for the grants of a person (authorization_code,
 * refresh_token): the API this access token is for, and its scope narrowed to that API.
 */
import type { Api, Client, Grant } from '../../storage/types.js';
import type { Params } from '../params.js';
import { allowedScopesOf, invalidTarget, scopeForApi, tokenResource } from '../resources.js';
import type { IssueDeps } from './types.js';

export interface TokenApi {
  api: Api;
  /** The access token's scope: the grant's (or the requested) scopes that apply to this API. */
  scope: string;
}

/** `scopes` are the grant's, or the narrower ones the request asked (refresh_token §6). */
export async function apiForToken(
  deps: Pick<IssueDeps, 'apis'>,
  client: Client,
  grant: Pick<Grant, 'resources'>,
  params: Params,
  scopes: readonly string[],
): Promise<TokenApi> {
  const identifier = tokenResource(params.all('resource'), grant.resources, deps.apis.defaultIdentifier);
  const api = await deps.apis.get(identifier);
  // An API deleted since the grant was made gets no more tokens.
  if (!api) throw invalidTarget('The resource is no longer an API registered here.');
  // An API taken away from the application since the grant (or no longer open to self-registered
  // clients) gets no more tokens from it.
  if (allowedScopesOf(client, api, deps.apis.defaultIdentifier) === undefined)
    throw invalidTarget('This application may no longer ask for tokens for this resource.');
  return { api, scope: scopeForApi(scopes, api, client, deps.apis.defaultIdentifier).join(' ') };
}
