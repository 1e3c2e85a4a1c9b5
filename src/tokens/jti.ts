/**
 * Access-token identifiers. Access tokens are not stored when issued, so the jti (RFC 9068
 * §2.2, RFC 7519 §4.1.7) names the grant the token belongs to: `<grant id>.<128 random bits>`.
 * Introspection, userinfo and revocation read the grant from it to see whether the token's
 * family was revoked. Tokens without a grant (client credentials) have a plain random jti.
 * Resource servers treat the jti as opaque.
 */
import { randomToken } from '../crypto.js';

export const accessTokenJti = (grantId: string | null): string =>
  grantId === null ? randomToken(16) : `${grantId}.${randomToken(16)}`;

/** The grant named by a jti of ours; null for grant-less tokens and for anything else. */
export function grantIdOfJti(jti: string): string | null {
  const dot = jti.indexOf('.');
  return dot > 0 && dot === jti.lastIndexOf('.') ? jti.slice(0, dot) : null;
}
