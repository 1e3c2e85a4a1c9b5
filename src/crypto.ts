/** Small primitives over node:crypto: random tokens, hashes, constant-time comparison. */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** base64url of `bytes` random bytes (default 32 = 256 bits), straight from the CSPRNG. */
export function randomToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 1)
    throw new RangeError('randomToken: bytes must be a positive integer');
  return randomBytes(bytes).toString('base64url');
}

export const newId = (): string => randomUUID();

/**
 * A random identifier people type into commands (client ids): base64url like randomToken, but
 * never starting with `-` or `_`, so no command line reads it as an option (1 in 32 random
 * base64url strings starts with `-`). Redrawn rather than patched, so every character stays uniform.
 */
export function randomIdentifier(bytes = 15): string {
  for (;;) {
    const id = randomToken(bytes);
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

/** SHA-256, base64url: how codes, sessions and refresh tokens are stored. */
export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

/** Constant-time comparison of two strings (unequal lengths return false without leaking content). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
