/** Everything a request handler may use, built once at start-up and passed explicitly. */
import type { FastifyBaseLogger } from 'fastify';
import { Audit } from './admin/audit.js';
import { ClientAdmin } from './admin/clients.js';
import { UserAdmin } from './admin/users.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { verifyPassword } from './auth/passwords.js';
import type { SignInDeps } from './auth/sign-in.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Storage } from './storage/index.js';
import { EncryptedKeyStore } from './tokens/key-encryption.js';
import { KeyManager } from './tokens/keys.js';
import { TokenMinter } from './tokens/mint.js';

export interface ServerContext {
  config: Config;
  clock: Clock;
  storage: Storage;
  keys: KeyManager;
  minter: TokenMinter;
  audit: Audit;
  clients: ClientAdmin;
  users: UserAdmin;
  throttle: LoginThrottle;
  /** What password sign-in uses (src/auth/sign-in.ts), for every form that takes a password. */
  signIn: SignInDeps;
  log?: FastifyBaseLogger;
}

/** Longest lifetime anything signed can have: old keys stay published this long. */
export const MAX_SIGNED_LIFETIME_SEC = 86400;

export function createContext(config: Config, clock: Clock, storage: Storage): ServerContext {
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
  );
  const audit = new Audit(storage.audit, clock);
  const throttle = new LoginThrottle(storage.throttle, clock, config.rateLimit);
  return {
    config,
    clock,
    storage,
    keys,
    minter: new TokenMinter(keys, clock, config.issuer, config.audience, config.accessTokenAlg),
    audit,
    clients: new ClientAdmin(storage.clients, clock),
    users: new UserAdmin(storage.users, clock, { sessions: storage.sessions, grants: storage.grants }),
    throttle,
    signIn: { users: storage.users, throttle, audit, verifyPassword },
  };
}
