/**
 * Narrow store contracts, one per concern. The contract test suite (test/storage/)
 * runs every implementation against these promises.
 */

export type ClientType = 'native' | 'spa' | 'web' | 'service';
export type TokenEndpointAuthMethod =
  | 'none'
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt';
/** A JWK Set (RFC 7517 §5): the public keys of a private_key_jwt application. */
export interface ClientJwks {
  keys: Record<string, unknown>[];
}
/** A security profile an application is held to (absent: none beyond the defaults). */
export type ClientProfile = 'fapi2';
export type ConsentSetting = 'none' | 'required';
/** Multi-factor policy: `optional` asks a person who has a second factor for it. */
export type MfaPolicy = 'none' | 'optional' | 'required';
export type GrantType =
  | 'authorization_code'
  | 'refresh_token'
  | 'client_credentials'
  /** RFC 8628 §3.4: the device authorization grant. */
  | 'urn:ietf:params:oauth:grant-type:device_code';

/** An API an application may ask tokens for, and which of its scopes (null: every one). */
export interface AllowedApi {
  identifier: string;
  scopes: string[] | null;
}

export interface Client {
  clientId: string;
  name: string;
  type: ClientType;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: GrantType[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  secretHash: string | null;
  consent: ConsentSetting;
  requirePkce: boolean;
  accessTokenTtl: number | null;
  refreshTokenTtl: number | null;
  refreshIdleTtl: number | null;
  /**
   * Refresh-token reuse grace, seconds (0 = off); null follows the server's
   * LATCHKEY_REFRESH_GRACE (migration 0007 turned the old default 0 into null).
   */
  refreshGrace: number | null;
  rotateRefreshTokens: boolean;
  /** API scopes granted through client credentials (service applications); optional, default none. */
  allowedScopes?: string[];
  /**
   * The registered APIs (other than the default one) this application may ask tokens for
   * (RFC 8707 `resource`), each with the scopes it may ask (null: all of that API's scopes).
   * Absent or empty: only the default API.
   */
  allowedApis?: AllowedApi[];
  /** RFC 9126 §5: /authorize takes this application's requests only through /par (absent: no). */
  requirePushedAuthorizationRequests?: boolean;
  /** private_key_jwt (RFC 7523): the application's public keys inline, or where to fetch them. */
  jwks?: ClientJwks;
  jwksUri?: string;
  /**
   * client_secret_jwt: the secret itself, sealed with LATCHKEY_KEY_ENCRYPTION_KEY (an HMAC needs
   * the key, not its hash); present only for that method.
   */
  secretSealed?: string;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request carries a DPoP proof. */
  dpopBoundAccessTokens?: boolean;
  /** `fapi2`: the FAPI 2.0 Security Profile is enforced for this application. */
  profile?: ClientProfile;
  /** Multi-factor policy; absent follows the server's LATCHKEY_MFA. */
  mfa?: MfaPolicy;
  /**
   * How the client came to be when not by an administrator: `dynamic` through /register
   * (RFC 7591), `metadata_document` a client_id URL whose document was fetched (never stored
   * as such: src/protocol/client-resolver.ts builds it). Absent: registered by an administrator.
   * Either is a third-party client: consent is always asked.
   */
  registration?: ClientRegistration;
  /** RFC 7592 §3: SHA-256 of the registration access token (dynamic clients only). */
  registrationTokenHash?: string;
  createdAt: number;
  updatedAt: number;
}

export type ClientRegistration = 'dynamic' | 'metadata_document';

/** The optional settings a patch can clear (null) as well as set. */
type Clearable = 'jwks' | 'jwksUri' | 'secretSealed' | 'profile' | 'mfa' | 'registrationTokenHash';

/** A change to a client: fields left out keep their value; null clears a Clearable one. */
export type ClientPatch = Partial<Omit<Client, 'clientId' | 'createdAt' | Clearable>> & {
  [K in Clearable]?: Client[K] | null;
};

export interface ClientStore {
  /** Throws DuplicateError when the client_id exists. */
  create(client: Client): Promise<void>;
  get(clientId: string): Promise<Client | undefined>;
  list(): Promise<Client[]>;
  /** Returns the updated client, or undefined when it does not exist. */
  update(clientId: string, patch: ClientPatch): Promise<Client | undefined>;
  /**
   * RFC 7592: replaces a dynamic client's registration access token hash only while it is still
   * `current` (one conditional statement: of two racing rotations exactly one succeeds).
   */
  replaceRegistrationTokenHash(clientId: string, current: string, next: string, at: number): Promise<boolean>;
  /** True when a client was deleted. */
  delete(clientId: string): Promise<boolean>;
}

/**
 * An initial access token (RFC 7591 §3): lets its bearer register clients at /register when
 * LATCHKEY_REGISTRATION=token, until it expires or has been used `maxUses` times.
 */
export interface InitialAccessToken {
  id: string;
  /** SHA-256 of the token; the token itself is shown once, when it is made. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  maxUses: number;
  uses: number;
  revokedAt: number | null;
}

export interface InitialAccessTokenStore {
  /** Throws DuplicateError when the id or the hash exists. */
  create(token: InitialAccessToken): Promise<void>;
  /** Newest first. */
  list(): Promise<InitialAccessToken[]>;
  /**
   * Takes one use, atomically across nodes: only while the token is not revoked, not expired at
   * `now` and used fewer than `maxUses` times. Returns the token after the use, else undefined.
   */
  use(tokenHash: string, now: number): Promise<InitialAccessToken | undefined>;
  /** True when a token that was not revoked is now. */
  revoke(id: string, at: number): Promise<boolean>;
}

/** A scope an API defines, with the words the consent page shows for it. */
export interface ApiScope {
  value: string;
  description: string;
}

/** The algorithms an API's access tokens may be signed with. */
export type ApiTokenAlg = 'RS256' | 'ES256';

/**
 * A protected API (a resource server, RFC 8707 §2): its identifier is the access token's `aud`.
 * A setting left null follows the server's.
 */
export interface Api {
  /** An absolute URI without a fragment (RFC 8707 §2), e.g. https://api.example.com. */
  identifier: string;
  name: string;
  scopes: ApiScope[];
  /** Access token lifetime in seconds; null: the server's (LATCHKEY_ACCESS_TOKEN_TTL). */
  accessTokenTtl: number | null;
  /** null: the server's (LATCHKEY_ACCESS_TOKEN_ALG). */
  tokenAlg: ApiTokenAlg | null;
  /** Whether self-registered clients may ask for it (always with consent). */
  allowDynamicClients: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A change to an API: fields left out keep their value. */
export type ApiPatch = Partial<Omit<Api, 'identifier' | 'createdAt'>>;

export interface ApiStore {
  /** Throws DuplicateError when the identifier exists. */
  create(api: Api): Promise<void>;
  get(identifier: string): Promise<Api | undefined>;
  /** Oldest first. */
  list(): Promise<Api[]>;
  /** Returns the updated API, or undefined when it does not exist. */
  update(identifier: string, patch: ApiPatch): Promise<Api | undefined>;
  /** True when an API was deleted. */
  delete(identifier: string): Promise<boolean>;
}

export interface User {
  id: string;
  username: string;
  email: string | null;
  name: string | null;
  passwordHash: string;
  disabled: boolean;
  /** May use the admin console and API. Absent means false (present only when true when read back). */
  isAdmin?: boolean;
  /** An administrator asked for a factor to be enrolled at the next sign-in (absent: no). */
  mfaEnrolRequired?: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface UserStore {
  /** Throws DuplicateError when the username is taken. */
  create(user: User): Promise<void>;
  getById(id: string): Promise<User | undefined>;
  getByUsername(username: string): Promise<User | undefined>;
  list(): Promise<User[]>;
  setPasswordHash(id: string, hash: string, at: number): Promise<boolean>;
  setDisabled(id: string, disabled: boolean, at: number): Promise<boolean>;
  /** Grants or withdraws the admin role; false when the user does not exist. */
  setAdmin(id: string, isAdmin: boolean, at: number): Promise<boolean>;
  /** Sets or clears "enrol a factor at the next sign-in"; false when the user does not exist. */
  setMfaEnrolRequired(id: string, required: boolean, at: number): Promise<boolean>;
}

/**
 * What a person did to sign in, each with when it was done (ms): RFC 8176 method values —
 * `pwd` a password, `otp` a one-time code (TOTP or a recovery code), `hwk`/`swk` a device-bound
 * or a synced passkey — and `uv`, when a passkey verified the person (PIN, biometrics).
 */
export interface AuthMethods {
  pwd?: number;
  otp?: number;
  hwk?: number;
  swk?: number;
  uv?: number;
}

export interface Session {
  idHash: string;
  userId: string;
  authTime: number;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  endedAt: number | null;
  /** Absent for sessions made before strong sign-in: a password at authTime. */
  authMethods?: AuthMethods;
  /** The client IP the session was started from (absent: unknown, or older than migration 0016). */
  ip?: string;
  /** The User-Agent header it was started with, at most 256 characters (absent: none, or older). */
  userAgent?: string;
}

export interface SessionStore {
  create(session: Session): Promise<void>;
  /** Returns the session whatever its state; callers judge expiry with the clock. */
  get(idHash: string): Promise<Session | undefined>;
  /** The session and its user in one read (every /authorize with a session needs both). */
  getWithUser(idHash: string): Promise<{ session: Session; user: User } | undefined>;
  touch(idHash: string, at: number): Promise<void>;
  end(idHash: string, at: number): Promise<void>;
  endAllForUser(userId: string, at: number): Promise<number>;
  /** Records a further sign-in step (step-up): the methods and the new auth_time. */
  setAuthMethods(idHash: string, methods: AuthMethods, authTime: number): Promise<void>;
  /** The user's sessions still open (not ended, not past their absolute expiry), newest first. */
  listForUser(userId: string, now: number): Promise<Session[]>;
}

export interface Interaction {
  id: string;
  clientId: string;
  /** The validated authorization request, serialised. */
  request: string;
  csrf: string;
  userId: string | null;
  sessionHash: string | null;
  authTime: number | null;
  createdAt: number;
  expiresAt: number;
  completedAt: number | null;
  /** What the person did so far in this interaction, before the session exists. */
  authMethods?: AuthMethods;
}

export interface InteractionStore {
  create(interaction: Interaction): Promise<void>;
  get(id: string): Promise<Interaction | undefined>;
  /** Records who signed in for this interaction. */
  setUser(id: string, userId: string, sessionHash: string, authTime: number): Promise<void>;
  /**
   * Records a first step (a password) whose sign-in is not finished: who it is and what they did,
   * with no session yet (a second factor or an enrolment comes next).
   */
  setPartial(id: string, userId: string, methods: AuthMethods): Promise<void>;
  /** Atomically marks it completed; false when it already was (a replayed form post). */
  complete(id: string, at: number): Promise<boolean>;
}

export interface Grant {
  id: string;
  clientId: string;
  userId: string;
  sessionHash: string | null;
  scope: string;
  nonce: string | null;
  authTime: number;
  createdAt: number;
  revokedAt: number | null;
  /** RFC 8176 `amr` and the `acr` of the sign-in behind the grant (absent: older grants, a password). */
  amr?: string[];
  acr?: string;
  /**
   * RFC 8707: the APIs (resource identifiers) the grant covers, in the order they were asked
   * for. Absent: the default API only (grants from before migration 0018, or no `resource`).
   */
  resources?: string[];
}

export interface AuthorizationCode {
  hash: string;
  grantId: string;
  clientId: string;
  /** Null when the authorization request omitted redirect_uri (then /token may omit it too). */
  redirectUri: string | null;
  codeChallenge: string | null;
  expiresAt: number;
  consumedAt: number | null;
  /** RFC 9449 §10: the DPoP key thumbprint the code is bound to (`dpop_jkt`); absent: none. */
  dpopJkt?: string;
}

export type ConsumeCodeResult =
  | { status: 'consumed'; code: AuthorizationCode; grant: Grant }
  | { status: 'already-consumed'; code: AuthorizationCode }
  | { status: 'unknown' };

export interface GrantStore {
  /** Writes a grant and its authorization code together. */
  issueCode(grant: Grant, code: AuthorizationCode): Promise<void>;
  /**
   * One atomic statement marks the code consumed and returns it; a second caller
   * gets `already-consumed` (RFC 6749 §4.1.2: the caller must then revoke the grant).
   */
  consumeCode(hash: string, at: number): Promise<ConsumeCodeResult>;
  getGrant(id: string): Promise<Grant | undefined>;
  createGrant(grant: Grant): Promise<void>;
  /** Revokes the grant, and with it every access and refresh token issued under it. */
  revokeGrant(id: string, at: number): Promise<void>;
  revokeAllForUser(userId: string, at: number): Promise<number>;
  /**
   * Revokes every grant of the client (and so every token issued under one). Grant-less access
   * tokens (client credentials) die with the client: verification checks that it still exists.
   */
  revokeAllForClient(clientId: string, at: number): Promise<number>;
  /** Revokes the user's grants to one client (and their tokens): the person took its access away. */
  revokeAllForUserAndClient(userId: string, clientId: string, at: number): Promise<number>;
  /**
   * The clients the user has grants to that are not revoked, each with the time of its newest
   * such grant, newest first (grants are purged a while after their tokens end: storage/retention.ts).
   */
  activeClientsOfUser(userId: string): Promise<{ clientId: string; lastGrantAt: number }[]>;
}

export interface AccessTokenRecord {
  jti: string;
  grantId: string | null;
  clientId: string;
  sub: string;
  scope: string;
  expiresAt: number;
  revokedAt: number | null;
}

/**
 * Access tokens are self-contained JWTs and are not written when issued (one write less per
 * token); a row exists only for a revoked token (RFC 7009), kept until the token expires.
 * The grant a token belongs to is named by its jti (see tokens/jti.ts).
 */
export interface AccessTokenStore {
  /**
   * True when the token was revoked, or its grant was revoked or no longer exists. `grantId`
   * is the one named by the jti; rows written before migration 0005 supply their own.
   */
  isRevoked(jti: string, grantId: string | null): Promise<boolean>;
  /** Writes the token down as revoked (idempotent). */
  revoke(token: Omit<AccessTokenRecord, 'revokedAt'>, at: number): Promise<void>;
}

export interface RefreshTokenRecord {
  hash: string;
  /** The family: the grant the token descends from. */
  grantId: string;
  clientId: string;
  userId: string;
  scope: string;
  createdAt: number;
  /** Absolute end of the family. */
  expiresAt: number;
  /** Idle end: unused this long, the token dies. */
  idleExpiresAt: number;
  consumedAt: number | null;
  /** Encrypted response given at rotation (kept for the grace window only). */
  successor: string | null;
  graceUntil: number | null;
  /**
   * RFC 9449 §5: the JWK SHA-256 thumbprint of the DPoP key a public client's refresh token is
   * bound to (absent: not bound); its successors carry it on.
   */
  dpopJkt?: string;
}

export type RotateResult =
  | { status: 'rotated'; token: RefreshTokenRecord }
  | { status: 'already-rotated'; token: RefreshTokenRecord }
  | { status: 'unknown' };

export interface RefreshTokenStore {
  insert(token: RefreshTokenRecord): Promise<void>;
  get(hash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * One atomic statement marks the token consumed; exactly one concurrent caller gets
   * `rotated`, the others `already-rotated` (reuse, or a retry inside the grace window).
   */
  consume(hash: string, at: number): Promise<RotateResult>;
  /** Keeps the encrypted successor response for replays until `graceUntil`. */
  saveSuccessor(hash: string, successor: string, graceUntil: number): Promise<void>;
  /** Slides the idle expiry of a token that is not rotated (confidential clients without rotation). */
  touch(hash: string, idleExpiresAt: number): Promise<void>;
}

export interface Consent {
  userId: string;
  clientId: string;
  scope: string;
  createdAt: number;
}

export interface ConsentStore {
  get(userId: string, clientId: string): Promise<Consent | undefined>;
  /** Remembers the union of what was granted before and now. */
  save(consent: Consent): Promise<void>;
  /** The user's consents, newest first. */
  listForUser(userId: string): Promise<Consent[]>;
  /** Forgets the consent; true when there was one. */
  delete(userId: string, clientId: string): Promise<boolean>;
}

export interface SigningKey {
  kid: string;
  generation: number;
  alg: string;
  /** PKCS#8 PEM, or sealed (`enc:v1:…`, tokens/key-encryption.ts) when the secret is set. */
  privatePem: string;
  publicJwk: Record<string, unknown>;
  /** The generation's ES256 key (P-256), when it has one (access tokens only). */
  ec: { kid: string; privatePem: string; publicJwk: Record<string, unknown> } | null;
  createdAt: number;
  activeAt: number;
  retiredAt: number | null;
  expiresAt: number | null;
}

export interface KeyStore {
  /** Every key still published (expires_at null or in the future). */
  listPublished(at: number): Promise<SigningKey[]>;
  listAll(): Promise<SigningKey[]>;
  /**
   * Inserts the key unless its generation already exists (another node won the race);
   * returns true when this call inserted it.
   */
  insertIfGenerationFree(key: SigningKey): Promise<boolean>;
  /** Marks keys older than `generation` retired from `at` and unpublished from `expiresAt`. */
  retireBefore(generation: number, at: number, expiresAt: number): Promise<void>;
  /** Rewrites a generation's private keys (its ES256 one only if it has one) as given: sealing. */
  replacePrivateParts(key: SigningKey): Promise<void>;
}

export interface AuditEvent {
  id: string;
  at: number;
  type: string;
  clientId: string | null;
  userId: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditStore {
  record(event: AuditEvent): Promise<void>;
  /** Newest first; `since` (ms epoch): only events at or after it. */
  list(opts?: {
    limit?: number;
    type?: string;
    userId?: string;
    clientId?: string;
    since?: number;
  }): Promise<AuditEvent[]>;
  /**
   * Oldest first, for exports: events with `from` ≤ at < `to` (either optional), after the
   * cursor `after` (the last event of the previous page), at most `limit`.
   */
  page(opts: {
    from?: number;
    to?: number;
    after?: { at: number; id: string };
    limit: number;
  }): Promise<AuditEvent[]>;
}

/** What stands in the way of a sign-in attempt under one throttle key. */
export interface ThrottleCounts {
  /** Counted failures after `since`, at most the key's `limit`. */
  failures: number;
  /** The time of the latest of them (null: none). */
  latestFailureAt: number | null;
  /** Reservations of attempts in progress, still inside their lease at `now`. */
  pending: number;
}

export interface ThrottleStore {
  /** Records one failure under each key; returns the new rows' ids, in the order of `keys`. */
  recordFailure(keys: readonly string[], at: number): Promise<string[]>;
  /** Failures under `key` after `since`, newest first, at most `limit` (reservations are none). */
  recentFailures(key: string, since: number, limit: number): Promise<{ id: string; at: number }[]>;
  /**
   * Reserves a place for a sign-in attempt: one row under each key, counting until `leaseUntil`,
   * taken only if `admit` allows it given each key's counts at `now` (in the order of `keys`).
   * Atomic across every node on the database: the rows are written only while the counts are
   * still those `admit` saw. Returns the rows' ids (undefined when refused; nothing is written
   * then) and the counts.
   */
  reserve(
    keys: readonly { key: string; limit: number }[],
    opts: { now: number; since: number; leaseUntil: number },
    admit: (counts: ThrottleCounts[]) => boolean,
  ): Promise<{ ids: string[] | undefined; counts: ThrottleCounts[] }>;
  /** Turns the given reservations into failures at `at` (the password was wrong). */
  fail(ids: readonly string[], at: number): Promise<void>;
  /** Deletes the given rows (an attempt that turned out not to be a failure). */
  forget(ids: readonly string[]): Promise<void>;
  /** Deletes the failures under `key` (not the reservations of attempts in progress). */
  clear(key: string): Promise<void>;
}

/**
 * A pushed authorization request (RFC 9126): the parameters a client sent to /par, kept under the
 * hash of its request_uri until its first use or its expiry.
 */
export interface PushedRequest {
  uriHash: string;
  clientId: string;
  /** The request's parameters, name → value (each once: /par refuses repeats). */
  /** Name → value; a list for a repeatable parameter given more than once (RFC 8707 `resource`). */
  params: Record<string, string | string[]>;
  createdAt: number;
  expiresAt: number;
}

export interface PushedRequestStore {
  save(r: PushedRequest): Promise<void>;
  /**
   * Takes the request out, once: one atomic statement that deletes the row and returns it, only
   * for `clientId` and only before `expiresAt` (RFC 9126 §4: one use, by the client that pushed
   * it). Undefined when it is unknown, used, expired or another client's (that one stays).
   */
  consume(
    uriHash: string,
    clientId: string,
    now: number,
  ): Promise<Record<string, string | string[]> | undefined>;
}

/**
 * Identifiers that may be used once (a DPoP proof's or a client assertion's `jti`), across every
 * node: the first `use` of a key before its expiry wins, any later one loses.
 */
export interface ReplayStore {
  /** True the first time `key` is used; false when it was used before and has not expired. */
  use(key: string, expiresAt: number, now: number): Promise<boolean>;
}

/** A WebAuthn credential (passkey) a person registered. */
export interface Passkey {
  id: string;
  userId: string;
  /** base64url credential id (unique). */
  credentialId: string;
  /** base64url COSE public key. */
  publicKey: string;
  counter: number;
  transports: string[];
  /** BE flag: the credential may be synced (a `swk` then, else `hwk`). */
  backupEligible: boolean;
  /** BS flag, as last seen. */
  backedUp: boolean;
  aaguid: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** A TOTP factor (RFC 6238); `confirmedAt` null while enrolment waits for a first code. */
export interface TotpFactor {
  id: string;
  userId: string;
  secretSealed: string;
  name: string;
  createdAt: number;
  confirmedAt: number | null;
  lastUsedAt: number | null;
  lastStep: number;
}

/** A person's recovery codes as a factor (the codes themselves are only hashes). */
export interface RecoveryCodeSet {
  id: string;
  userId: string;
  total: number;
  left: number;
  createdAt: number;
  lastUsedAt: number | null;
}

/** What a person has enrolled, counted in one read (every sign-in decision needs it). */
export interface FactorSummary {
  passkeys: number;
  /** A confirmed TOTP factor. */
  totp: boolean;
  recoveryCodesLeft: number;
}

export interface FactorStore {
  summary(userId: string): Promise<FactorSummary>;
  /** Throws DuplicateError when the credential id is registered already. */
  addPasskey(p: Passkey): Promise<void>;
  passkeysOf(userId: string): Promise<Passkey[]>;
  passkeyByCredentialId(credentialId: string): Promise<Passkey | undefined>;
  /**
   * Records a use, atomically: only when `counter` moves past the stored one, or both are 0 (an
   * authenticator without a counter). False otherwise: a regression (WebAuthn §6.1.1, a clone).
   */
  usePasskey(id: string, use: { counter: number; backedUp: boolean; at: number }): Promise<boolean>;
  renamePasskey(userId: string, id: string, name: string): Promise<boolean>;
  removePasskey(userId: string, id: string): Promise<boolean>;
  /** Saves a new (unconfirmed) TOTP factor, dropping the user's unconfirmed ones. */
  addTotp(t: TotpFactor): Promise<void>;
  /** The user's TOTP factors, confirmed and pending. */
  totpOf(userId: string): Promise<TotpFactor[]>;
  /**
   * Accepts time step `step` for the factor, atomically: only when it is later than the last one
   * accepted (RFC 6238 §5.2), and confirms a pending factor. False when the step was used.
   */
  useTotpStep(id: string, step: number, at: number): Promise<boolean>;
  removeTotp(userId: string, id: string): Promise<boolean>;
  /** Replaces the user's recovery codes with a new set (hashes), in one transaction. */
  replaceRecoveryCodes(userId: string, setId: string, hashes: string[], at: number): Promise<void>;
  /** Uses one code, atomically; false when unknown or used. */
  useRecoveryCode(userId: string, hash: string, at: number): Promise<boolean>;
  recoveryCodesOf(userId: string): Promise<RecoveryCodeSet | undefined>;
  removeRecoveryCodes(userId: string, setId: string): Promise<boolean>;
}

/** A WebAuthn challenge, used once, bound to the interaction or session it was made for. */
export interface WebauthnChallenge {
  challenge: string;
  purpose: 'sign-in' | 'register';
  binding: string;
  userId: string | null;
  expiresAt: number;
}

export interface WebauthnChallengeStore {
  save(c: WebauthnChallenge): Promise<void>;
  /** Takes it out once: one atomic delete that returns it, only for its purpose and binding, before expiry. */
  consume(
    challenge: string,
    purpose: WebauthnChallenge['purpose'],
    binding: string,
    now: number,
  ): Promise<WebauthnChallenge | undefined>;
}

/** Where a device authorization request stands (RFC 8628 §3.3: the person approves or denies it). */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied';

/**
 * A device authorization request (RFC 8628 §3.1, §3.2), under the hash of its device_code and
 * the hash of its normalised user code (storage never sees either code).
 */
export interface DeviceCode {
  /** sha256 of the device_code. */
  hash: string;
  /** sha256 of the user code normalised (upper case, no dash): unique among stored codes. */
  userCodeHash: string;
  clientId: string;
  /** The scopes asked for and allowed, space-separated. */
  scope: string;
  /** Seconds a client must wait between polls (RFC 8628 §3.5: raised by 5 at each slow_down). */
  interval: number;
  createdAt: number;
  expiresAt: number;
  /** The last poll the token endpoint counted (null: none yet). */
  lastPolledAt: number | null;
  status: DeviceCodeStatus;
  /** The grant the person's approval made (null until approved). */
  grantId: string | null;
  /** When a token request took the approved code (single use; null: not yet). */
  consumedAt: number | null;
  /**
   * RFC 8707: the APIs (resource identifiers) the device asked for, in order; the grant an
   * approval makes covers them. Absent: the default API only (no `resource`).
   */
  resources?: string[];
}

export interface DeviceCodeStore {
  /** Throws DuplicateError when the device code's hash or the user code's hash exists. */
  create(code: DeviceCode): Promise<void>;
  get(hash: string): Promise<DeviceCode | undefined>;
  getByUserCode(userCodeHash: string): Promise<DeviceCode | undefined>;
  /**
   * One atomic statement: the pending code, before `now` reaches its expiry, becomes approved
   * under `grantId`. False when it is not pending any more, expired or unknown.
   */
  approve(userCodeHash: string, grantId: string, now: number): Promise<boolean>;
  /** As approve, to denied. */
  deny(userCodeHash: string, now: number): Promise<boolean>;
  /**
   * Counts a poll, atomically: true (and `lastPolledAt` = now) only when none was counted yet or
   * the last was at least `interval` seconds ago; false when the client polls too soon.
   */
  poll(hash: string, now: number): Promise<boolean>;
  /** RFC 8628 §3.5 slow_down: the interval grows by `bySec` and the poll is counted at `now`. */
  slowDown(hash: string, bySec: number, now: number): Promise<void>;
  /**
   * One atomic statement takes the approved code for tokens: exactly one caller of concurrent
   * ones gets it; undefined when it is not approved, already taken or unknown.
   */
  consume(hash: string, at: number): Promise<DeviceCode | undefined>;
}

/**
 * A message of the mail outbox (ops/mail.ts enqueues it, ops/mail-sender.ts sends it). `to` is
 * one address and `toName` its display name (null: none), both checked before they are stored.
 */
export interface OutboxMessage {
  id: string;
  to: string;
  toName: string | null;
  subject: string;
  /** Empty once sent or given up. */
  text: string;
  html: string;
  createdAt: number;
  /** Sending attempts begun (a claim counts one). */
  attempts: number;
  nextAttemptAt: number;
  claimedBy: string | null;
  claimedUntil: number | null;
  sentAt: number | null;
  failedAt: number | null;
  lastError: string | null;
  purgeAfter: number | null;
}

export type NewOutboxMessage = Pick<
  OutboxMessage,
  'id' | 'to' | 'toName' | 'subject' | 'text' | 'html' | 'createdAt'
>;

/**
 * The mail outbox. Contract: `claim` takes a message for one sender with one conditional UPDATE
 * (due, not sent, not given up, no live lease): two senders never both hold it. It counts an
 * attempt. `sent`, `retry` and `failed` act only for the sender holding the claim (false
 * otherwise) and end the claim; `sent` and `failed` empty the bodies and set `purgeAfter`.
 */
export interface OutboxStore {
  add(m: NewOutboxMessage): Promise<void>;
  /** Ids of messages due at `now` (oldest due first), at most `limit`: candidates to claim. */
  due(now: number, limit: number): Promise<string[]>;
  claim(id: string, owner: string, now: number, leaseUntil: number): Promise<OutboxMessage | undefined>;
  sent(id: string, owner: string, at: number, purgeAfter: number): Promise<boolean>;
  retry(id: string, owner: string, error: string, nextAttemptAt: number): Promise<boolean>;
  failed(id: string, owner: string, error: string, at: number, purgeAfter: number): Promise<boolean>;
  get(id: string): Promise<OutboxMessage | undefined>;
}

export interface Stores {
  clients: ClientStore;
  apis: ApiStore;
  users: UserStore;
  sessions: SessionStore;
  interactions: InteractionStore;
  grants: GrantStore;
  accessTokens: AccessTokenStore;
  refreshTokens: RefreshTokenStore;
  consents: ConsentStore;
  keys: KeyStore;
  audit: AuditStore;
  throttle: ThrottleStore;
  pushedRequests: PushedRequestStore;
  replays: ReplayStore;
  factors: FactorStore;
  webauthnChallenges: WebauthnChallengeStore;
  deviceCodes: DeviceCodeStore;
  registrationTokens: InitialAccessTokenStore;
  outbox: OutboxStore;
}

export class DuplicateError extends Error {
  override name = 'DuplicateError';
}
