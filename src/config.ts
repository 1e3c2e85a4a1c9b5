/**
 * Configuration: flags > environment > defaults, validated once at start-up.
 * A bad setting fails with one line naming it (ConfigError).
 */
import { DURATION_HINT, formatDuration, parseDuration } from './duration.js';
import { parseMailFrom } from './ops/mail.js';
import { isLiteralPath } from './protocol/well-known.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface Config {
  port: number;
  host: string;
  issuer: string;
  database: string;
  demo: boolean;
  /** `aud` of every access token (never the client_id). */
  audience: string;
  codeTtlSec: number;
  accessTokenTtlSec: number;
  idTokenTtlSec: number;
  sessionIdleSec: number;
  sessionAbsoluteSec: number;
  /** How long a sign-in / consent page stays valid. */
  interactionTtlSec: number;
  refreshTokenTtlSec: number;
  refreshIdleTtlSec: number;
  /** Delay between publishing a new key and signing with it (key rotation). */
  keyPublicationDelaySec: number;
  /** How long a node trusts its cached view of the signing keys. */
  keyCacheSec: number;
  /** `Cache-Control: max-age` of /jwks (see minSafePublicationDelaySec). */
  jwksMaxAgeSec: number;
  /** Refresh-token reuse grace of applications that do not set their own (0 = off). */
  refreshGraceSec: number;
  trustProxy: boolean;
  logLevel: string;
  /** `auto`: short lines on a terminal for an http issuer, JSON lines otherwise (src/http/logging.ts). */
  logFormat: 'auto' | 'json' | 'short';
  /** Sign-in throttling; the benchmark switches it off. */
  rateLimit: boolean;
  clockOffsetSec: number;
  pgPoolSize: number;
  /** SQLite page cache per connection, MiB. */
  sqliteCacheMib: number;
  /** JWS algorithm of access tokens; ID tokens are always RS256. */
  accessTokenAlg: 'RS256' | 'ES256';
  /** Bearer token for /metrics; unset means /metrics answers 404. */
  metricsToken: string | undefined;
  /** Bearer token for /admin/api (scripts); unset means the token route is off. */
  adminToken: string | undefined;
  /** Secret that seals the signing keys in the database (tokens/key-encryption.ts); unset = clear. */
  keyEncryptionKey: string | undefined;
  /** On SIGTERM, how long in-flight requests may take before the process exits anyway (ops/shutdown.ts). */
  shutdownGraceSec: number;
  /** How long audit events are kept before the purge deletes them; 0 keeps them forever. */
  auditRetentionSec: number;
  /** Every application must use pushed authorization requests (RFC 9126 §5). */
  requirePar: boolean;
  /** Lifetime of a pushed request's request_uri (RFC 9126 §2.2 `expires_in`). */
  parTtlSec: number;
  /**
   * Development only: documents the server fetches for clients (jwks_uri) may be on loopback
   * (http allowed there). Off, only public https addresses are fetched (net/guarded-fetch.ts).
   */
  fetchAllowLoopback: boolean;
  /** RFC 9449 §8, §9: DPoP proofs at /token and /userinfo must carry a nonce the server gave. */
  dpopNonce: boolean;
  /** Multi-factor policy of applications that set none (auth/sign-in-policy.ts). */
  mfa: 'none' | 'optional' | 'required';
  /** After a password sign-in, offer a passkey to a person who has none (or require one). */
  passkeyEnrolment: 'off' | 'suggest' | 'require';
  /** RFC 8628 §3.2 `expires_in`: how long a device code and its user code stay valid. */
  deviceCodeTtlSec: number;
  /** RFC 8628 §3.2 `interval`: the seconds a device waits between polls of /token. */
  deviceIntervalSec: number;
  /**
   * RFC 8628 §5.1: wrong user codes at /device across the whole server (every IP together) in
   * the throttle's window before the form locks for everyone a while; 0 = no global limit.
   */
  deviceCodeGlobalFailures: number;
  /**
   * Dynamic Client Registration at /register (RFC 7591): `off` (no endpoint), `token` (an
   * initial access token from `latchkey registration-tokens create` is needed), `open`.
   */
  registration: 'off' | 'token' | 'open';
  /** An https client_id names a Client ID Metadata Document, fetched when the client is used. */
  clientMetadataDocuments: boolean;
  /**
   * Tests and development only: client metadata documents may be on loopback addresses, over
   * http there. Off, only public https addresses are fetched (net/guarded-fetch.ts).
   */
  devAllowLocalClientMetadata: boolean;
  /** smtp:// or smtps:// with credentials; unset: mail goes to the demo outbox (--demo) or is off. */
  smtpUrl: string | undefined;
  /** The From of every message, `address` or `Name <address>` (checked: ops/mail.ts parseMailFrom). */
  mailFrom: string;
}

/** The settings `latchkey serve` takes as flags (src/cli/serve.ts). */
const FLAGS: Partial<Record<keyof Config, string>> = {
  port: '--port',
  host: '--host',
  issuer: '--issuer',
  database: '--db',
  demo: '--demo',
};

export type ConfigInput = Partial<Record<keyof Config, string | number | boolean | undefined>>;

const ENV: Partial<Record<keyof Config, string>> = {
  port: 'PORT',
  host: 'LATCHKEY_HOST',
  issuer: 'LATCHKEY_ISSUER',
  database: 'LATCHKEY_DATABASE',
  audience: 'LATCHKEY_AUDIENCE',
  codeTtlSec: 'LATCHKEY_CODE_TTL',
  accessTokenTtlSec: 'LATCHKEY_ACCESS_TOKEN_TTL',
  idTokenTtlSec: 'LATCHKEY_ID_TOKEN_TTL',
  sessionIdleSec: 'LATCHKEY_SESSION_IDLE_TTL',
  sessionAbsoluteSec: 'LATCHKEY_SESSION_TTL',
  interactionTtlSec: 'LATCHKEY_INTERACTION_TTL',
  refreshTokenTtlSec: 'LATCHKEY_REFRESH_TOKEN_TTL',
  refreshIdleTtlSec: 'LATCHKEY_REFRESH_IDLE_TTL',
  keyPublicationDelaySec: 'LATCHKEY_KEY_PUBLICATION_DELAY',
  keyCacheSec: 'LATCHKEY_KEY_CACHE',
  jwksMaxAgeSec: 'LATCHKEY_JWKS_MAX_AGE',
  refreshGraceSec: 'LATCHKEY_REFRESH_GRACE',
  trustProxy: 'LATCHKEY_TRUST_PROXY',
  logLevel: 'LATCHKEY_LOG_LEVEL',
  logFormat: 'LATCHKEY_LOG_FORMAT',
  rateLimit: 'LATCHKEY_RATE_LIMIT',
  clockOffsetSec: 'LATCHKEY_CLOCK_OFFSET_SEC',
  pgPoolSize: 'LATCHKEY_PG_POOL_SIZE',
  sqliteCacheMib: 'LATCHKEY_SQLITE_CACHE_MIB',
  accessTokenAlg: 'LATCHKEY_ACCESS_TOKEN_ALG',
  adminToken: 'LATCHKEY_ADMIN_TOKEN',
  metricsToken: 'LATCHKEY_METRICS_TOKEN',
  keyEncryptionKey: 'LATCHKEY_KEY_ENCRYPTION_KEY',
  shutdownGraceSec: 'LATCHKEY_SHUTDOWN_GRACE',
  auditRetentionSec: 'LATCHKEY_AUDIT_RETENTION',
  requirePar: 'LATCHKEY_REQUIRE_PAR',
  parTtlSec: 'LATCHKEY_PAR_TTL',
  fetchAllowLoopback: 'LATCHKEY_FETCH_ALLOW_LOOPBACK',
  dpopNonce: 'LATCHKEY_DPOP_NONCE',
  mfa: 'LATCHKEY_MFA',
  passkeyEnrolment: 'LATCHKEY_PASSKEY_ENROLMENT',
  deviceCodeTtlSec: 'LATCHKEY_DEVICE_CODE_TTL',
  deviceIntervalSec: 'LATCHKEY_DEVICE_INTERVAL',
  deviceCodeGlobalFailures: 'LATCHKEY_DEVICE_CODE_GLOBAL_FAILURES',
  registration: 'LATCHKEY_REGISTRATION',
  clientMetadataDocuments: 'LATCHKEY_CLIENT_METADATA_DOCUMENTS',
  devAllowLocalClientMetadata: 'LATCHKEY_DEV_ALLOW_LOCAL_CLIENT_METADATA',
  smtpUrl: 'LATCHKEY_SMTP_URL',
  mailFrom: 'LATCHKEY_MAIL_FROM',
};

function int(name: string, raw: unknown, min: number, max: number): number {
  const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  }
  return n;
}

/** A time setting: seconds, or a duration (`90s`, `15m`, `1h`, `7d`); `-` before it for offsets. */
function seconds(name: string, raw: unknown, min: number, max: number): number {
  let value: number | undefined;
  if (typeof raw === 'number') value = raw;
  else {
    const text = String(raw).trim();
    const negative = min < 0 && text.startsWith('-');
    const n = parseDuration(negative ? text.slice(1) : text);
    value = n === undefined ? undefined : negative ? -n : n;
  }
  if (value === undefined || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `${name} must be a time from ${formatDuration(min)} to ${formatDuration(max)}: ${DURATION_HINT} (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

function bool(name: string, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const s = String(raw).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw new ConfigError(`${name} must be true or false (got ${JSON.stringify(raw)})`);
}

/**
 * How loadConfig reads one setting: `pick` its raw value (a flag, else its environment variable,
 * where empty means unset), `label` names it in errors, `num`, `time` and `flag` read and check a
 * number, a time and a boolean with their default.
 */
function settingReader(flags: ConfigInput, env: NodeJS.ProcessEnv) {
  const pick = (key: keyof Config): unknown => {
    if (flags[key] !== undefined) return flags[key];
    const envName = ENV[key];
    const v = envName ? env[envName] : undefined;
    return v === undefined || v === '' ? undefined : v;
  };
  // Names only flags that `latchkey serve` has (the rest are environment variables only).
  const label = (key: keyof Config) => {
    const flagName = Object.hasOwn(FLAGS, key) ? FLAGS[key] : undefined;
    if (!ENV[key]) return flagName ?? key;
    return flagName ? `${ENV[key]} (${flagName})` : ENV[key];
  };
  const num = (key: keyof Config, dflt: number, min: number, max: number) => {
    const raw = pick(key);
    return raw === undefined ? dflt : int(label(key), raw, min, max);
  };
  const time = (key: keyof Config, dflt: number, min: number, max: number) => {
    const raw = pick(key);
    return raw === undefined ? dflt : seconds(label(key), raw, min, max);
  };
  const flag = (key: keyof Config, dflt: boolean) => {
    const raw = pick(key);
    return raw === undefined ? dflt : bool(label(key), raw);
  };
  return { pick, label, num, time, flag };
}

export function loadConfig(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const { pick, label, num, time, flag } = settingReader(flags, env);
  const port = num('port', 3000, 0, 65535);
  const issuerRaw = String(pick('issuer') ?? `http://localhost:${port}`);
  const issuer = validateIssuer(issuerRaw, label('issuer'));

  const cfg: Config = {
    port,
    // Loopback unless told otherwise: a development server (and its demo password) is not
    // reachable from other hosts by accident. Set LATCHKEY_HOST=0.0.0.0 behind a load balancer.
    host: String(pick('host') ?? '127.0.0.1'),
    issuer,
    database: String(pick('database') ?? './data/latchkey.db'),
    demo: flag('demo', false),
    audience: String(pick('audience') ?? 'api://default'),
    codeTtlSec: time('codeTtlSec', 60, 1, 600),
    accessTokenTtlSec: time('accessTokenTtlSec', 3600, 60, 86400),
    idTokenTtlSec: time('idTokenTtlSec', 3600, 60, 86400),
    sessionIdleSec: time('sessionIdleSec', 2 * 3600, 60, 30 * 86400),
    sessionAbsoluteSec: time('sessionAbsoluteSec', 24 * 3600, 60, 365 * 86400),
    interactionTtlSec: time('interactionTtlSec', 15 * 60, 30, 86400),
    refreshTokenTtlSec: time('refreshTokenTtlSec', 90 * 86400, 60, 5 * 365 * 86400),
    refreshIdleTtlSec: time('refreshIdleTtlSec', 30 * 86400, 60, 5 * 365 * 86400),
    keyPublicationDelaySec: time('keyPublicationDelaySec', 120, 0, 86400),
    keyCacheSec: time('keyCacheSec', 5, 0, 3600),
    jwksMaxAgeSec: time('jwksMaxAgeSec', 60, 0, 86400),
    refreshGraceSec: time('refreshGraceSec', 30, 0, 60),
    trustProxy: flag('trustProxy', false),
    logLevel: String(pick('logLevel') ?? 'info'),
    logFormat: String(pick('logFormat') ?? 'auto') as Config['logFormat'],
    rateLimit: flag('rateLimit', true),
    clockOffsetSec: time('clockOffsetSec', 0, -10 * 365 * 86400, 10 * 365 * 86400),
    pgPoolSize: num('pgPoolSize', 10, 1, 500),
    sqliteCacheMib: num('sqliteCacheMib', 2, 1, 4096),
    accessTokenAlg: String(pick('accessTokenAlg') ?? 'RS256') as Config['accessTokenAlg'],
    adminToken: pick('adminToken') === undefined ? undefined : String(pick('adminToken')),
    metricsToken: pick('metricsToken') === undefined ? undefined : String(pick('metricsToken')),
    keyEncryptionKey: pick('keyEncryptionKey') === undefined ? undefined : String(pick('keyEncryptionKey')),
    shutdownGraceSec: time('shutdownGraceSec', 10, 0, 3600),
    // Okta keeps its System Log 90 days; 0 = forever (export first: latchkey audit export).
    auditRetentionSec: time('auditRetentionSec', 90 * 86400, 0, 100 * 365 * 86400),
    requirePar: flag('requirePar', false),
    // A request_uri is meant to be used at once (RFC 9126 §2.2 suggests 5–600 s; we keep it short).
    parTtlSec: time('parTtlSec', 60, 5, 60),
    fetchAllowLoopback: flag('fetchAllowLoopback', false),
    dpopNonce: flag('dpopNonce', false),
    mfa: String(pick('mfa') ?? 'optional') as Config['mfa'],
    passkeyEnrolment: String(pick('passkeyEnrolment') ?? 'off') as Config['passkeyEnrolment'],
    // RFC 8628 §3.2: 5 s is the default interval; ten minutes is time enough to type a code.
    deviceCodeTtlSec: time('deviceCodeTtlSec', 600, 60, 1800),
    deviceIntervalSec: time('deviceIntervalSec', 5, 1, 60),
    deviceCodeGlobalFailures: num('deviceCodeGlobalFailures', 100, 0, 1_000_000),
    registration: String(pick('registration') ?? 'off') as Config['registration'],
    clientMetadataDocuments: flag('clientMetadataDocuments', false),
    devAllowLocalClientMetadata: flag('devAllowLocalClientMetadata', false),
    smtpUrl: smtpUrl(pick('smtpUrl'), label('smtpUrl')),
    mailFrom: mailFrom(pick('mailFrom'), label('mailFrom'), issuer),
  };
  checkConfig(cfg, label);
  return cfg;
}

/** LATCHKEY_SMTP_URL: smtp:// or smtps:// with a host; the value is never echoed (it holds a password). */
function smtpUrl(raw: unknown, name: string): string | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(
      `${name} must be a URL: smtp://user:password@host:587 or smtps://user:password@host:465`,
    );
  }
  if ((url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '')
    throw new ConfigError(`${name} must be smtp://user:password@host:587 or smtps://user:password@host:465`);
  return text;
}

/** LATCHKEY_MAIL_FROM: `address` or `Name <address>`; default `no-reply@` the issuer's host. */
function mailFrom(raw: unknown, name: string, issuer: string): string {
  if (raw === undefined) {
    const host = new URL(issuer).hostname;
    return `Latchkey <no-reply@${host.includes('.') ? host : 'localhost'}>`;
  }
  const text = String(raw).trim();
  if (!parseMailFrom(text))
    throw new ConfigError(`${name} must be an address or "Name <address>" (got ${JSON.stringify(raw)})`);
  return text;
}

/** The checks a setting's type does not cover (names, token lengths) and those across settings. */
function checkConfig(cfg: Config, label: (key: keyof Config) => string): void {
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(cfg.logLevel)) {
    throw new ConfigError(
      `${label('logLevel')} must be one of fatal, error, warn, info, debug, trace, silent`,
    );
  }
  if (!['auto', 'json', 'short'].includes(cfg.logFormat)) {
    throw new ConfigError(`${label('logFormat')} must be auto, json or short`);
  }
  if (!['none', 'optional', 'required'].includes(cfg.mfa))
    throw new ConfigError(`${label('mfa')} must be none, optional or required`);
  if (!['off', 'suggest', 'require'].includes(cfg.passkeyEnrolment))
    throw new ConfigError(`${label('passkeyEnrolment')} must be off, suggest or require`);
  if (!['off', 'token', 'open'].includes(cfg.registration))
    throw new ConfigError(`${label('registration')} must be off, token or open`);
  if (cfg.accessTokenAlg !== 'RS256' && cfg.accessTokenAlg !== 'ES256') {
    throw new ConfigError(`${label('accessTokenAlg')} must be RS256 or ES256`);
  }
  if (cfg.adminToken !== undefined && (cfg.adminToken.length < 16 || /\s/.test(cfg.adminToken))) {
    throw new ConfigError(`${label('adminToken')} must be at least 16 characters without spaces`);
  }
  if (cfg.metricsToken !== undefined && (cfg.metricsToken.length < 16 || /\s/.test(cfg.metricsToken))) {
    throw new ConfigError(`${label('metricsToken')} must be at least 16 characters without spaces`);
  }
  if (
    cfg.keyEncryptionKey !== undefined &&
    (cfg.keyEncryptionKey.length < 32 || /\s/.test(cfg.keyEncryptionKey))
  ) {
    throw new ConfigError(
      'LATCHKEY_KEY_ENCRYPTION_KEY must be at least 32 characters without spaces: a random secret (openssl rand -base64 32)',
    );
  }
  if (cfg.audience.trim() === '') throw new ConfigError(`${label('audience')} must not be empty`);
  if (cfg.sessionIdleSec > cfg.sessionAbsoluteSec) {
    throw new ConfigError(`${label('sessionIdleSec')} must not exceed ${label('sessionAbsoluteSec')}`);
  }
  if (cfg.keyPublicationDelaySec < cfg.keyCacheSec) {
    throw new ConfigError(`${label('keyPublicationDelaySec')} must be at least ${label('keyCacheSec')}`);
  }
}

/**
 * The usual JWKS re-fetch cool-down of resource servers: jose's createRemoteJWKSet
 * (`cooldownDuration`, used by express-oauth2-jwt-bearer) and latchkey/resource both wait 30 s
 * after a fetch before fetching again for an unknown `kid`.
 */
export const JWKS_COOLDOWN_SEC = 30;

/**
 * Key rotation refuses no valid token only when a new key is published long enough before it
 * signs: a node may serve its cached key list (LATCHKEY_KEY_CACHE) without the new key, an HTTP
 * cache may then keep that JWKS for `max-age`, and a verifier that fetched it may not fetch again
 * for its cool-down. The smallest safe publication delay is the sum of the three.
 */
export const minSafePublicationDelaySec = (cfg: Pick<Config, 'keyCacheSec' | 'jwksMaxAgeSec'>): number =>
  cfg.keyCacheSec + cfg.jwksMaxAgeSec + JWKS_COOLDOWN_SEC;

/** Settings that are allowed but risky, as one line each (printed by `serve`). */
export function configWarnings(cfg: Config): string[] {
  const out: string[] = [];
  const min = minSafePublicationDelaySec(cfg);
  if (cfg.keyPublicationDelaySec < min) {
    out.push(
      `LATCHKEY_KEY_PUBLICATION_DELAY is ${cfg.keyPublicationDelaySec} s, below LATCHKEY_KEY_CACHE + LATCHKEY_JWKS_MAX_AGE + ${JWKS_COOLDOWN_SEC} s (the resource servers' JWKS cool-down) = ${min} s: after a key rotation, resource servers may refuse valid tokens.`,
    );
  }
  return out;
}

/** OIDC Discovery §3 / RFC 8414 §2: https, no query or fragment (http allowed, loudly, for development). */
function validateIssuer(raw: string, name: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute URL (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${name} must use https (or http for development)`);
  }
  if (url.search || url.hash || raw.includes('#') || raw.includes('?')) {
    throw new ConfigError(`${name} must not have a query or fragment`);
  }
  // Its path goes into the discovery routes (RFC 8414 §3.1), matched literally.
  if (!isLiteralPath(url.pathname)) {
    throw new ConfigError(
      `${name} must have a path of letters, digits, "/" and - . _ ~ ! $ & ' ( ) + , ; = : @ only (no percent-encoding)`,
    );
  }
  return raw.replace(/\/+$/, '');
}
