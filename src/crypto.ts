/** Small primitives over node:crypto: random tokens, hashes, constant-time comparison. */
import { createHash, randomBytes, randomFillSync, randomUUID, timingSafeEqual } from 'node:crypto';

/**
 * Random bytes are drawn from the CSPRNG in blocks of 4 KiB and handed out once each (as
 * crypto.randomUUID does): one call into OpenSSL per ~128 tokens instead of one per token,
 * which showed as ≈ 2 % of the server's time per sign-in flow (bench/README.md). The pool holds
 * up to 4 KiB of bytes not yet handed out: like every secret in memory, they are in a heap
 * snapshot or core dump of the process.
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** base64url of `bytes` random bytes (default 32 = 256 bits). */
export function randomToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 1)
    throw new RangeError('randomToken: bytes must be a positive integer');
  if (bytes > 256) return randomBytes(bytes).toString('base64url');
  if (poolOffset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const token = pool.toString('base64url', poolOffset, poolOffset + bytes);
  // Used bytes are overwritten at once: no token can be recovered from the pool afterwards.
  pool.fill(0, poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return token;
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
