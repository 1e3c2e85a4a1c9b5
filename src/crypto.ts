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
 * A UUID whose order follows time (RFC 9562 §5.7, UUIDv7): the 48-bit Unix time in ms, the
 * version (7) and variant (0b10) bits, and 74 random bits. For rows inserted on every flow: each
 * new key lands at the end of its index instead of at a random page of a large table (issue of a
 * database that grows; bench/README.md says what it gained). It reveals its creation time, which
 * the tokens that carry it (`iat`) reveal anyway.
 */
export function timeOrderedId(nowMs: number): string {
  const b = randomBytes(16);
  b.writeUIntBE(Math.max(0, Math.min(Math.floor(nowMs), 2 ** 48 - 1)), 0, 6);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

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
