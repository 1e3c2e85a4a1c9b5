/** PKCE, RFC 7636 — S256 only (OAuth 2.1 §4.1.1; RFC 9700 §2.1.1). */
import { createHash } from 'node:crypto';
import { safeEqual } from '../crypto.js';

/** RFC 7636 §4.1: 43–128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
export const VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;
/** BASE64URL(SHA-256(...)) is always 43 characters without padding. */
export const CHALLENGE_PATTERN = /^[A-Za-z0-9\-_]{43}$/;

export const s256 = (verifier: string): string =>
  createHash('sha256').update(verifier, 'ascii').digest('base64url');

/** RFC 7636 §4.6: compare BASE64URL(SHA256(ASCII(code_verifier))) with the stored challenge, in constant time. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  return VERIFIER_PATTERN.test(verifier) && safeEqual(s256(verifier), challenge);
}
