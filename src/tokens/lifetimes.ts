/**
 * How long an application's tokens live, and how its access tokens are signed: the application's
 * own setting where it has one, else the API's (for access tokens: its lifetime and algorithm),
 * else the server's (LATCHKEY_ACCESS_TOKEN_TTL, LATCHKEY_ACCESS_TOKEN_ALG,
 * LATCHKEY_REFRESH_TOKEN_TTL, LATCHKEY_REFRESH_IDLE_TTL, LATCHKEY_REFRESH_GRACE,
 * LATCHKEY_ID_TOKEN_TTL). The one place that decides it: issuing, refreshing, the admin views
 * and the CLI all ask here.
 */
import type { Api, ApiTokenAlg, Client } from '../storage/types.js';

/** The server's settings (Config has these fields). */
export interface LifetimeDefaults {
  accessTokenTtlSec: number;
  idTokenTtlSec: number;
  refreshTokenTtlSec: number;
  refreshIdleTtlSec: number;
  refreshGraceSec: number;
  /** LATCHKEY_ACCESS_TOKEN_ALG (absent: RS256). */
  accessTokenAlg?: ApiTokenAlg;
}

export type LifetimeSource = 'application' | 'api' | 'server';

/** A lifetime in force, in seconds, and whose setting it is. */
export interface Resolved {
  seconds: number;
  source: LifetimeSource;
}

export interface Lifetimes {
  accessToken: Resolved;
  /** The refresh-token family's absolute lifetime, from the grant's creation. */
  refreshToken: Resolved;
  /** How long a refresh token lives unused. */
  refreshIdle: Resolved;
  /** How long a retry of a rotated refresh token gets the same answer (0 = off). */
  refreshGrace: Resolved;
  /** ID tokens have no per-application setting. */
  idToken: Resolved;
}

export type ClientLifetimeSettings = Pick<
  Client,
  'accessTokenTtl' | 'refreshTokenTtl' | 'refreshIdleTtl' | 'refreshGrace'
>;

const pick = (own: number | null | undefined, server: number): Resolved =>
  own === null || own === undefined
    ? { seconds: server, source: 'server' }
    : { seconds: own, source: 'application' };

/** The API's settings that bear on its access tokens. */
export type ApiTokenSettings = Pick<Api, 'accessTokenTtl' | 'tokenAlg'>;

/** Application > API > server: the first that has a setting decides. */
function pickOf(app: number | null | undefined, api: number | null | undefined, server: number): Resolved {
  if (app !== null && app !== undefined) return { seconds: app, source: 'application' };
  if (api !== null && api !== undefined) return { seconds: api, source: 'api' };
  return { seconds: server, source: 'server' };
}

/**
 * The lifetimes of an application's tokens; with `api`, its access tokens' lifetime for that API
 * (the application's own setting still wins).
 */
export function lifetimesOf(
  client: ClientLifetimeSettings,
  defaults: LifetimeDefaults,
  api?: ApiTokenSettings,
): Lifetimes {
  return {
    accessToken: pickOf(client.accessTokenTtl, api?.accessTokenTtl, defaults.accessTokenTtlSec),
    refreshToken: pick(client.refreshTokenTtl, defaults.refreshTokenTtlSec),
    refreshIdle: pick(client.refreshIdleTtl, defaults.refreshIdleTtlSec),
    refreshGrace: pick(client.refreshGrace, defaults.refreshGraceSec),
    idToken: { seconds: defaults.idTokenTtlSec, source: 'server' },
  };
}

/** An access token's signing algorithm in force, and whose setting it is. */
export interface ResolvedAlg {
  alg: ApiTokenAlg;
  source: LifetimeSource;
}

/**
 * How an application's access tokens for `api` are signed: ES256 for a fapi2 application (FAPI
 * 2.0 Security Profile, cryptography and secrets: no RS256), else the API's setting, else
 * LATCHKEY_ACCESS_TOKEN_ALG.
 */
export function accessTokenAlgOf(
  client: Pick<Client, 'profile'>,
  defaults: Pick<LifetimeDefaults, 'accessTokenAlg'>,
  api?: ApiTokenSettings,
): ResolvedAlg {
  if (client.profile === 'fapi2') return { alg: 'ES256', source: 'application' };
  if (api?.tokenAlg) return { alg: api.tokenAlg, source: 'api' };
  return { alg: defaults.accessTokenAlg ?? 'RS256', source: 'server' };
}
