/**
 * An application's settings, read once for every door: the JSON API, the console's forms and the
 * CLI map their own input (JSON fields, form fields, flags) to the field names below and render
 * the errors their own way; the wording of a message is the same whichever door it came through.
 *
 * This checks each field on its own (types, allowed values, time ranges, list sizes). What
 * depends on the application itself (redirect URIs for its type, PKCE, API scopes) is checked by
 * ClientAdmin, whose messages are shared the same way.
 */
import { DURATION_HINT, formatDuration, parseDuration } from '../duration.js';
import type {
  AllowedApi,
  ClientJwks,
  ClientProfile,
  ClientRegistration,
  ClientType,
  ConsentSetting,
  GrantType,
  MfaPolicy,
  TokenEndpointAuthMethod,
} from '../storage/types.js';

/** A new application's settings, as read (ClientAdmin.create checks the rest). */
export interface NewClientInput {
  name: string;
  type: ClientType;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  consent?: ConsentSetting;
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  requirePkce?: boolean;
  refreshTokens?: boolean;
  /** API scopes a service application may request (client credentials). */
  allowedScopes?: string[];
  /** RFC 8707: the registered APIs (besides the default) it may ask tokens for. */
  allowedApis?: AllowedApi[];
  /** The grant types, in full (JSON `grant_types`); absent: those of its type. */
  grantTypes?: GrantType[];
  /** Grants added to / removed from those of its type (CLI `--grant`, `--no-grant`). */
  addGrants?: GrantType[];
  removeGrants?: GrantType[];
  /** Refresh-token reuse grace, 0–60 s (0 = off); absent or null follows the server default. */
  refreshGrace?: number | null;
  /** RFC 9126 §5: requests only through /par. */
  requirePushedAuthorizationRequests?: boolean;
  /** private_key_jwt: the public keys inline, or where they are published. */
  jwks?: ClientJwks;
  jwksUri?: string;
  /** RFC 9449 §5.2: every token request carries a DPoP proof. */
  dpopBoundAccessTokens?: boolean;
  profile?: ClientProfile;
  /** Multi-factor policy; absent follows the server's LATCHKEY_MFA. */
  mfa?: MfaPolicy;
  clientId?: string;
  /**
   * Self-registered (RFC 7591 /register, or a client ID metadata document): a third-party
   * client, so consent is always asked whatever `consent` says.
   */
  registration?: ClientRegistration;
  /** RFC 7592: the hash of the registration access token of a dynamic client. */
  registrationTokenHash?: string;
}

/** The settings to change, as read (ClientAdmin.update checks the rest). */
export interface ClientSettingsPatch {
  name?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  consent?: ConsentSetting;
  accessTokenTtl?: number | null;
  refreshTokenTtl?: number | null;
  refreshIdleTtl?: number | null;
  /** 0–60 s (0 = off); null goes back to the server default (LATCHKEY_REFRESH_GRACE). */
  refreshGrace?: number | null;
  refreshTokens?: boolean;
  allowedScopes?: string[];
  /** RFC 8707: the whole list of allowed APIs (JSON `allowed_apis`). */
  allowedApis?: AllowedApi[];
  /** Added or replaced by identifier (CLI `--allow-api`), and removed (`--disallow-api`). */
  allowApis?: AllowedApi[];
  disallowApis?: string[];
  /** The grant types in full (JSON `grant_types`), or changed one by one (`--grant`, `--no-grant`). */
  grantTypes?: GrantType[];
  addGrants?: GrantType[];
  removeGrants?: GrantType[];
  requirePushedAuthorizationRequests?: boolean;
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** null removes them. */
  jwks?: ClientJwks | null;
  jwksUri?: string | null;
  dpopBoundAccessTokens?: boolean;
  /** null: no profile. */
  profile?: ClientProfile | null;
  /** null: the server's LATCHKEY_MFA (inherit). */
  mfa?: MfaPolicy | null;
}

export const CLIENT_TYPES: readonly ClientType[] = ['native', 'spa', 'web', 'service'];
const CONSENT: readonly ConsentSetting[] = ['none', 'required'];
export const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
];
export const PROFILES: readonly ClientProfile[] = ['fapi2'];
export const MFA_POLICIES: readonly MfaPolicy[] = ['none', 'optional', 'required'];
/** The word for "no policy of its own: the server's LATCHKEY_MFA" (JSON null works too). */
export const MFA_INHERIT = 'inherit';
export const MFA_MESSAGE = `MFA must be ${MFA_POLICIES.join(', ')} or ${MFA_INHERIT} (the server's LATCHKEY_MFA)`;

/** The fields each mode takes (the admin API's JSON names). */
export const CLIENT_SETTING_FIELDS = {
  create: [
    'name',
    'type',
    'redirect_uris',
    'post_logout_redirect_uris',
    'consent',
    'token_endpoint_auth_method',
    'require_pkce',
    'refresh_tokens',
    'refresh_grace',
    'allowed_scopes',
    'allowed_apis',
    'grant_types',
    'add_grants',
    'remove_grants',
    'require_pushed_authorization_requests',
    'jwks',
    'jwks_uri',
    'dpop_bound_access_tokens',
    'profile',
    'mfa',
  ],
  update: [
    'name',
    'redirect_uris',
    'post_logout_redirect_uris',
    'consent',
    'access_token_ttl',
    'refresh_token_ttl',
    'refresh_idle_ttl',
    'refresh_grace',
    'refresh_tokens',
    'allowed_scopes',
    'allowed_apis',
    'allow_apis',
    'disallow_apis',
    'grant_types',
    'add_grants',
    'remove_grants',
    'require_pushed_authorization_requests',
    'token_endpoint_auth_method',
    'jwks',
    'jwks_uri',
    'dpop_bound_access_tokens',
    'profile',
    'mfa',
  ],
} as const;

export type ClientSettingField =
  | (typeof CLIENT_SETTING_FIELDS.create)[number]
  | (typeof CLIENT_SETTING_FIELDS.update)[number];

const FIVE_YEARS = 5 * 365 * 86400;

/** The per-application times: seconds, within these bounds; null = the server default. */
export const TIME_SETTINGS = {
  accessTokenTtl: { field: 'access_token_ttl', label: 'access token TTL', min: 60, max: 86400, note: '' },
  refreshTokenTtl: {
    field: 'refresh_token_ttl',
    label: 'refresh token TTL',
    min: 60,
    max: FIVE_YEARS,
    note: '',
  },
  refreshIdleTtl: {
    field: 'refresh_idle_ttl',
    label: 'refresh idle TTL',
    min: 60,
    max: FIVE_YEARS,
    note: '',
  },
  refreshGrace: { field: 'refresh_grace', label: 'refresh grace', min: 0, max: 60, note: ' (0 = off)' },
} as const;

export type TimeSetting = (typeof TIME_SETTINGS)[keyof typeof TIME_SETTINGS];

/** `access token TTL must be a time from 1m to 1d: a whole number of seconds, or a duration …` */
export function timeMessage(t: TimeSetting): string {
  return `${t.label} must be a time from ${formatDuration(t.min)} to ${formatDuration(t.max)}${t.note}: a whole number of ${DURATION_HINT}`;
}

/** The messages of the checks on a name and on list sizes, shared with ClientAdmin. */
export const NAME_MESSAGE = 'name must be 1 to 200 printable characters';
export const MAX_LIST = 50;

export interface FieldError {
  /** The field's name in CLIENT_SETTING_FIELDS (for unknown fields, the name given). */
  field: string;
  message: string;
}

export type ParsedSettings<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const LABELS: Record<string, string> = {
  redirect_uris: 'redirect URIs',
  post_logout_redirect_uris: 'post-logout redirect URIs',
  allowed_scopes: 'allowed scopes',
  allowed_apis: 'allowed APIs',
  allow_apis: 'allowed APIs',
  disallow_apis: 'APIs to disallow',
  grant_types: 'grant types',
  add_grants: 'grant types',
  remove_grants: 'grant types',
  require_pkce: 'require PKCE',
  refresh_tokens: 'refresh tokens',
  require_pushed_authorization_requests: 'require pushed authorization requests',
  dpop_bound_access_tokens: 'DPoP-bound access tokens',
};

/**
 * Reads an application's settings. `input` holds the fields of CLIENT_SETTING_FIELDS[mode];
 * an absent or undefined field is not changed (create: takes its default). Values:
 * strings for name, type, consent and token_endpoint_auth_method; arrays of strings for the
 * lists; booleans for require_pkce and refresh_tokens; for times, a whole number of seconds, a
 * duration string (`90`, `90s`, `15m`, `1h`, `7d`, `1h30m`) or null (the server default).
 * Create needs name and type. Every field is checked; the errors come in the order of the fields.
 */
export function parseClientSettings(
  input: Record<string, unknown>,
  opts: { mode: 'create' },
): ParsedSettings<NewClientInput>;
export function parseClientSettings(
  input: Record<string, unknown>,
  opts: { mode: 'update' },
): ParsedSettings<ClientSettingsPatch>;
export function parseClientSettings(
  input: Record<string, unknown>,
  opts: { mode: 'create' | 'update' },
): ParsedSettings<NewClientInput | ClientSettingsPatch> {
  const fields: readonly string[] = CLIENT_SETTING_FIELDS[opts.mode];
  const errors: FieldError[] = [];
  const fail = (field: string, message: string): undefined => {
    errors.push({ field, message });
    return undefined;
  };
  for (const key of Object.keys(input)) {
    if (!fields.includes(key) && input[key] !== undefined)
      fail(key, `unknown setting: ${key.slice(0, 40)} (known: ${fields.join(', ')})`);
  }
  const has = (field: string) => fields.includes(field) && input[field] !== undefined;
  const { oneOf, list, bool, time, apiList, grantList } = fieldReaders(input, fail);

  const out: Record<string, unknown> = {};
  const set = (key: string, v: unknown) => {
    if (v !== undefined) out[key] = v;
  };
  if (has('name')) {
    const v = input['name'];
    if (typeof v !== 'string') fail('name', 'name must be a string');
    else if (v.trim().length === 0 || v.trim().length > 200 || /[\u0000-\u001f\u007f]/.test(v.trim()))
      fail('name', NAME_MESSAGE);
    else out['name'] = v.trim();
  } else if (opts.mode === 'create') fail('name', 'name is required');
  if (opts.mode === 'create') {
    if (has('type'))
      set('type', oneOf('type', CLIENT_TYPES, `type must be one of ${CLIENT_TYPES.join(', ')}`));
    else fail('type', `type is required: one of ${CLIENT_TYPES.join(', ')}`);
  }
  if (has('redirect_uris')) set('redirectUris', list('redirect_uris'));
  if (has('post_logout_redirect_uris')) set('postLogoutRedirectUris', list('post_logout_redirect_uris'));
  if (has('consent')) set('consent', oneOf('consent', CONSENT, 'consent must be none or required'));
  if (has('token_endpoint_auth_method')) {
    set(
      'tokenEndpointAuthMethod',
      oneOf(
        'token_endpoint_auth_method',
        AUTH_METHODS,
        `token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`,
      ),
    );
  }
  if (has('require_pkce')) set('requirePkce', bool('require_pkce'));
  for (const [key, t] of Object.entries(TIME_SETTINGS)) if (has(t.field)) set(key, time(t));
  if (has('refresh_tokens')) set('refreshTokens', bool('refresh_tokens'));
  if (has('allowed_scopes')) set('allowedScopes', list('allowed_scopes'));
  if (has('allowed_apis')) set('allowedApis', apiList('allowed_apis'));
  if (has('allow_apis')) set('allowApis', apiList('allow_apis'));
  if (has('disallow_apis')) set('disallowApis', list('disallow_apis'));
  if (has('grant_types')) set('grantTypes', grantList('grant_types'));
  if (has('add_grants')) set('addGrants', grantList('add_grants'));
  if (has('remove_grants')) set('removeGrants', grantList('remove_grants'));
  if (has('require_pushed_authorization_requests'))
    set('requirePushedAuthorizationRequests', bool('require_pushed_authorization_requests'));
  // jwks: a JWK Set object (ClientAdmin checks its keys); jwks_uri: a URL; null removes either.
  if (has('jwks')) {
    const v = input['jwks'];
    if (v === null && opts.mode === 'update') out['jwks'] = null;
    else if (
      typeof v !== 'object' ||
      v === null ||
      Array.isArray(v) ||
      !Array.isArray((v as ClientJwks).keys)
    )
      fail('jwks', 'jwks must be a JWK Set: an object with a "keys" array');
    else if (JSON.stringify(v).length > 16384) fail('jwks', 'jwks must be at most 16 KiB');
    else out['jwks'] = v;
  }
  if (has('jwks_uri')) {
    const v = input['jwks_uri'];
    if (v === null && opts.mode === 'update') out['jwksUri'] = null;
    else if (typeof v !== 'string' || v.length === 0 || v.length > 2048)
      fail('jwks_uri', 'jwks_uri must be an https URL');
    else out['jwksUri'] = v;
  }
  if (has('dpop_bound_access_tokens')) set('dpopBoundAccessTokens', bool('dpop_bound_access_tokens'));
  if (has('profile')) {
    const v = input['profile'];
    if ((v === null || v === 'none') && opts.mode === 'update') out['profile'] = null;
    else
      set(
        'profile',
        oneOf(
          'profile',
          PROFILES,
          `profile must be ${PROFILES.join(' or ')}${opts.mode === 'update' ? ' (or none)' : ''}`,
        ),
      );
  }

  // mfa: none, optional or required; inherit (or null) follows LATCHKEY_MFA (create: the default).
  if (has('mfa')) {
    const v = input['mfa'];
    if (v === null || v === MFA_INHERIT) {
      if (opts.mode === 'update') out['mfa'] = null;
    } else set('mfa', oneOf('mfa', MFA_POLICIES, MFA_MESSAGE));
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: out as unknown as NewClientInput | ClientSettingsPatch };
}

/** parseClientSettings' field readers: the value, or undefined once `fail` has the error. */
function fieldReaders(input: Record<string, unknown>, fail: (field: string, message: string) => undefined) {
  const oneOf = <T extends string>(field: string, values: readonly T[], message: string): T | undefined => {
    const v = input[field];
    return typeof v === 'string' && (values as readonly string[]).includes(v)
      ? (v as T)
      : fail(field, message);
  };
  const list = (field: string): string[] | undefined => {
    const v = input[field];
    const label = LABELS[field] ?? field;
    if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string' && x.length <= 2048))
      return fail(field, `${label} must be an array of strings`);
    if (v.length > MAX_LIST) return fail(field, `at most ${MAX_LIST} ${label}`);
    return v;
  };
  const bool = (field: string): boolean | undefined => {
    const v = input[field];
    return typeof v === 'boolean'
      ? v
      : fail(field, `${LABELS[field] ?? field} must be true or false (on or off)`);
  };
  const time = (t: TimeSetting): number | null | undefined => {
    const v = input[t.field];
    if (v === null) return null;
    const sec = typeof v === 'number' ? v : typeof v === 'string' ? parseDuration(v) : undefined;
    if (sec === undefined || !Number.isInteger(sec) || sec < t.min || sec > t.max)
      return fail(t.field, timeMessage(t));
    return sec;
  };
  // allowed_apis: [{identifier, scopes}] (scopes absent or null: all of that API's scopes).
  const apiList = (field: string): AllowedApi[] | undefined => {
    const v = input[field];
    const label = LABELS[field] ?? field;
    if (!Array.isArray(v)) return fail(field, ALLOWED_APIS_MESSAGE(label));
    if (v.length > MAX_LIST) return fail(field, `at most ${MAX_LIST} ${label}`);
    const out: AllowedApi[] = [];
    for (const e of v) {
      const entry = e as Record<string, unknown> | null;
      const scopes = entry?.['scopes'];
      if (
        typeof entry !== 'object' ||
        entry === null ||
        Array.isArray(entry) ||
        typeof entry['identifier'] !== 'string' ||
        entry['identifier'].length > 512 ||
        Object.keys(entry).some((k) => k !== 'identifier' && k !== 'scopes') ||
        (scopes !== undefined &&
          scopes !== null &&
          (!Array.isArray(scopes) ||
            scopes.length > 100 ||
            !scopes.every((x): x is string => typeof x === 'string' && x.length <= 128)))
      )
        return fail(field, ALLOWED_APIS_MESSAGE(label));
      out.push({ identifier: entry['identifier'], scopes: (scopes as string[] | null | undefined) ?? null });
    }
    return out;
  };
  const grantList = (field: string): GrantType[] | undefined => {
    const v = list(field);
    if (v === undefined) return undefined;
    const out: GrantType[] = [];
    for (const g of v) {
      const t = grantTypeOf(g);
      if (t === undefined) return fail(field, GRANT_MESSAGE(g));
      out.push(t);
    }
    return [...new Set(out)];
  };
  return { oneOf, list, bool, time, apiList, grantList };
}

const ALLOWED_APIS_MESSAGE = (label: string) =>
  `${label} must be an array of {"identifier": API identifier, "scopes": [scope, …] or null for all}`;

/** The grant types an application may be given, by their RFC names. */
export const GRANT_TYPES: readonly GrantType[] = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
];
/** Short names people type: `device_code` for RFC 8628's URN. */
const GRANT_ALIASES: Record<string, GrantType> = {
  device_code: 'urn:ietf:params:oauth:grant-type:device_code',
  device: 'urn:ietf:params:oauth:grant-type:device_code',
};

/** A grant type from its RFC name or short name, or undefined. */
export function grantTypeOf(name: string): GrantType | undefined {
  if ((GRANT_TYPES as readonly string[]).includes(name)) return name as GrantType;
  return GRANT_ALIASES[name];
}

const GRANT_MESSAGE = (g: string) =>
  `unknown grant type ${JSON.stringify(g.slice(0, 60))}: one of authorization_code, refresh_token, client_credentials, device_code (${GRANT_TYPES[3]})`;

/**
 * `IDENTIFIER[=SCOPE,SCOPE…]` (the CLI's --allow-api, a line of the console's field): an API and
 * the scopes of it the application may ask (none listed: all of them). The split is at the last
 * `=` unless what follows holds a `/`, `?` or `&` (then it is part of the identifier); an `=`
 * with nothing after it is an error (undefined).
 */
export function parseAllowedApi(text: string): AllowedApi | undefined {
  const at = text.lastIndexOf('=');
  if (at < 0 || /[/?&]/.test(text.slice(at + 1))) return { identifier: text.trim(), scopes: null };
  const scopes = text
    .slice(at + 1)
    .split(/[,\s]+/)
    .filter(Boolean);
  if (scopes.length === 0) return undefined;
  return { identifier: text.slice(0, at).trim(), scopes };
}
