/**
 * Client metadata (RFC 7591 §2) as a self-registering client sends it: in a registration request
 * (/register, RFC 7592 update) or in a client ID metadata document
 * (draft-ietf-oauth-client-id-metadata-document). One reader for both, so the same rules hold
 * whichever way a client registers itself; it yields the input ClientAdmin checks and builds.
 * Members the server does not understand are ignored (RFC 7591 §2: "MUST ignore").
 */
import type { NewClientInput } from '../admin/client-settings.js';
import type { ClientRegistration, ClientType, TokenEndpointAuthMethod } from '../storage/types.js';
import { RedirectUriError, validateRedirectUriForRegistration } from './redirect-uris.js';
import { KNOWN_SCOPES, parseScope } from './scopes.js';

/** RFC 7591 §3.2.2 error codes. */
export type RegistrationErrorCode =
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_software_statement'
  | 'unapproved_software_statement';

export class ClientMetadataError extends Error {
  override name = 'ClientMetadataError';
  constructor(
    readonly code: RegistrationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What a client registering at /register may authenticate with. client_secret_jwt is left out:
 * its secret would have to be kept sealed (LATCHKEY_KEY_ENCRYPTION_KEY) for a client nobody vetted.
 */
export const DYNAMIC_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
];

/**
 * A metadata document cannot carry a shared secret (draft-ietf-oauth-client-id-metadata-document
 * §4.1: no client_secret, no symmetric method): a public client, or private_key_jwt.
 */
export const DOCUMENT_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['none', 'private_key_jwt'];

/**
 * The scopes a self-registered client may ask for: those of the default API (the OpenID Connect
 * ones). The hook where APIs with `allow_dynamic_clients` (RFC 8707 resource indicators) join.
 */
export function scopesForSelfRegisteredClients(): string[] {
  return [...KNOWN_SCOPES];
}

const MAX_URIS = 20;

export interface ReadClientMetadata {
  input: NewClientInput;
  /** OIDC Dynamic Client Registration §2 `application_type`. */
  applicationType: 'web' | 'native';
  /** The scopes the client may ask for (those it asked for among scopesForSelfRegisteredClients). */
  scope: string[];
  /** As registered (RFC 7591 §2); the server issues codes only. */
  responseTypes: string[];
}

const bad = (message: string) => new ClientMetadataError('invalid_client_metadata', message);

function stringList(
  raw: Record<string, unknown>,
  name: string,
  code: RegistrationErrorCode,
): string[] | undefined {
  const v = raw[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new ClientMetadataError(code, `${name} must be an array of strings`);
  if (v.length > MAX_URIS) throw new ClientMetadataError(code, `${name} holds at most ${MAX_URIS} values`);
  return v as string[];
}

function optionalString(raw: Record<string, unknown>, name: string): string | undefined {
  const v = raw[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(`${name} must be a string`);
  return v;
}

/**
 * Reads `raw` as client metadata for a client registered by `source`; throws ClientMetadataError.
 * `defaultName` is the name when the client gives none.
 */
export function readClientMetadata(
  raw: unknown,
  source: ClientRegistration,
  defaultName: string,
): ReadClientMetadata {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw bad('the client metadata must be a JSON object');
  const m = raw as Record<string, unknown>;
  if (source === 'metadata_document' && ('client_secret' in m || 'client_secret_expires_at' in m))
    // draft-ietf-oauth-client-id-metadata-document §4.1: no shared secret in a public document.
    throw bad('a client metadata document must not contain client_secret or client_secret_expires_at');
  if (m['software_statement'] !== undefined)
    // RFC 7591 §3.2.2: software statements are not accepted by this server.
    throw new ClientMetadataError('unapproved_software_statement', 'software statements are not supported');

  const applicationType = m['application_type'] ?? 'web';
  if (applicationType !== 'web' && applicationType !== 'native')
    throw bad('application_type must be web or native');

  const allowed = source === 'metadata_document' ? DOCUMENT_AUTH_METHODS : DYNAMIC_AUTH_METHODS;
  // RFC 7591 §2: client_secret_basic when omitted; a document cannot have a secret, so none there.
  const method = (optionalString(m, 'token_endpoint_auth_method') ??
    (source === 'metadata_document' ? 'none' : 'client_secret_basic')) as TokenEndpointAuthMethod;
  if (!allowed.includes(method))
    throw bad(
      `token_endpoint_auth_method ${String(method).slice(0, 40)} is not allowed here (allowed: ${allowed.join(', ')})`,
    );
  // RFC 8252 §8.5: a native application cannot keep a secret.
  if (applicationType === 'native' && method !== 'none')
    throw bad('a native application is public: token_endpoint_auth_method must be none');

  // RFC 7591 §2.1: grant_types defaults to authorization_code, response_types to code.
  const grantTypes = stringList(m, 'grant_types', 'invalid_client_metadata') ?? ['authorization_code'];
  for (const g of grantTypes)
    if (g !== 'authorization_code' && g !== 'refresh_token')
      throw bad(`grant type ${g.slice(0, 40)} is not available to self-registered clients`);
  if (!grantTypes.includes('authorization_code')) throw bad('grant_types must include authorization_code');
  const responseTypes = stringList(m, 'response_types', 'invalid_client_metadata') ?? ['code'];
  if (responseTypes.length !== 1 || responseTypes[0] !== 'code') throw bad('response_types must be ["code"]');

  const type: ClientType = method === 'none' ? (applicationType === 'native' ? 'native' : 'spa') : 'web';
  const redirectUris = stringList(m, 'redirect_uris', 'invalid_redirect_uri');
  if (!redirectUris || redirectUris.length === 0)
    throw new ClientMetadataError('invalid_redirect_uri', 'redirect_uris must list at least one URI');
  const postLogout = stringList(m, 'post_logout_redirect_uris', 'invalid_client_metadata') ?? [];
  for (const [uris, code] of [
    [redirectUris, 'invalid_redirect_uri'],
    [postLogout, 'invalid_client_metadata'],
  ] as const) {
    for (const u of uris) {
      try {
        // The rules of every other application (loopback, private-use schemes for native, https).
        validateRedirectUriForRegistration(u, type);
      } catch (err) {
        if (err instanceof RedirectUriError) throw new ClientMetadataError(code, err.message);
        throw err;
      }
    }
  }

  const name = optionalString(m, 'client_name') ?? defaultName;
  const jwksUri = optionalString(m, 'jwks_uri');
  const jwks = m['jwks'];
  if (jwks !== undefined && (typeof jwks !== 'object' || jwks === null || Array.isArray(jwks)))
    throw bad('jwks must be a JWK Set (an object with a "keys" array)');
  // RFC 7591 §2: jwks and jwks_uri MUST NOT both be present.
  if (jwks !== undefined && jwksUri !== undefined) throw bad('give jwks or jwks_uri, not both');
  if (method !== 'private_key_jwt' && (jwks !== undefined || jwksUri !== undefined))
    throw bad('jwks and jwks_uri are for token_endpoint_auth_method private_key_jwt');

  const offered = scopesForSelfRegisteredClients();
  const asked = parseScope(optionalString(m, 'scope'));
  if (asked === undefined) throw bad('scope is malformed');
  const scope = asked.length === 0 ? offered : offered.filter((s) => asked.includes(s));

  const input: NewClientInput = {
    name,
    type,
    redirectUris,
    postLogoutRedirectUris: postLogout,
    tokenEndpointAuthMethod: method,
    refreshTokens: grantTypes.includes('refresh_token'),
    consent: 'required',
    registration: source,
    ...(jwks !== undefined ? { jwks: jwks as NonNullable<NewClientInput['jwks']> } : {}),
    ...(jwksUri !== undefined ? { jwksUri } : {}),
  };
  return { input, applicationType, scope, responseTypes };
}
