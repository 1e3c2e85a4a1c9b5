/**
 * Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592), the policy in
 * one place: who may register (LATCHKEY_REGISTRATION: off, token, open), initial access tokens
 * (hashed, uses counted atomically), a per-IP limit, the metadata rules (protocol/client-metadata.ts
 * and ClientAdmin's), registration access tokens (hashed, rotated on every update), and an audit
 * event for every registration, refused or not. HTTP is in http/routes/register.ts.
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { newId, randomToken, safeEqual, sha256 } from '../crypto.js';
import type { AuditInput, AuditType } from '../ops/audit-log.js';
import {
  ClientMetadataError,
  type ReadClientMetadata,
  type RegistrationErrorCode,
  readClientMetadata,
} from '../protocol/client-metadata.js';
import type {
  Client,
  GrantStore,
  InitialAccessToken,
  InitialAccessTokenStore,
  ThrottleStore,
} from '../storage/types.js';
import { type ClientAdmin, ClientInputError } from './clients.js';

/** RFC 7591 §3.2.2 errors, and the refusals before the metadata is read. */
export class RegistrationError extends Error {
  override name = 'RegistrationError';
  constructor(
    readonly code: RegistrationErrorCode | 'invalid_token' | 'slow_down',
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Registrations one IP address may attempt per window (every POST /register counts). */
export const REGISTRATION_LIMIT = 10;
export const REGISTRATION_WINDOW_MS = 10 * 60_000;
/** Initial access tokens live at most this long, and serve at most this many registrations. */
export const INITIAL_TOKEN_MAX_SEC = 365 * 86400;
export const INITIAL_TOKEN_MAX_USES = 100_000;

const DEFAULT_NAME = 'Self-registered application';

export interface RegistrarDeps {
  config: Pick<Config, 'registration' | 'rateLimit'>;
  clock: Clock;
  clients: ClientAdmin;
  store: {
    clients: { get(id: string): Promise<Client | undefined>; delete(id: string): Promise<boolean> };
    grants: Pick<GrantStore, 'revokeAllForClient'>;
    throttle: Pick<ThrottleStore, 'recentFailures' | 'recordFailure'>;
    registrationTokens: InitialAccessTokenStore;
  };
  audit: { record(type: AuditType, input?: AuditInput): Promise<void> };
}

export interface Registered {
  client: Client;
  metadata: ReadClientMetadata;
  /** client_secret, when the method needs one (shown once). */
  secret?: string;
  /** RFC 7592 §3: the registration access token (shown once; stored hashed). */
  registrationAccessToken: string;
}

/** A made initial access token: the token itself is shown once. */
export interface MadeInitialToken {
  token: string;
  record: InitialAccessToken;
}

const bearerOf = (authorization: string | undefined): string | undefined => {
  const m = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(authorization ?? '');
  return m ? m[1] : undefined;
};

export class ClientRegistrar {
  constructor(private readonly deps: RegistrarDeps) {}

  get enabled(): boolean {
    return this.deps.config.registration !== 'off';
  }

  /** One attempt more for `ip`; refused past REGISTRATION_LIMIT per window (not counted then). */
  async throttle(ip: string): Promise<void> {
    if (!this.deps.config.rateLimit) return;
    const now = this.deps.clock.now();
    const key = `registration:ip:${ip}`;
    const recent = await this.deps.store.throttle.recentFailures(
      key,
      now - REGISTRATION_WINDOW_MS,
      REGISTRATION_LIMIT,
    );
    if (recent.length >= REGISTRATION_LIMIT) {
      await this.refused(ip, 'throttled');
      throw new RegistrationError(
        'slow_down',
        'Too many registrations from this address; try again later.',
        429,
      );
    }
    await this.deps.store.throttle.recordFailure([key], now);
  }

  /** RFC 7591 §3: with LATCHKEY_REGISTRATION=token, an initial access token, used once more. */
  async admit(authorization: string | undefined, ip: string): Promise<InitialAccessToken | undefined> {
    if (this.deps.config.registration === 'open') return undefined;
    const token = bearerOf(authorization);
    const used = token
      ? await this.deps.store.registrationTokens.use(sha256(token), this.deps.clock.now())
      : undefined;
    if (!used) {
      await this.refused(
        ip,
        token ? 'initial access token not valid, expired or used up' : 'no initial access token',
      );
      throw new RegistrationError(
        'invalid_token',
        token
          ? 'The initial access token is not valid, has expired or has been used up.'
          : 'Registration needs an initial access token (Authorization: Bearer).',
        401,
      );
    }
    return used;
  }

  /**
   * With LATCHKEY_REGISTRATION=token, a request without any Bearer token is refused at once
   * (before its metadata is read); admit() spends a use of a token later, once the metadata holds.
   */
  async requireToken(authorization: string | undefined, ip: string): Promise<void> {
    if (this.deps.config.registration === 'token' && !bearerOf(authorization))
      await this.admit(authorization, ip);
  }

  /** RFC 7591 §2, §3.2.2: the metadata `body` describes, checked (nothing stored or spent yet). */
  async check(body: unknown, ip: string): Promise<ReadClientMetadata> {
    const metadata = await this.read(body, ip);
    // Every rule of an application (name, keys, jwks_uri, profile) before a token use is spent:
    // build() checks them and stores nothing.
    try {
      this.deps.clients.build(metadata.input);
    } catch (err) {
      throw await this.metadataError(err, ip);
    }
    return metadata;
  }

  /** RFC 7591 §3.1, §3.2: registers the client of `metadata` (from check()). */
  async register(metadata: ReadClientMetadata, ip: string, via?: InitialAccessToken): Promise<Registered> {
    const registrationAccessToken = randomToken(32);
    let made: { client: Client; secret?: string };
    try {
      made = await this.deps.clients.create({
        ...metadata.input,
        registrationTokenHash: sha256(registrationAccessToken),
      });
    } catch (err) {
      throw await this.metadataError(err, ip);
    }
    await this.deps.audit.record('client_registered', {
      clientId: made.client.clientId,
      ip,
      detail: {
        name: made.client.name,
        type: made.client.type,
        token_endpoint_auth_method: made.client.tokenEndpointAuthMethod,
        redirect_uris: made.client.redirectUris,
        ...(via ? { initial_access_token: via.id } : {}),
      },
    });
    return { ...made, metadata, registrationAccessToken };
  }

  /**
   * RFC 7592 §2: the dynamic client `clientId` when `authorization` carries its registration
   * access token; one refusal for every failure (unknown client, not dynamic, wrong token).
   */
  async authenticate(clientId: string, authorization: string | undefined): Promise<Client> {
    const token = bearerOf(authorization);
    const client = token ? await this.deps.store.clients.get(clientId) : undefined;
    if (
      !token ||
      !client ||
      client.registration !== 'dynamic' ||
      !client.registrationTokenHash ||
      !safeEqual(sha256(token), client.registrationTokenHash)
    )
      throw new RegistrationError('invalid_token', 'The registration access token is not valid.', 401);
    return client;
  }

  /**
   * RFC 7592 §2.2: the metadata as sent replaces the client's (client_id must be the client's;
   * a client_secret, when sent, must be its own). The registration access token is rotated.
   */
  async update(client: Client, body: unknown, ip: string): Promise<Registered> {
    const m = body as Record<string, unknown> | null;
    if (typeof m !== 'object' || m === null || m['client_id'] !== client.clientId)
      throw new RegistrationError('invalid_client_metadata', 'client_id must be the client being updated.');
    const secret = m['client_secret'];
    if (
      secret !== undefined &&
      (typeof secret !== 'string' ||
        client.secretHash === null ||
        !safeEqual(sha256(secret), client.secretHash))
    )
      throw new RegistrationError('invalid_client_metadata', "client_secret is not this client's.");
    const metadata = await this.read(body, ip);
    const i = metadata.input;
    if (i.type !== client.type)
      throw new RegistrationError(
        'invalid_client_metadata',
        'application_type and token_endpoint_auth_method cannot change the kind of client (public or confidential); register a new one.',
      );
    const registrationAccessToken = randomToken(32);
    let updated: { client: Client; secret?: string } | undefined;
    try {
      updated = await this.deps.clients.update(client.clientId, {
        name: i.name,
        redirectUris: i.redirectUris!,
        postLogoutRedirectUris: i.postLogoutRedirectUris ?? [],
        refreshTokens: i.refreshTokens!,
        tokenEndpointAuthMethod: i.tokenEndpointAuthMethod!,
        jwks: i.jwks ?? null,
        jwksUri: i.jwksUri ?? null,
      });
    } catch (err) {
      throw await this.metadataError(err, ip);
    }
    if (!updated)
      throw new RegistrationError('invalid_token', 'The registration access token is not valid.', 401);
    // RFC 7592 §2.2: the token is rotated only while the one presented is still current: of two
    // racing updates one gets the new token, the other a 401 (its token is no longer valid).
    if (
      !(await this.deps.clients.replaceRegistrationTokenHash(
        client.clientId,
        client.registrationTokenHash!,
        sha256(registrationAccessToken),
      ))
    )
      throw new RegistrationError('invalid_token', 'The registration access token is not valid.', 401);
    const rotated = await this.deps.store.clients.get(client.clientId);
    await this.deps.audit.record('client_registration_updated', {
      clientId: client.clientId,
      ip,
      detail: {
        name: i.name,
        redirect_uris: i.redirectUris,
        ...(updated.secret ? { secret_issued: true } : {}),
      },
    });
    return { ...updated, client: rotated ?? updated.client, metadata, registrationAccessToken };
  }

  /** RFC 7592 §2.3: the client is gone, and every grant it had with it. */
  async delete(client: Client, ip: string): Promise<void> {
    if (!(await this.deps.store.clients.delete(client.clientId))) return;
    const revoked = await this.deps.store.grants.revokeAllForClient(client.clientId, this.deps.clock.now());
    await this.deps.audit.record('client_deleted', {
      clientId: client.clientId,
      ip,
      detail: { via: 'registration', grants_revoked: revoked },
    });
  }

  /** `latchkey registration-tokens create`: a token for `maxUses` registrations within `expiresInSec`. */
  async createInitialToken(expiresInSec: number, maxUses: number): Promise<MadeInitialToken> {
    if (!Number.isInteger(expiresInSec) || expiresInSec < 60 || expiresInSec > INITIAL_TOKEN_MAX_SEC)
      throw new ClientInputError('--expires-in must be from 1 minute to 365 days');
    if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > INITIAL_TOKEN_MAX_USES)
      throw new ClientInputError(`--max-uses must be a whole number from 1 to ${INITIAL_TOKEN_MAX_USES}`);
    const now = this.deps.clock.now();
    const token = randomToken(32);
    const record: InitialAccessToken = {
      id: newId(),
      tokenHash: sha256(token),
      createdAt: now,
      expiresAt: now + expiresInSec * 1000,
      maxUses,
      uses: 0,
      revokedAt: null,
    };
    await this.deps.store.registrationTokens.create(record);
    await this.deps.audit.record('registration_token_created', {
      detail: { id: record.id, expires_at: new Date(record.expiresAt).toISOString(), max_uses: maxUses },
    });
    return { token, record };
  }

  listInitialTokens(): Promise<InitialAccessToken[]> {
    return this.deps.store.registrationTokens.list();
  }

  async revokeInitialToken(id: string): Promise<boolean> {
    const revoked = await this.deps.store.registrationTokens.revoke(id, this.deps.clock.now());
    if (revoked) await this.deps.audit.record('registration_token_revoked', { detail: { id } });
    return revoked;
  }

  private async read(body: unknown, ip: string): Promise<ReadClientMetadata> {
    try {
      return readClientMetadata(body, 'dynamic', DEFAULT_NAME);
    } catch (err) {
      throw await this.metadataError(err, ip);
    }
  }

  /** RFC 7591 §3.2.2: what was wrong with the metadata, audited. */
  private async metadataError(err: unknown, ip: string): Promise<RegistrationError> {
    let out: RegistrationError;
    if (err instanceof ClientMetadataError) out = new RegistrationError(err.code, err.message);
    else if (err instanceof ClientInputError) {
      const code = /redirect URI/i.test(err.message) ? 'invalid_redirect_uri' : 'invalid_client_metadata';
      out = new RegistrationError(code, err.message);
    } else throw err;
    await this.refused(ip, out.message, out.code);
    return out;
  }

  private refused(ip: string, reason: string, error?: string): Promise<void> {
    return this.deps.audit.record('client_registration_refused', {
      ip,
      detail: { reason: reason.slice(0, 200), ...(error ? { error } : {}) },
    });
  }
}

export { DEFAULT_NAME as SELF_REGISTERED_DEFAULT_NAME };
