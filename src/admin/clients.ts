/** Registering applications ("Add Application"): defaults per type, validation, secrets. */
import type { Clock } from '../clock.js';
import { randomIdentifier, randomToken, sha256 } from '../crypto.js';
import { checkJwks } from '../net/client-jwks.js';
import { checkFetchUrl } from '../net/guarded-fetch.js';
import { requiresDpop, requiresPar } from '../protocol/client-policy.js';
import { RedirectUriError, validateRedirectUriForRegistration } from '../protocol/redirect-uris.js';
import { KNOWN_SCOPES } from '../protocol/scopes.js';
import type {
  AllowedApi,
  Api,
  Client,
  ClientJwks,
  ClientPatch,
  ClientStore,
  ClientType,
  GrantType,
  MfaPolicy,
  TokenEndpointAuthMethod,
} from '../storage/types.js';
import { CLIENT_SECRET_JWT_NEEDS_KEK, sealClientSecret } from '../tokens/client-secrets.js';
import {
  type ClientLifetimeSettings,
  type LifetimeDefaults,
  lifetimesOf,
  type Resolved,
} from '../tokens/lifetimes.js';
import {
  CLIENT_TYPES,
  type ClientSettingsPatch,
  MFA_MESSAGE,
  MFA_POLICIES,
  NAME_MESSAGE,
  type NewClientInput,
  TIME_SETTINGS,
  type TimeSetting,
  timeMessage,
} from './client-settings.js';

export { CLIENT_TYPES };

export class ClientInputError extends Error {
  override name = 'ClientInputError';
}

export type { ClientSettingsPatch, NewClientInput };

/**
 * API scopes (RFC 6749 §3.3 syntax) for service applications; the OpenID Connect user scopes
 * need a user and cannot be granted to a machine.
 */
function checkApiScopes(scopes: string[], type: ClientType): string[] {
  if (scopes.length > 0 && type !== 'service') {
    throw new ClientInputError('allowed scopes are for service applications (client credentials)');
  }
  if (scopes.length > 50) throw new ClientInputError('at most 50 allowed scopes');
  for (const s of scopes) {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(s))
      throw new ClientInputError(`invalid scope: ${JSON.stringify(s.slice(0, 40))}`);
    if ((KNOWN_SCOPES as readonly string[]).includes(s))
      throw new ClientInputError(`scope ${s} needs a user and cannot be allowed to a service application`);
  }
  return [...new Set(scopes)];
}

export const isConfidential = (c: Pick<Client, 'type'>): boolean => c.type === 'web' || c.type === 'service';

const DEVICE_GRANT: GrantType = 'urn:ietf:params:oauth:grant-type:device_code';

/** The grants of a new application of `type`, before --grant / --no-grant. */
function defaultGrants(type: ClientType, refreshTokens: boolean | undefined): GrantType[] {
  if (type === 'service') return ['client_credentials'];
  return refreshTokens === false ? ['authorization_code'] : ['authorization_code', 'refresh_token'];
}

const GRANT_NAMES: Partial<Record<GrantType, string>> = { [DEVICE_GRANT]: 'device_code' };
const grantName = (g: GrantType) => GRANT_NAMES[g] ?? g;

/**
 * The grant types an application ends with: `full` replaces them, else `add` and `remove` change
 * `base`. A service application has client credentials only; the device grant (RFC 8628) is for
 * native and web applications; refresh tokens come with a grant that signs a person in.
 */
function resolveGrants(
  type: ClientType,
  base: readonly GrantType[],
  change: { full?: GrantType[]; add?: GrantType[]; remove?: GrantType[] },
): GrantType[] {
  let grants = change.full ? [...change.full] : [...base];
  for (const g of change.add ?? []) if (!grants.includes(g)) grants.push(g);
  grants = grants.filter((g) => !(change.remove ?? []).includes(g));
  if (type === 'service') {
    const other = grants.find((g) => g !== 'client_credentials');
    if (other)
      throw new ClientInputError(
        `a service application has client_credentials only, not ${grantName(other)}`,
      );
    if (grants.length === 0) throw new ClientInputError('a service application needs client_credentials');
    return grants;
  }
  if (grants.includes('client_credentials'))
    throw new ClientInputError(`client_credentials is for service applications, not ${type} ones`);
  if (grants.includes(DEVICE_GRANT) && type === 'spa')
    throw new ClientInputError('the device grant (device_code) is for native and web applications');
  if (!grants.includes('authorization_code') && !grants.includes(DEVICE_GRANT))
    throw new ClientInputError(`a ${type} application needs authorization_code or device_code`);
  // A fixed order, so equal sets compare and print the same.
  return GRANT_ORDER.filter((g) => grants.includes(g));
}
const GRANT_ORDER: readonly GrantType[] = [
  'authorization_code',
  DEVICE_GRANT,
  'refresh_token',
  'client_credentials',
];

/** A person-facing application needs a redirect URI unless it signs in by the device grant only. */
const needsRedirectUri = (type: ClientType, grants: readonly GrantType[]) =>
  type !== 'service' && !grants.includes(DEVICE_GRANT);

/** The registered APIs, for checking an application's allowed APIs. */
export interface ApiDirectory {
  readonly defaultIdentifier: string;
  get(identifier: string): Promise<Api | undefined>;
}

/**
 * RFC 8707: each allowed API is registered, named once, and its scopes are that API's (null: all
 * of them, as they are when the API is asked for).
 */
async function checkAllowedApis(
  list: AllowedApi[],
  apis: ApiDirectory | undefined,
  type: ClientType,
): Promise<AllowedApi[]> {
  if (list.length > 50) throw new ClientInputError('at most 50 allowed APIs');
  const seen = new Set<string>();
  const out: AllowedApi[] = [];
  for (const entry of list) {
    if (seen.has(entry.identifier))
      throw new ClientInputError(`API ${entry.identifier.slice(0, 80)} is named twice`);
    seen.add(entry.identifier);
    // Client credentials read a service application's default-API scopes from allowed_scopes.
    if (type === 'service' && entry.identifier === apis?.defaultIdentifier)
      throw new ClientInputError(
        "a service application's scopes of the default API are its allowed scopes (--scope), not an allowed API",
      );
    const api = apis ? await apis.get(entry.identifier) : undefined;
    if (!api)
      throw new ClientInputError(
        `no API with identifier ${JSON.stringify(entry.identifier.slice(0, 80))} (see latchkey apis list)`,
      );
    if (entry.scopes !== null) {
      const known = new Set(api.scopes.map((s) => s.value));
      const unknown = entry.scopes.find((s) => !known.has(s));
      if (unknown !== undefined)
        throw new ClientInputError(
          `API ${api.identifier} has no scope ${JSON.stringify(unknown.slice(0, 60))}${known.size > 0 ? ` (its scopes: ${[...known].join(', ')})` : ' (it has no scopes)'}`,
        );
      out.push({ identifier: api.identifier, scopes: [...new Set(entry.scopes)] });
    } else out.push({ identifier: api.identifier, scopes: null });
  }
  return out;
}

/** `allow` added to `current` (an identifier named again takes its new scopes), `disallow` removed. */
function changeAllowedApis(
  current: readonly AllowedApi[],
  allow: AllowedApi[],
  disallow: string[],
): AllowedApi[] {
  const missing = disallow.find(
    (id) => !current.some((a) => a.identifier === id) && !allow.some((a) => a.identifier === id),
  );
  if (missing !== undefined)
    throw new ClientInputError(`the application is not allowed API ${missing.slice(0, 80)}`);
  const next = current.filter((a) => !allow.some((b) => b.identifier === a.identifier));
  return [...next, ...allow].filter((a) => !disallow.includes(a.identifier));
}

/** The settings an application falls back to when it has none of its own. */
export type ClientDefaults = LifetimeDefaults;

/** The grace window in force for `c` (seconds) and where it comes from. */
export function effectiveRefreshGrace(c: ClientLifetimeSettings, defaults: ClientDefaults): Resolved {
  return lifetimesOf(c, defaults).refreshGrace;
}

/**
 * The public view of a client (what `--json` prints and the admin API returns). `refresh_grace`
 * is the grace in force; `refresh_grace_source` says whether it is the application's own
 * (`application`) or the server default (`server`, LATCHKEY_REFRESH_GRACE). `mfa` is the
 * application's own multi-factor policy, null when it follows the server's LATCHKEY_MFA.
 */
export function describeClient(
  c: Client,
  defaults: ClientDefaults,
  secret?: string,
): Record<string, unknown> {
  const grace = effectiveRefreshGrace(c, defaults);
  const out: Record<string, unknown> = {
    client_id: c.clientId,
    client_name: c.name,
    name: c.name,
    type: c.type,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    consent: c.consent,
    require_pkce: c.requirePkce,
    access_token_ttl: c.accessTokenTtl,
    refresh_token_ttl: c.refreshTokenTtl,
    refresh_idle_ttl: c.refreshIdleTtl,
    refresh_grace: grace.seconds,
    refresh_grace_source: grace.source,
    allowed_scopes: c.allowedScopes ?? [],
    allowed_apis: c.allowedApis ?? [],
    require_pushed_authorization_requests: requiresPar(c),
    dpop_bound_access_tokens: requiresDpop(c),
    jwks: c.jwks ?? null,
    jwks_uri: c.jwksUri ?? null,
    profile: c.profile ?? null,
    mfa: c.mfa ?? null,
    registration: c.registration ?? null,
    created_at: new Date(c.createdAt).toISOString(),
  };
  if (secret !== undefined) out['client_secret'] = secret;
  return out;
}

/** The methods that need the secret, and the ones that need registered keys. */
const SECRET_METHODS: readonly TokenEndpointAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
];

/** jwks (inline) or jwks_uri, checked; at most one of the two. */
function checkKeys(
  jwks: ClientJwks | null | undefined,
  jwksUri: string | null | undefined,
  allowLoopback: boolean,
) {
  if (jwks && jwksUri) throw new ClientInputError('give jwks or jwks_uri, not both');
  try {
    if (jwks) checkJwks(jwks);
    if (jwksUri) checkFetchUrl(jwksUri, allowLoopback);
  } catch (err) {
    throw new ClientInputError(`${jwks ? 'jwks' : 'jwks_uri'}: ${(err as Error).message}`);
  }
}

/**
 * FAPI 2.0 Security Profile, authorization server requirements for one application (the rest is enforced where the request
 * is served): a confidential client, private_key_jwt, https redirect URIs only.
 */
function checkFapi2(
  c: Pick<Client, 'type' | 'tokenEndpointAuthMethod' | 'redirectUris' | 'requirePkce'>,
): void {
  if (!c.requirePkce) throw new ClientInputError('the fapi2 profile needs PKCE (S256)');
  if (c.type !== 'web' && c.type !== 'service')
    throw new ClientInputError('the fapi2 profile is for confidential (web or service) applications');
  if (c.tokenEndpointAuthMethod !== 'private_key_jwt')
    throw new ClientInputError('the fapi2 profile needs token_endpoint_auth_method private_key_jwt');
  for (const u of c.redirectUris)
    if (!u.startsWith('https://'))
      throw new ClientInputError(`the fapi2 profile takes https redirect URIs only (not ${u.slice(0, 80)})`);
}

/** A multi-factor policy is for applications people sign in to; a service signs no one in. */
function checkMfa(mfa: MfaPolicy, type: ClientType): void {
  if (!MFA_POLICIES.includes(mfa)) throw new ClientInputError(MFA_MESSAGE);
  if (type === 'service')
    throw new ClientInputError('MFA is for applications people sign in to, not service applications');
}

function checkName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || n.length > 200 || /[\u0000-\u001f\u007f]/.test(n)) {
    throw new ClientInputError(NAME_MESSAGE);
  }
  return n;
}

function checkUris(uris: string[], type: ClientType, what: string): string[] {
  if (uris.length > 50) throw new ClientInputError(`at most 50 ${what}s`);
  for (const u of uris) {
    try {
      validateRedirectUriForRegistration(u, type);
    } catch (err) {
      if (err instanceof RedirectUriError)
        throw new ClientInputError(`invalid ${what}: ${err.message.replace(/^redirect URI /, '')}`);
      throw err;
    }
  }
  return [...new Set(uris)];
}

/** The same bounds and message as parseClientSettings (src/admin/client-settings.ts). */
function checkTtl(t: TimeSetting, v: number | null | undefined): void {
  if (v === null || v === undefined) return;
  if (!Number.isInteger(v) || v < t.min || v > t.max) throw new ClientInputError(timeMessage(t));
}

export class ClientAdmin {
  constructor(
    private readonly store: ClientStore,
    private readonly clock: Clock,
    /** LATCHKEY_KEY_ENCRYPTION_KEY: client_secret_jwt secrets are sealed with it. */
    private readonly keyEncryptionKey?: string,
    private readonly opts: { fetchAllowLoopback?: boolean; apis?: ApiDirectory } = {},
  ) {}

  /** A new secret in the forms `method` needs: its hash always, sealed for client_secret_jwt. */
  private newSecret(clientId: string, method: TokenEndpointAuthMethod) {
    if (method === 'client_secret_jwt' && this.keyEncryptionKey === undefined)
      throw new ClientInputError(CLIENT_SECRET_JWT_NEEDS_KEK);
    const secret = randomToken(32);
    return {
      secret,
      secretHash: sha256(secret),
      secretSealed:
        method === 'client_secret_jwt' ? sealClientSecret(this.keyEncryptionKey!, clientId, secret) : null,
    };
  }

  /** Returns the client and, for confidential clients, the secret (shown once). */
  async create(input: NewClientInput): Promise<{ client: Client; secret?: string }> {
    const built = this.build(input);
    if (input.allowedApis !== undefined) {
      const allowed = await checkAllowedApis(input.allowedApis, this.opts.apis, input.type);
      if (allowed.length > 0) built.client.allowedApis = allowed;
    }
    await this.store.create(built.client);
    return built;
  }

  /**
   * The client `input` describes, every rule checked, not stored: create stores it; a client ID
   * metadata document (src/net/client-metadata.ts) is used as built, on every use.
   */
  build(input: NewClientInput): { client: Client; secret?: string } {
    if (!CLIENT_TYPES.includes(input.type))
      throw new ClientInputError(`type must be one of ${CLIENT_TYPES.join(', ')}`);
    const name = checkName(input.name);
    const redirectUris = checkUris(input.redirectUris ?? [], input.type, 'redirect URI');
    const postLogout = checkUris(input.postLogoutRedirectUris ?? [], input.type, 'post-logout redirect URI');
    const confidential = input.type === 'web' || input.type === 'service';
    const grantTypes = resolveGrants(input.type, defaultGrants(input.type, input.refreshTokens), {
      ...(input.grantTypes ? { full: input.grantTypes } : {}),
      ...(input.addGrants ? { add: input.addGrants } : {}),
      ...(input.removeGrants ? { remove: input.removeGrants } : {}),
    });
    if (needsRedirectUri(input.type, grantTypes) && redirectUris.length === 0) {
      throw new ClientInputError(`a ${input.type} application needs at least one --redirect-uri`);
    }
    if (input.type === 'service' && redirectUris.length > 0) {
      throw new ClientInputError('a service application uses client credentials and takes no redirect URIs');
    }
    const method =
      input.tokenEndpointAuthMethod ??
      (input.profile === 'fapi2' ? 'private_key_jwt' : confidential ? 'client_secret_basic' : 'none');
    if (confidential && method === 'none')
      throw new ClientInputError(`a ${input.type} application must authenticate`);
    if (!confidential && method !== 'none') {
      throw new ClientInputError(
        `a ${input.type} application is public: token_endpoint_auth_method must be none`,
      );
    }
    const requirePkce = input.requirePkce ?? true;
    if (!requirePkce && input.type !== 'web') {
      throw new ClientInputError('PKCE can be switched off only for confidential web applications');
    }
    checkTtl(TIME_SETTINGS.refreshGrace, input.refreshGrace);
    if (input.mfa !== undefined) checkMfa(input.mfa, input.type);
    // A self-registered client is a third party: the person is always asked.
    const consent = input.registration ? 'required' : (input.consent ?? 'none');
    if (consent !== 'none' && consent !== 'required')
      throw new ClientInputError('consent must be none or required');
    if ((input.jwks || input.jwksUri) && !confidential)
      throw new ClientInputError('jwks and jwks_uri are for confidential (web or service) applications');
    checkKeys(input.jwks, input.jwksUri, this.opts.fetchAllowLoopback === true);
    if (method === 'private_key_jwt' && !input.jwks && !input.jwksUri)
      throw new ClientInputError("private_key_jwt needs the application's public keys: jwks or jwks_uri");
    if (input.profile === 'fapi2')
      checkFapi2({
        type: input.type,
        tokenEndpointAuthMethod: method,
        redirectUris,
        requirePkce: input.requirePkce ?? true,
      });
    const clientId = input.clientId ?? randomIdentifier(15);
    const issued = SECRET_METHODS.includes(method) ? this.newSecret(clientId, method) : undefined;
    const secret = issued?.secret;
    const now = this.clock.now();
    const client: Client = {
      clientId,
      name,
      type: input.type,
      redirectUris,
      postLogoutRedirectUris: postLogout,
      grantTypes,
      tokenEndpointAuthMethod: method,
      secretHash: issued?.secretHash ?? null,
      consent,
      requirePkce,
      accessTokenTtl: null,
      refreshTokenTtl: null,
      refreshIdleTtl: null,
      // null: the server default (LATCHKEY_REFRESH_GRACE) unless a value is given.
      refreshGrace: input.refreshGrace ?? null,
      rotateRefreshTokens: true,
      ...(input.allowedScopes !== undefined
        ? { allowedScopes: checkApiScopes(input.allowedScopes, input.type) }
        : {}),
      ...(input.requirePushedAuthorizationRequests ? { requirePushedAuthorizationRequests: true } : {}),
      ...(issued?.secretSealed ? { secretSealed: issued.secretSealed } : {}),
      ...(input.jwks ? { jwks: input.jwks } : {}),
      ...(input.jwksUri ? { jwksUri: input.jwksUri } : {}),
      ...(input.dpopBoundAccessTokens ? { dpopBoundAccessTokens: true } : {}),
      ...(input.profile ? { profile: input.profile } : {}),
      ...(input.mfa ? { mfa: input.mfa } : {}),
      ...(input.registration ? { registration: input.registration } : {}),
      ...(input.registrationTokenHash ? { registrationTokenHash: input.registrationTokenHash } : {}),
      createdAt: now,
      updatedAt: now,
    };
    return secret === undefined ? { client } : { client, secret };
  }

  /**
   * Changes the settings given. A change of token_endpoint_auth_method to one whose secret the
   * server does not hold in the needed form (client_secret_jwt needs it sealed; a secret method
   * after private_key_jwt needs one at all) issues a new secret, returned (shown once).
   */
  async update(
    clientId: string,
    patch: ClientSettingsPatch,
  ): Promise<{ client: Client; secret?: string } | undefined> {
    const existing = await this.store.get(clientId);
    if (!existing) return undefined;
    const next: ClientPatch = { updatedAt: this.clock.now() };
    if (patch.name !== undefined) next.name = checkName(patch.name);
    const grantChange =
      patch.grantTypes !== undefined || patch.addGrants !== undefined || patch.removeGrants !== undefined;
    // --refresh-tokens / --no-refresh-tokens: the refresh_token grant, the others kept.
    const refresh: GrantType[] =
      patch.refreshTokens !== undefined && existing.type !== 'service' ? ['refresh_token'] : [];
    if (grantChange || refresh.length > 0) {
      const grants = resolveGrants(existing.type, existing.grantTypes, {
        ...(patch.grantTypes ? { full: patch.grantTypes } : {}),
        add: [...(patch.addGrants ?? []), ...(patch.refreshTokens === true ? refresh : [])],
        remove: [...(patch.removeGrants ?? []), ...(patch.refreshTokens === false ? refresh : [])],
      });
      if (grants.join(' ') !== existing.grantTypes.join(' ')) next.grantTypes = grants;
    }
    const grantsAfter = next.grantTypes ?? existing.grantTypes;
    if (patch.redirectUris !== undefined) {
      next.redirectUris = checkUris(patch.redirectUris, existing.type, 'redirect URI');
      if (existing.type === 'service' && next.redirectUris.length > 0)
        throw new ClientInputError('a service application takes no redirect URIs');
    }
    if (
      needsRedirectUri(existing.type, grantsAfter) &&
      (next.redirectUris ?? existing.redirectUris).length === 0
    )
      throw new ClientInputError(
        patch.redirectUris !== undefined
          ? 'at least one redirect URI is needed'
          : `without the device grant, a ${existing.type} application needs a redirect URI: add one with --redirect-uri`,
      );
    if (
      patch.allowedApis !== undefined ||
      patch.allowApis !== undefined ||
      patch.disallowApis !== undefined
    ) {
      const base = patch.allowedApis ?? existing.allowedApis ?? [];
      const allow = await checkAllowedApis(patch.allowApis ?? [], this.opts.apis, existing.type);
      const full = patch.allowedApis
        ? await checkAllowedApis(patch.allowedApis, this.opts.apis, existing.type)
        : base;
      next.allowedApis = changeAllowedApis(full, allow, patch.disallowApis ?? []);
    }
    if (patch.postLogoutRedirectUris !== undefined) {
      next.postLogoutRedirectUris = checkUris(
        patch.postLogoutRedirectUris,
        existing.type,
        'post-logout redirect URI',
      );
    }
    if (patch.consent !== undefined) {
      if (patch.consent !== 'none' && patch.consent !== 'required')
        throw new ClientInputError('consent must be none or required');
      if (existing.registration && patch.consent !== 'required')
        throw new ClientInputError('a self-registered application always asks for consent');
      next.consent = patch.consent;
    }
    checkTtl(TIME_SETTINGS.accessTokenTtl, patch.accessTokenTtl);
    checkTtl(TIME_SETTINGS.refreshTokenTtl, patch.refreshTokenTtl);
    checkTtl(TIME_SETTINGS.refreshIdleTtl, patch.refreshIdleTtl);
    checkTtl(TIME_SETTINGS.refreshGrace, patch.refreshGrace);
    if (patch.accessTokenTtl !== undefined) next.accessTokenTtl = patch.accessTokenTtl;
    if (patch.refreshTokenTtl !== undefined) next.refreshTokenTtl = patch.refreshTokenTtl;
    if (patch.refreshIdleTtl !== undefined) next.refreshIdleTtl = patch.refreshIdleTtl;
    if (patch.refreshGrace !== undefined) next.refreshGrace = patch.refreshGrace;
    if (patch.allowedScopes !== undefined)
      next.allowedScopes = checkApiScopes(patch.allowedScopes, existing.type);
    if (patch.requirePushedAuthorizationRequests !== undefined)
      next.requirePushedAuthorizationRequests = patch.requirePushedAuthorizationRequests;
    if (patch.dpopBoundAccessTokens !== undefined) next.dpopBoundAccessTokens = patch.dpopBoundAccessTokens;
    if (patch.mfa !== undefined) {
      if (patch.mfa !== null) checkMfa(patch.mfa, existing.type);
      next.mfa = patch.mfa;
    }
    const confidential = isConfidential(existing);
    const method = patch.tokenEndpointAuthMethod ?? existing.tokenEndpointAuthMethod;
    if (patch.tokenEndpointAuthMethod !== undefined) {
      if (confidential && method === 'none')
        throw new ClientInputError(`a ${existing.type} application must authenticate`);
      if (!confidential && method !== 'none')
        throw new ClientInputError(
          `a ${existing.type} application is public: token_endpoint_auth_method must be none`,
        );
      next.tokenEndpointAuthMethod = method;
    }
    if (patch.jwks !== undefined || patch.jwksUri !== undefined) {
      if ((patch.jwks || patch.jwksUri) && !confidential)
        throw new ClientInputError('jwks and jwks_uri are for confidential (web or service) applications');
      // Setting one replaces the other.
      if (patch.jwks) next.jwksUri = null;
      if (patch.jwksUri) next.jwks = null;
      if (patch.jwks !== undefined) next.jwks = patch.jwks;
      if (patch.jwksUri !== undefined) next.jwksUri = patch.jwksUri;
      checkKeys(patch.jwks, patch.jwksUri, this.opts.fetchAllowLoopback === true);
    }
    const keys =
      !!(next.jwks !== undefined ? next.jwks : existing.jwks) ||
      !!(next.jwksUri !== undefined ? next.jwksUri : existing.jwksUri);
    if (method === 'private_key_jwt' && !keys)
      throw new ClientInputError("private_key_jwt needs the application's public keys: jwks or jwks_uri");
    const profile = patch.profile !== undefined ? patch.profile : (existing.profile ?? null);
    if (patch.profile !== undefined) next.profile = patch.profile;
    if (profile === 'fapi2')
      checkFapi2({
        type: existing.type,
        tokenEndpointAuthMethod: method,
        redirectUris: next.redirectUris ?? existing.redirectUris,
        requirePkce: existing.requirePkce,
      });
    let secret: string | undefined;
    if (patch.tokenEndpointAuthMethod !== undefined && method !== existing.tokenEndpointAuthMethod) {
      const needsNew =
        (method === 'client_secret_jwt' && !existing.secretSealed) ||
        (SECRET_METHODS.includes(method) && existing.secretHash === null);
      if (needsNew) {
        const issued = this.newSecret(clientId, method);
        secret = issued.secret;
        next.secretHash = issued.secretHash;
        next.secretSealed = issued.secretSealed;
      } else if (method === 'private_key_jwt') {
        // No secret is left behind that could still be tried.
        next.secretHash = null;
        next.secretSealed = null;
      } else if (method !== 'client_secret_jwt') next.secretSealed = null;
    }
    const client = await this.store.update(clientId, next);
    if (!client) return undefined;
    return secret === undefined ? { client } : { client, secret };
  }

  /** RFC 7592: a dynamic client's new registration access token (its hash), if `current` still holds. */
  replaceRegistrationTokenHash(clientId: string, current: string, next: string): Promise<boolean> {
    return this.store.replaceRegistrationTokenHash(clientId, current, next, this.clock.now());
  }

  async rotateSecret(clientId: string): Promise<{ client: Client; secret: string } | undefined> {
    const existing = await this.store.get(clientId);
    if (!existing) return undefined;
    if (!isConfidential(existing))
      throw new ClientInputError(`${existing.type} applications are public and have no secret`);
    if (existing.tokenEndpointAuthMethod === 'private_key_jwt')
      throw new ClientInputError('this application authenticates with private_key_jwt and has no secret');
    const { secret, secretHash, secretSealed } = this.newSecret(clientId, existing.tokenEndpointAuthMethod);
    const client = await this.store.update(clientId, {
      secretHash,
      ...(secretSealed ? { secretSealed } : {}),
      updatedAt: this.clock.now(),
    });
    return client && { client, secret };
  }
}
