/**
 * What an application's settings require of its requests, in one place (the profile adds to
 * the application's own switches): PAR (RFC 9126 §5), DPoP-bound tokens (RFC 9449 §5.2
 * `dpop_bound_access_tokens`), and the algorithms of everything it signs (FAPI 2.0 Security
 * Profile, cryptography and secrets: PS256, ES256 or EdDSA; no RS256).
 */
import type { Client } from '../storage/types.js';
import { DPOP_ALGS } from './dpop.js';

/** FAPI 2.0 Security Profile, authorization server requirements: the longest a fapi2 application's authorization code may live. */
export const FAPI2_MAX_CODE_TTL_SEC = 60;

export const isFapi2 = (c: Pick<Client, 'profile'>): boolean => c.profile === 'fapi2';

/** Whether /authorize takes this application's requests only through /par. */
export const requiresPar = (c: Client): boolean =>
  c.requirePushedAuthorizationRequests === true || isFapi2(c);

/** Whether every token request of this application must carry a DPoP proof. */
export const requiresDpop = (c: Client): boolean => c.dpopBoundAccessTokens === true || isFapi2(c);

/** The DPoP proof algorithms this application may use. */
export const dpopAlgorithmsFor = (c: Client): readonly string[] =>
  isFapi2(c) ? DPOP_ALGS.filter((a) => a !== 'RS256') : DPOP_ALGS;
