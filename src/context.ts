/** Everything a request handler may use, built once at start-up and passed explicitly. */

import { ApiAdmin } from './admin/apis.js';
import { ClientAdmin } from './admin/clients.js';
import { ClientRegistrar } from './admin/registration.js';
import { UserAdmin } from './admin/users.js';
import { LoginThrottle, THROTTLE_DEFAULTS } from './auth/login-throttle.js';
import { PasskeyService } from './auth/passkeys.js';
import { type PasswordHasher, passwordHasher } from './auth/passwords.js';
import { RecoveryCodes } from './auth/recovery-codes.js';
import type { SignInDeps } from './auth/sign-in.js';
import { TotpService } from './auth/totp.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { ClientKeys } from './net/client-jwks.js';
import { ClientMetadataDocuments } from './net/client-metadata.js';
import { Audit } from './ops/audit-log.js';
import { DevMailbox, Mailer, type MailTransport } from './ops/mail.js';
import { smtpTransport } from './ops/mail-transport.js';
import { clientResolver, type ResolveClient } from './protocol/client-resolver.js';
import { DpopNonces } from './protocol/dpop-nonce.js';
import type { GrantDeps } from './protocol/grants/types.js';
import type { Storage } from './storage/index.js';
import { EncryptedKeyStore } from './tokens/key-encryption.js';
import { type KeyGenerator, KeyManager } from './tokens/keys.js';
import { TokenMinter } from './tokens/mint.js';

export interface ServerContext {
  config: Config;
  clock: Clock;
  storage: Storage;
  keys: KeyManager;
  minter: TokenMinter;
  audit: Audit;
  clients: ClientAdmin;
  /** APIs (resource servers) and the default one, LATCHKEY_AUDIENCE. */
  apis: ApiAdmin;
  users: UserAdmin;
  throttle: LoginThrottle;
  /** What password sign-in uses (src/auth/sign-in.ts), for every form that takes a password. */
  signIn: SignInDeps;
  /** The password hasher (the account page's password change hashes with it). */
  passwords: PasswordHasher;
  /** What the /token grants use (src/protocol/grants/types.ts): no more than that. */
  grants: GrantDeps;
  /** private_key_jwt applications' public keys (inline, or their jwks_uri fetched and cached). */
  clientKeys: ClientKeys;
  /** Client ID metadata documents, with LATCHKEY_CLIENT_METADATA_DOCUMENTS; undefined when off. */
  clientDocuments: ClientMetadataDocuments | undefined;
  /** The client a client_id names: stored, or its metadata document (protocol/client-resolver.ts). */
  resolveClient: ResolveClient;
  /** Dynamic Client Registration (RFC 7591, RFC 7592) and initial access tokens. */
  registrar: ClientRegistrar;
  /** DPoP server nonces (RFC 9449 §8), with LATCHKEY_DPOP_NONCE; undefined when off. */
  dpopNonces: DpopNonces | undefined;
  /** Passkeys, one-time codes and recovery codes: one service per method (src/auth/). */
  factors: { passkeys: PasskeyService; totp: TotpService; recovery: RecoveryCodes };
  /** Mail through the outbox (ops/mail.ts); `mailer.enabled` is false when mail is off. */
  mailer: Mailer;
}

/** Longest lifetime anything signed can have: old keys stay published this long. */
export const MAX_SIGNED_LIFETIME_SEC = 86400;

/** What a server may be given besides its settings (tests: cheaper hashing, keys made once). */
export interface ContextOptions {
  passwords?: PasswordHasher;
  generateKey?: KeyGenerator;
}

export function createContext(
  config: Config,
  clock: Clock,
  storage: Storage,
  opts: ContextOptions = {},
): ServerContext {
  const passwords = opts.passwords ?? passwordHasher;
  const keyStore = new EncryptedKeyStore(storage.keys, config.keyEncryptionKey);
  const keys = new KeyManager(
    keyStore,
    clock,
    {
      publicationDelaySec: config.keyPublicationDelaySec,
      cacheSec: config.keyCacheSec,
      maxTokenLifetimeSec: MAX_SIGNED_LIFETIME_SEC,
    },
    (kid, stored) => keyStore.open(kid, stored),
    opts.generateKey,
  );
  const audit = new Audit(storage.audit, clock);
  const throttle = new LoginThrottle(storage.throttle, clock, config.rateLimit);
  // One-time codes count their failures apart from passwords (per person), the IP with them.
  const factorThrottle = new LoginThrottle(
    storage.throttle,
    clock,
    config.rateLimit,
    THROTTLE_DEFAULTS,
    'factor',
  );
  const apis = new ApiAdmin(storage.apis, clock, config.audience);
  const clients = new ClientAdmin(storage.clients, clock, config.keyEncryptionKey, {
    fetchAllowLoopback: config.fetchAllowLoopback,
    apis,
  });
  const clientDocuments = config.clientMetadataDocuments
    ? new ClientMetadataDocuments(clock, (input) => clients.build(input), {
        allowLocal: config.devAllowLocalClientMetadata,
      })
    : undefined;
  const minter = new TokenMinter(keys, clock, config.issuer, config.audience, config.accessTokenAlg);
  return {
    config,
    clock,
    storage,
    keys,
    minter,
    audit,
    clients,
    apis,
    users: new UserAdmin(
      storage.users,
      clock,
      { sessions: storage.sessions, grants: storage.grants },
      passwords,
    ),
    throttle,
    passwords,
    signIn: {
      users: storage.users,
      throttle,
      audit,
      verifyPassword: (hash, password) => passwords.verify(hash, password),
    },
    dpopNonces: config.dpopNonce ? new DpopNonces(keys.nonceKeys(), clock) : undefined,
    grants: {
      clock,
      lifetimes: config,
      apis,
      minter,
      audit,
      stores: storage,
      transaction: (fn) => storage.transaction(fn),
    },
    clientKeys: new ClientKeys(clock, { allowLoopback: config.fetchAllowLoopback }),
    clientDocuments,
    resolveClient: clientResolver(storage.clients, clientDocuments),
    registrar: new ClientRegistrar({ config, clock, clients, store: storage, audit }),
    mailer: new Mailer(storage.outbox, clock, mailTransport(config, clock)),
    factors: {
      passkeys: new PasskeyService({
        factors: storage.factors,
        challenges: storage.webauthnChallenges,
        clock,
        audit,
        users: storage.users,
        issuer: config.issuer,
      }),
      totp: new TotpService({
        factors: storage.factors,
        clock,
        throttle: factorThrottle,
        kek: config.keyEncryptionKey,
        issuerName: new URL(config.issuer).host,
      }),
      recovery: new RecoveryCodes({ factors: storage.factors, clock, throttle: factorThrottle }),
    },
  };
}

/** SMTP with LATCHKEY_SMTP_URL; without it the demo outbox (--demo), else none: mail is off. */
function mailTransport(config: Config, clock: Clock): MailTransport | undefined {
  if (config.smtpUrl !== undefined) return smtpTransport(config.smtpUrl);
  return config.demo ? new DevMailbox(clock) : undefined;
}
