/**
 * Resource indicators (RFC 8707): which API a token is for, and which of its scopes. The one
 * place that decides it, for /authorize, /par and every grant at /token.
 *
 * - §2: `resource` is an absolute URI without a fragment; it may be repeated. Unknown, or not one
 *   the application may ask for → `invalid_target`.
 * - Without `resource`, the default API (LATCHKEY_AUDIENCE's), as before APIs were registered.
 * - §2.2: at /token, `resource` names one of the APIs the grant covers, and the access token is
 *   for that one only (`aud`), its scope narrowed to that API's scopes (plus OpenID Connect's).
 *
 * Which APIs an application may ask: the default API always; another one when the application's
 * `allowedApis` names it, or — for a self-registered application (dynamic registration or a
 * metadata document) — when the API allows dynamic clients.
 */
import type { Api, Client } from '../storage/types.js';
import { OAuthError } from './errors.js';
import { KNOWN_SCOPES } from './scopes.js';

export const invalidTarget = (description: string) => new OAuthError('invalid_target', description);

/** Where APIs are looked up (the admin's ApiAdmin: the default API always resolves). */
export interface ApiLookup {
  readonly defaultIdentifier: string;
  get(identifier: string): Promise<Api | undefined>;
  list(): Promise<Api[]>;
}

/** An API a grant covers, with the scopes granted for it. */
export interface GrantedApi {
  identifier: string;
  scopes: string[];
}

const OIDC_SCOPES: ReadonlySet<string> = new Set(KNOWN_SCOPES);
/** A request names at most this many APIs. */
export const MAX_RESOURCES = 10;

const shown = (v: string): string => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);

/** RFC 8707 §2: each value an absolute URI without a fragment; duplicates collapse. */
export function parseResources(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (!/^[a-z][a-z0-9+.-]*:[\x21-\x7e]+$/i.test(v) || v.includes('#'))
      throw invalidTarget(
        `The resource ${shown(v)} is not an absolute URI without a fragment (RFC 8707 §2).`,
      );
    if (!out.includes(v)) out.push(v);
  }
  if (out.length > MAX_RESOURCES) throw invalidTarget(`At most ${MAX_RESOURCES} resources per request.`);
  return out;
}

/** Whether an application registered itself (dynamic registration or a metadata document). */
export const isSelfRegistered = (client: Pick<Client, 'registration'>): boolean =>
  client.registration === 'dynamic' || client.registration === 'metadata_document';

/**
 * The scopes of `api` this application may ask for, or undefined when it may not ask for the API
 * at all. The default API: all of its scopes (an `allowedApis` entry for it narrows them).
 */
export function allowedScopesOf(client: Client, api: Api, defaultIdentifier: string): string[] | undefined {
  const all = api.scopes.map((s) => s.value);
  const entry = client.allowedApis?.find((a) => a.identifier === api.identifier);
  if (entry) return entry.scopes === null ? all : all.filter((s) => entry.scopes!.includes(s));
  if (api.identifier === defaultIdentifier) return all;
  if (isSelfRegistered(client) && api.allowDynamicClients) return all;
  return undefined;
}

/** The APIs a request names (none: the default API), each registered and allowed to the client. */
export async function resolveResources(
  lookup: ApiLookup,
  client: Client,
  requested: readonly string[],
): Promise<Api[]> {
  const identifiers = requested.length > 0 ? requested : [lookup.defaultIdentifier];
  const apis: Api[] = [];
  for (const id of identifiers) {
    const api = await lookup.get(id);
    if (!api) throw invalidTarget(`The resource ${shown(id)} is not an API registered here.`);
    if (allowedScopesOf(client, api, lookup.defaultIdentifier) === undefined)
      throw invalidTarget(`This application may not ask for tokens for the resource ${shown(id)}.`);
    apis.push(api);
  }
  return apis;
}

/**
 * The scopes of an authorization request: OpenID Connect's as given, plus each scope of a named
 * API that the application may ask for. A scope of a named API it may not ask, or of an API the
 * request does not name, is `invalid_scope`; any other value is ignored (OIDC Core §3.1.2.1).
 */
export async function authorizationScopes(
  lookup: ApiLookup,
  client: Client,
  requested: readonly string[],
  apis: readonly Api[],
): Promise<{ scopes: string[]; granted: GrantedApi[] }> {
  const granted: GrantedApi[] = apis.map((a) => ({ identifier: a.identifier, scopes: [] }));
  const apiScopes: string[] = [];
  const unplaced: string[] = [];
  for (const s of requested) {
    if (OIDC_SCOPES.has(s)) continue;
    let placed = false;
    let refused = false;
    apis.forEach((api, i) => {
      if (!api.scopes.some((x) => x.value === s)) return;
      if (allowedScopesOf(client, api, lookup.defaultIdentifier)?.includes(s)) {
        granted[i]!.scopes.push(s);
        placed = true;
      } else refused = true;
    });
    if (placed) apiScopes.push(s);
    else if (refused)
      throw new OAuthError('invalid_scope', `This application may not ask for the scope ${shown(s)}.`);
    else unplaced.push(s);
  }
  if (unplaced.length > 0) {
    // A scope that belongs to an API not named in the request: it needs `resource` naming that API.
    const all = await lookup.list();
    for (const s of unplaced) {
      const owner = all.find((a) => a.scopes.some((x) => x.value === s));
      if (owner)
        throw new OAuthError(
          'invalid_scope',
          `The scope ${shown(s)} belongs to the API ${shown(owner.identifier)}: name it with the resource parameter (RFC 8707).`,
        );
    }
  }
  return { scopes: apiScopes, granted };
}

/**
 * RFC 8707 §2.2 at /token: the API the access token is for. `resource` must be one the grant
 * covers; without it, the first the authorization request named (the default API for grants
 * that named none).
 */
export function tokenResource(
  requested: readonly string[],
  grantResources: readonly string[] | undefined,
  defaultIdentifier: string,
): string {
  const covered = grantResources && grantResources.length > 0 ? grantResources : [defaultIdentifier];
  const wanted = parseResources(requested);
  if (wanted.length > 1)
    throw invalidTarget('One access token is issued per resource: send one resource parameter at a time.');
  if (wanted.length === 0) return covered[0]!;
  if (!covered.includes(wanted[0]!))
    throw invalidTarget(`The grant does not cover the resource ${shown(wanted[0]!)}.`);
  return wanted[0]!;
}

/**
 * The scope of an access token for `api` from a grant's scopes: OpenID Connect's, and those of
 * the grant that the API defines (and the application may still ask for).
 */
export function scopeForApi(
  grantScopes: readonly string[],
  api: Api,
  client: Client,
  defaultIdentifier: string,
): string[] {
  const allowed = new Set(allowedScopesOf(client, api, defaultIdentifier) ?? []);
  return grantScopes.filter((s) => OIDC_SCOPES.has(s) || allowed.has(s));
}

/**
 * What a consent covers, as items compared with an earlier consent: OpenID Connect scopes and the
 * default API's scopes as themselves (as consents were stored before APIs existed), another API
 * as `IDENTIFIER#` and each of its scopes as `IDENTIFIER#SCOPE` (an identifier has no fragment,
 * so `#` cannot be part of it).
 */
export function consentItems(
  scopes: readonly string[],
  granted: readonly GrantedApi[] | undefined,
  defaultIdentifier: string,
): string[] {
  const items = scopes.filter((s) => OIDC_SCOPES.has(s));
  for (const g of granted ?? []) {
    if (g.identifier === defaultIdentifier) items.push(...g.scopes);
    else items.push(`${g.identifier}#`, ...g.scopes.map((s) => `${g.identifier}#${s}`));
  }
  return items;
}

/**
 * The APIs and API scopes a stored consent covers (consentItems read back): `IDENTIFIER#` and
 * `IDENTIFIER#SCOPE` for another API, a plain value that is not OpenID Connect's for the default API.
 */
export function consentedApis(items: readonly string[], defaultIdentifier: string): GrantedApi[] {
  const byApi = new Map<string, string[]>();
  const add = (identifier: string, scope?: string) => {
    const scopes = byApi.get(identifier) ?? [];
    if (scope !== undefined && !scopes.includes(scope)) scopes.push(scope);
    byApi.set(identifier, scopes);
  };
  for (const item of items) {
    const hash = item.indexOf('#');
    if (hash >= 0) add(item.slice(0, hash), item.slice(hash + 1) || undefined);
    else if (!OIDC_SCOPES.has(item)) add(defaultIdentifier, item);
  }
  return [...byApi].map(([identifier, scopes]) => ({ identifier, scopes }));
}

/** What the consent page shows for one API: its name and each scope in the registration's words. */
export interface ConsentApi {
  identifier: string;
  name: string;
  scopes: { value: string; description: string }[];
}

/**
 * The APIs a consent covers, for the page: each named API with the words its registration gives
 * its scopes (a scope without a description is shown as itself). The default API appears only
 * when scopes of it are asked; another API always (its access alone is worth asking about).
 */
export async function consentApis(
  lookup: ApiLookup,
  granted: readonly GrantedApi[] | undefined,
): Promise<ConsentApi[]> {
  const out: ConsentApi[] = [];
  for (const g of granted ?? []) {
    if (g.identifier === lookup.defaultIdentifier && g.scopes.length === 0) continue;
    const api = await lookup.get(g.identifier);
    if (!api) continue;
    out.push({
      identifier: api.identifier,
      name: api.name,
      scopes: g.scopes.map((value) => ({
        value,
        description: api.scopes.find((s) => s.value === value)?.description || value,
      })),
    });
  }
  return out;
}
