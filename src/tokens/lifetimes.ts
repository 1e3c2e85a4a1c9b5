/**
 * How long an application's tokens live: its own setting where it has one, else the server's
 * (LATCHKEY_ACCESS_TOKEN_TTL, LATCHKEY_REFRESH_TOKEN_TTL, LATCHKEY_REFRESH_IDLE_TTL,
 * LATCHKEY_REFRESH_GRACE, LATCHKEY_ID_TOKEN_TTL). The one place that decides it: issuing,
 * refreshing, the admin views and the CLI all ask here.
 */
import type { Client } from '../storage/types.js';

/** The server's settings (Config has these fields). */
export interface LifetimeDefaults {
  accessTokenTtlSec: number;
  idTokenTtlSec: number;
  refreshTokenTtlSec: number;
  refreshIdleTtlSec: number;
  refreshGraceSec: number;
}

export type LifetimeSource = 'application' | 'server';

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

export function lifetimesOf(client: ClientLifetimeSettings, defaults: LifetimeDefaults): Lifetimes {
  return {
    accessToken: pick(client.accessTokenTtl, defaults.accessTokenTtlSec),
    refreshToken: pick(client.refreshTokenTtl, defaults.refreshTokenTtlSec),
    refreshIdle: pick(client.refreshIdleTtl, defaults.refreshIdleTtlSec),
    refreshGrace: pick(client.refreshGrace, defaults.refreshGraceSec),
    idToken: { seconds: defaults.idTokenTtlSec, source: 'server' },
  };
}
