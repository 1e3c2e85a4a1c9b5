/**
 * The time rules of a JWT, in one place for every verifier of the project: the server's own
 * (introspection, userinfo: tokens/verify.ts), the resource-server SDK (resource/verifier.ts)
 * and the client SDK's ID-token check (client/client.ts). One token, one verdict.
 *
 * - `exp` (RFC 7519 §4.1.4): required; refused from `exp + skew` on.
 * - `nbf` (RFC 7519 §4.1.5): optional; refused while now + skew is before it.
 * - `iat` (RFC 7519 §4.1.6; RFC 9068 §2.2 makes it required in access tokens): refused when it is
 *   more than the skew in the future — a token minted by a node whose clock runs fast.
 */

/** The allowed clock difference between the node that minted a token and the one checking it. */
export const CLOCK_SKEW_SEC = 5;

export type ClockViolationCode =
  | 'LATCHKEY_CLAIM_MISSING'
  | 'LATCHKEY_CLAIM_INVALID'
  | 'LATCHKEY_TOKEN_EXPIRED'
  | 'LATCHKEY_TOKEN_NOT_YET_VALID'
  | 'LATCHKEY_TOKEN_ISSUED_IN_FUTURE';

export interface ClockViolation {
  code: ClockViolationCode;
  message: string;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The first time rule `claims` break at `nowSec` (seconds since the epoch), or undefined when
 * they keep them all. `toleranceSec` defaults to CLOCK_SKEW_SEC.
 */
export function checkTimeClaims(
  claims: Record<string, unknown>,
  nowSec: number,
  toleranceSec: number = CLOCK_SKEW_SEC,
): ClockViolation | undefined {
  const exp = claims['exp'];
  if (exp === undefined) return { code: 'LATCHKEY_CLAIM_MISSING', message: 'the token has no exp claim' };
  if (!isNumber(exp)) return { code: 'LATCHKEY_CLAIM_INVALID', message: 'exp must be a number' };
  if (nowSec >= exp + toleranceSec)
    return { code: 'LATCHKEY_TOKEN_EXPIRED', message: 'the token has expired' };
  const nbf = claims['nbf'];
  if (nbf !== undefined) {
    if (!isNumber(nbf)) return { code: 'LATCHKEY_CLAIM_INVALID', message: 'nbf must be a number' };
    if (nowSec + toleranceSec < nbf)
      return { code: 'LATCHKEY_TOKEN_NOT_YET_VALID', message: 'the token is not valid yet' };
  }
  const iat = claims['iat'];
  if (iat === undefined) return { code: 'LATCHKEY_CLAIM_MISSING', message: 'the token has no iat claim' };
  if (!isNumber(iat)) return { code: 'LATCHKEY_CLAIM_INVALID', message: 'iat must be a number' };
  if (nowSec + toleranceSec < iat)
    return { code: 'LATCHKEY_TOKEN_ISSUED_IN_FUTURE', message: 'the token is issued in the future' };
  return undefined;
}
