/** RFC 7636 PKCE with S256, over WebCrypto (Node and browsers). */
import { base64url, randomString, sha256 } from './encoding.js';
import { invalidArgument } from './errors.js';

export interface PkcePair {
  verifier: string;
  challenge: string;
  method: 'S256';
}

/** RFC 7636 §4.1: 43–128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
export const VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;

/** BASE64URL(SHA-256(ASCII(verifier))). */
export async function computeChallenge(verifier: string): Promise<string> {
  if (typeof verifier !== 'string' || !VERIFIER_PATTERN.test(verifier)) {
    throw invalidArgument('the code verifier must be 43–128 characters from the RFC 7636 unreserved set');
  }
  return base64url(await sha256(verifier));
}

/** A fresh verifier (32 CSPRNG bytes → 43 base64url characters) and its S256 challenge. */
export async function createPkcePair(): Promise<PkcePair> {
  const verifier = randomString(32);
  return { verifier, challenge: await computeChallenge(verifier), method: 'S256' };
}
