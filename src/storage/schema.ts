/**
 * Table shapes as Kysely sees them. Times are epoch milliseconds (bigint columns);
 * booleans are 0/1 integers and lists are JSON text, so SQLite and PostgreSQL share one shape.
 */
export interface ClientsTable {
  client_id: string;
  name: string;
  type: string;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  grant_types: string;
  token_endpoint_auth_method: string;
  secret_hash: string | null;
  consent: string;
  require_pkce: number;
  access_token_ttl: number | null;
  refresh_token_ttl: number | null;
  refresh_idle_ttl: number | null;
  /** Nullable since migration 0007: null = the server default (LATCHKEY_REFRESH_GRACE). */
  refresh_grace: number | null;
  rotate_refresh_tokens: number;
  allowed_scopes: string;
  /** 0 or 1 (migration 0011). */
  require_par: number;
  /** Migration 0013: JSON JWK Set, URL, sealed secret, 0/1, profile name. */
  jwks: string | null;
  jwks_uri: string | null;
  secret_sealed: string | null;
  dpop_bound: number;
  profile: string | null;
  /** Migration 0015: none | optional | required, null = the server's LATCHKEY_MFA. */
  mfa: string | null;
  /** Migration 0018: JSON `[{identifier, scopes: string[] | null}]`, null = none. */
  allowed_apis: string | null;
  /** Migration 0020: dynamic (RFC 7591) or null (an administrator's); the registration access token's hash. */
  registration: string | null;
  registration_token_hash: string | null;
  created_at: number;
  updated_at: number;
}

export interface UsersTable {
  id: string;
  username: string;
  email: string | null;
  name: string | null;
  password_hash: string;
  disabled: number;
  /** 0/1; added by migration 0002_admin_role. */
  is_admin: number;
  /** 0/1 (0015): an administrator asked for a factor to be enrolled at the next sign-in. */
  mfa_enrol_required: number;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  auth_time: number;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  ended_at: number | null;
  /** 0015: JSON AuthMethods (method → when); null for sessions older than it (a password). */
  auth_methods: string | null;
  /** 0016: the client IP and User-Agent the session was started from (null: older sessions). */
  ip: string | null;
  user_agent: string | null;
}

export interface InteractionsTable {
  id: string;
  client_id: string;
  request: string;
  csrf: string;
  user_id: string | null;
  session_hash: string | null;
  auth_time: number | null;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
  /** 0015: JSON AuthMethods done so far in this interaction (before its session exists). */
  auth_methods: string | null;
}

export interface GrantsTable {
  id: string;
  client_id: string;
  user_id: string;
  session_hash: string | null;
  scope: string;
  nonce: string | null;
  auth_time: number;
  created_at: number;
  revoked_at: number | null;
  /** The grant's authorization code (SHA-256), null for grants made otherwise (0005). */
  code_hash: string | null;
  /** Null when the authorization request did not name one (RFC 6749 §4.1.3). */
  code_redirect_uri: string | null;
  code_challenge: string | null;
  code_expires_at: number | null;
  code_consumed_at: number | null;
  /** Migration 0014: RFC 9449 §10 `dpop_jkt`. */
  code_dpop_jkt: string | null;
  /** 0015: the tokens' `amr` (JSON array) and `acr`; null for older grants. */
  amr: string | null;
  acr: string | null;
  /** Migration 0018: RFC 8707 resources, JSON array; null = the default API only. */
  resources: string | null;
  /** When the purge may delete it (0005; storage/retention.ts). */
  purge_after: number | null;
}

/** Codes written before migration 0005; read only as a fallback, purged as they expire. */
export interface CodesTable {
  hash: string;
  grant_id: string;
  client_id: string;
  /** Null when the authorization request did not name one (RFC 6749 §4.1.3). */
  redirect_uri: string | null;
  code_challenge: string | null;
  expires_at: number;
  consumed_at: number | null;
}

export interface AccessTokensTable {
  jti: string;
  grant_id: string | null;
  client_id: string;
  sub: string;
  scope: string;
  expires_at: number;
  revoked_at: number | null;
}

export interface RefreshTokensTable {
  hash: string;
  grant_id: string;
  client_id: string;
  user_id: string;
  scope: string;
  created_at: number;
  expires_at: number;
  idle_expires_at: number;
  consumed_at: number | null;
  /** The response given when this token was rotated, encrypted, kept for the grace window only. */
  successor: string | null;
  grace_until: number | null;
  /** Migration 0012: the DPoP key a public client's token is bound to. */
  dpop_jkt: string | null;
}

export interface ConsentsTable {
  user_id: string;
  client_id: string;
  scope: string;
  created_at: number;
}

export interface SigningKeysTable {
  kid: string;
  /** Strictly increasing; unique, so two nodes cannot both create generation N. */
  generation: number;
  alg: string;
  private_pem: string;
  public_jwk: string;
  created_at: number;
  /** Signing starts here (publication delay after creation). */
  active_at: number;
  /** Stops signing (a newer key became active). */
  retired_at: number | null;
  /** Leaves the JWKS (every token it signed has expired). */
  expires_at: number | null;
  /** The generation's P-256 key for ES256 access tokens (0006); null for older generations. */
  ec_kid: string | null;
  ec_private_pem: string | null;
  ec_public_jwk: string | null;
}

export interface AuditEventsTable {
  id: string;
  at: number;
  type: string;
  client_id: string | null;
  user_id: string | null;
  ip: string | null;
  detail: string | null;
}

export interface LoginFailuresTable {
  id: string;
  /** `account:<username>` or `ip:<address>`. */
  key: string;
  at: number;
  /**
   * Null: a counted failure. Otherwise a reservation (a sign-in attempt in progress, since
   * migration 0008), which counts only until this time (its lease).
   */
  expires_at: number | null;
}

export interface ApisTable {
  identifier: string;
  name: string;
  /** JSON array of {value, description}. */
  scopes: string;
  access_token_ttl: number | null;
  token_alg: string | null;
  allow_dynamic_clients: number;
  created_at: number;
  updated_at: number;
}

export interface PushedRequestsTable {
  /** SHA-256 of the request_uri's random part. */
  uri_hash: string;
  client_id: string;
  /** JSON object of the parameters. */
  params: string;
  created_at: number;
  expires_at: number;
}

export interface ReplaysTable {
  /** What was used once, e.g. `dpop:<jkt>:<jti>` (hashed when long). */
  key: string;
  expires_at: number;
}

export interface PasskeysTable {
  id: string;
  user_id: string;
  /** base64url; unique. */
  credential_id: string;
  /** base64url COSE public key. */
  public_key: string;
  counter: number;
  /** JSON array of AuthenticatorTransport. */
  transports: string;
  backup_eligible: number;
  backed_up: number;
  aaguid: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export interface TotpFactorsTable {
  id: string;
  user_id: string;
  /** The base32 secret, sealed with the key-encryption key when one is set (tokens/key-encryption.ts). */
  secret_sealed: string;
  name: string;
  created_at: number;
  /** Null until the first valid code confirmed the enrolment. */
  confirmed_at: number | null;
  last_used_at: number | null;
  /** The last time step accepted (RFC 6238 §5.2: a code is used once). */
  last_step: number;
}

export interface RecoveryCodesTable {
  /** SHA-256 of the normalised code. */
  code_hash: string;
  user_id: string;
  /** The set the code was generated in (the factor's id). */
  set_id: string;
  created_at: number;
  used_at: number | null;
}

export interface WebauthnChallengesTable {
  /** base64url, random. */
  challenge: string;
  /** `sign-in` or `register`. */
  purpose: string;
  /** What the challenge belongs to: an interaction id or a session's hash. */
  binding: string;
  user_id: string | null;
  expires_at: number;
}

/** Device authorization requests (RFC 8628, migration 0019), under hashes of their codes. */
export interface DeviceCodesTable {
  hash: string;
  user_code_hash: string;
  client_id: string;
  scope: string;
  /** Seconds between polls. */
  poll_interval: number;
  created_at: number;
  expires_at: number;
  last_polled_at: number | null;
  /** `pending`, `approved` or `denied`. */
  status: string;
  grant_id: string | null;
  consumed_at: number | null;
  /** RFC 8707 resources, JSON array; null = the default API only. */
  resources: string | null;
}

/** Migration 0020: initial access tokens for /register (RFC 7591 §3). */
export interface RegistrationTokensTable {
  id: string;
  /** SHA-256 of the token; unique. */
  token_hash: string;
  created_at: number;
  expires_at: number;
  max_uses: number;
  uses: number;
  revoked_at: number | null;
}

/** Migration 0021: the mail outbox (ops/mail-sender.ts sends it). */
export interface MailOutboxTable {
  id: string;
  /** One address and its display name (null: none), checked before they are stored (ops/mail.ts). */
  recipient: string;
  recipient_name: string | null;
  subject: string;
  /** Emptied once the message is sent or given up (the bodies may hold one-time links). */
  text_body: string;
  html_body: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  /** The sender holding the lease, and until when (null: nobody). */
  claimed_by: string | null;
  claimed_until: number | null;
  sent_at: number | null;
  failed_at: number | null;
  last_error: string | null;
  /** When the purge deletes the row (set when it is sent or given up). */
  purge_after: number | null;
}

export interface Database {
  clients: ClientsTable;
  apis: ApisTable;
  users: UsersTable;
  sessions: SessionsTable;
  interactions: InteractionsTable;
  grants: GrantsTable;
  codes: CodesTable;
  access_tokens: AccessTokensTable;
  refresh_tokens: RefreshTokensTable;
  consents: ConsentsTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
  login_failures: LoginFailuresTable;
  pushed_requests: PushedRequestsTable;
  replays: ReplaysTable;
  passkeys: PasskeysTable;
  totp_factors: TotpFactorsTable;
  recovery_codes: RecoveryCodesTable;
  webauthn_challenges: WebauthnChallengesTable;
  device_codes: DeviceCodesTable;
  registration_tokens: RegistrationTokensTable;
  mail_outbox: MailOutboxTable;
}
