/** Small primitives over node:crypto: random tokens, hashes, constant-time comparison. */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** base64url of `bytes` random bytes (default 32 = 256 bits). */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

export const newId = (): string => randomUUID();

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
