/**
 * Registering APIs (resource servers): an identifier that becomes the access tokens' `aud`
 * (RFC 8707 §2: an absolute URI without a fragment), a name, scopes described in words for the
 * consent page, and settings that override the server's. The default API is the one
 * LATCHKEY_AUDIENCE names: it always exists (a stored row only changes its settings) and cannot
 * be deleted, so nothing changes for deployments that never register one.
 */
import type { Clock } from '../clock.js';
import { KNOWN_SCOPES } from '../protocol/scopes.js';
import type { Api, ApiPatch, ApiScope, ApiStore, ApiTokenAlg } from '../storage/types.js';
import { DuplicateError } from '../storage/types.js';

export class ApiInputError extends Error {
  override name = 'ApiInputError';
}

export const API_TOKEN_ALGS: readonly ApiTokenAlg[] = ['RS256', 'ES256'];
const MAX_SCOPES = 100;
/** The bounds of an access token's lifetime, as LATCHKEY_ACCESS_TOKEN_TTL's. */
export const API_TTL_MIN_SEC = 60;
export const API_TTL_MAX_SEC = 86400;

export interface NewApiInput {
  identifier: string;
  name: string;
  scopes?: ApiScope[];
  accessTokenTtl?: number | null;
  tokenAlg?: ApiTokenAlg | null;
  allowDynamicClients?: boolean;
}

/** What an update may change: null puts a setting back to the server's. */
export type ApiSettingsPatch = Omit<NewApiInput, 'identifier' | 'name'> & { name?: string };

/**
 * An API identifier: an absolute URI (RFC 8707 §2 — "MUST be an absolute URI … MUST NOT include
 * a fragment component"), at most 512 characters, printable ASCII. http is allowed only for
 * loopback hosts (local development); other schemes (urn:, api:) are names, not locations.
 */
export function checkApiIdentifier(raw: string): string {
  if (typeof raw !== 'string' || raw.length === 0) throw new ApiInputError('the API identifier is required');
  if (raw.length > 512) throw new ApiInputError('the API identifier is too long (at most 512 characters)');
  if (!/^[\x21-\x7e]+$/.test(raw))
    throw new ApiInputError('the API identifier must be printable ASCII without spaces');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ApiInputError(
      `the API identifier must be an absolute URI (RFC 8707 §2): ${JSON.stringify(raw.slice(0, 60))}`,
    );
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(raw))
    throw new ApiInputError('the API identifier must be an absolute URI with a scheme (RFC 8707 §2)');
  if (raw.includes('#')) throw new ApiInputError('the API identifier must not have a fragment (RFC 8707 §2)');
  if (u.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(u.hostname))
    throw new ApiInputError('an http API identifier is for loopback only; use https');
  if ((u.protocol === 'https:' || u.protocol === 'http:') && u.username + u.password !== '')
    throw new ApiInputError('the API identifier must not carry credentials');
  return raw;
}

function checkName(name: string): string {
  const n = typeof name === 'string' ? name.trim() : '';
  if (n.length === 0 || n.length > 200) throw new ApiInputError('the name must be 1 to 200 characters');
  if (/[\u0000-\u001f\u007f]/.test(n))
    throw new ApiInputError('the name must not contain control characters');
  return n;
}

/**
 * Scopes: RFC 6749 §3.3 scope-token syntax, unique, at most 100, never one of the OpenID Connect
 * user scopes (those belong to the server itself); a description of at most 200 characters
 * (empty: the consent page shows the scope's value).
 */
export function checkApiScopes(scopes: ApiScope[]): ApiScope[] {
  if (!Array.isArray(scopes)) throw new ApiInputError('scopes must be a list');
  if (scopes.length > MAX_SCOPES) throw new ApiInputError(`at most ${MAX_SCOPES} scopes per API`);
  const seen = new Set<string>();
  return scopes.map((s) => {
    const value = typeof s?.value === 'string' ? s.value : '';
    if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(value))
      throw new ApiInputError(
        `invalid scope: ${JSON.stringify(value.slice(0, 40))} (RFC 6749 §3.3 characters, 1 to 128)`,
      );
    if ((KNOWN_SCOPES as readonly string[]).includes(value))
      throw new ApiInputError(
        `scope ${value} is the server's own (OpenID Connect) and cannot belong to an API`,
      );
    if (seen.has(value)) throw new ApiInputError(`scope ${value} is given twice`);
    seen.add(value);
    const description = typeof s.description === 'string' ? s.description.trim() : '';
    if (description.length > 200)
      throw new ApiInputError(`the description of ${value} is too long (at most 200)`);
    if (/[\u0000-\u001f\u007f]/.test(description))
      throw new ApiInputError(`the description of ${value} must not contain control characters`);
    return { value, description };
  });
}

/** `orders:read="Read your orders"` (the CLI's --scope): the value, then = and the words. */
export function parseScopeArgument(arg: string): ApiScope {
  const eq = arg.indexOf('=');
  const value = (eq < 0 ? arg : arg.slice(0, eq)).trim();
  let description = eq < 0 ? '' : arg.slice(eq + 1).trim();
  if (description.length >= 2 && description.startsWith('"') && description.endsWith('"'))
    description = description.slice(1, -1);
  return { value, description };
}

function checkTtl(ttl: number | null | undefined): number | null {
  if (ttl === undefined || ttl === null) return null;
  if (!Number.isInteger(ttl) || ttl < API_TTL_MIN_SEC || ttl > API_TTL_MAX_SEC)
    throw new ApiInputError(
      `the access token lifetime must be ${API_TTL_MIN_SEC} to ${API_TTL_MAX_SEC} seconds`,
    );
  return ttl;
}

function checkAlg(alg: ApiTokenAlg | null | undefined): ApiTokenAlg | null {
  if (alg === undefined || alg === null) return null;
  if (!API_TOKEN_ALGS.includes(alg))
    throw new ApiInputError(`the token algorithm must be ${API_TOKEN_ALGS.join(' or ')}`);
  return alg;
}

/** The JSON of an API, as `apis … --json` and the admin API give it. */
export function describeApi(api: Api, defaultIdentifier: string): Record<string, unknown> {
  return {
    identifier: api.identifier,
    name: api.name,
    scopes: api.scopes.map((s) => ({ value: s.value, description: s.description })),
    access_token_ttl: api.accessTokenTtl,
    token_alg: api.tokenAlg,
    allow_dynamic_clients: api.allowDynamicClients,
    default: api.identifier === defaultIdentifier,
    created_at: new Date(api.createdAt).toISOString(),
    updated_at: new Date(api.updatedAt).toISOString(),
  };
}

export class ApiAdmin {
  constructor(
    private readonly store: ApiStore,
    private readonly clock: Clock,
    /** LATCHKEY_AUDIENCE: the default API's identifier. */
    readonly defaultIdentifier: string,
  ) {}

  /** The default API as it stands when no row changes it. */
  #builtIn(): Api {
    return {
      identifier: this.defaultIdentifier,
      name: 'Default API',
      scopes: [],
      accessTokenTtl: null,
      tokenAlg: null,
      allowDynamicClients: false,
      createdAt: 0,
      updatedAt: 0,
    };
  }

  isDefault(identifier: string): boolean {
    return identifier === this.defaultIdentifier;
  }

  /** Every API, the default first. */
  async list(): Promise<Api[]> {
    const stored = await this.store.list();
    const def = stored.find((a) => this.isDefault(a.identifier)) ?? this.#builtIn();
    return [def, ...stored.filter((a) => !this.isDefault(a.identifier))];
  }

  async get(identifier: string): Promise<Api | undefined> {
    return (await this.store.get(identifier)) ?? (this.isDefault(identifier) ? this.#builtIn() : undefined);
  }

  async create(input: NewApiInput): Promise<Api> {
    const identifier = checkApiIdentifier(input.identifier);
    if (this.isDefault(identifier))
      throw new ApiInputError(
        `${identifier} is the default API (LATCHKEY_AUDIENCE): change it with apis update`,
      );
    const now = this.clock.now();
    const api: Api = {
      identifier,
      name: checkName(input.name),
      scopes: checkApiScopes(input.scopes ?? []),
      accessTokenTtl: checkTtl(input.accessTokenTtl),
      tokenAlg: checkAlg(input.tokenAlg),
      allowDynamicClients: input.allowDynamicClients === true,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.create(api);
    } catch (err) {
      if (err instanceof DuplicateError)
        throw new ApiInputError(`an API with identifier ${identifier} exists`);
      throw err;
    }
    return api;
  }

  /** The API after the change, or undefined when there is none with this identifier. */
  async update(identifier: string, patch: ApiSettingsPatch): Promise<Api | undefined> {
    const changes: ApiPatch = { updatedAt: this.clock.now() };
    if (patch.name !== undefined) changes.name = checkName(patch.name);
    if (patch.scopes !== undefined) changes.scopes = checkApiScopes(patch.scopes);
    if (patch.accessTokenTtl !== undefined) changes.accessTokenTtl = checkTtl(patch.accessTokenTtl);
    if (patch.tokenAlg !== undefined) changes.tokenAlg = checkAlg(patch.tokenAlg);
    if (patch.allowDynamicClients !== undefined)
      changes.allowDynamicClients = patch.allowDynamicClients === true;
    const updated = await this.store.update(identifier, changes);
    if (updated || !this.isDefault(identifier)) return updated;
    // The default API's first change stores its row.
    const now = this.clock.now();
    const row: Api = { ...this.#builtIn(), ...changes, identifier, createdAt: now, updatedAt: now };
    try {
      await this.store.create(row);
    } catch (err) {
      // Another node stored it first: apply the change to that row.
      if (err instanceof DuplicateError) return this.store.update(identifier, changes);
      throw err;
    }
    return row;
  }

  /** True when it was deleted; the default API cannot be. */
  async delete(identifier: string): Promise<boolean> {
    if (this.isDefault(identifier))
      throw new ApiInputError(`${identifier} is the default API (LATCHKEY_AUDIENCE) and cannot be deleted`);
    return this.store.delete(identifier);
  }
}
