/**
 * Recovery codes: ten single-use codes for a person who cannot use their other factors (a lost
 * phone). Each is 50 random bits written as ten base32 letters in two groups (`k7m2p-q9xwd`),
 * shown once when made, stored only as a SHA-256 of its normalised form; using one is one atomic
 * update, so a code works once across nodes. Attempts share the one-time-code throttle.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { randomToken, sha256 } from '../crypto.js';
import type { FactorStore, RecoveryCodeSet } from '../storage/types.js';
import type { LoginThrottle } from './login-throttle.js';

export const RECOVERY_CODE_COUNT = 10;
/** RFC 4648 base32 alphabet, lower case (no 0/1/8/9 to mistake for letters). */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export interface RecoveryDeps {
  factors: FactorStore;
  clock: Clock;
  throttle: Pick<LoginThrottle, 'begin' | 'checking' | 'failed' | 'succeeded'>;
}

export type RecoveryCheck =
  | { outcome: 'ok'; left: number }
  | { outcome: 'wrong' }
  | { outcome: 'throttled'; retryAfterSec: number };

/** Lower case, letters and digits only: what a person typed with spaces or dashes still matches. */
export const normaliseRecoveryCode = (code: string): string => code.toLowerCase().replace(/[^a-z0-9]/g, '');

function newCode(): string {
  const bytes = randomBytes(10);
  let s = '';
  for (const b of bytes) s += ALPHABET[b & 31];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

export class RecoveryCodes {
  constructor(private readonly deps: RecoveryDeps) {}

  /** A new set replaces the old one; the codes are returned once, to be shown once. */
  async regenerate(userId: string): Promise<{ set: RecoveryCodeSet; codes: string[] }> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    const setId = randomToken(12);
    const now = this.deps.clock.now();
    await this.deps.factors.replaceRecoveryCodes(
      userId,
      setId,
      codes.map((c) => sha256(normaliseRecoveryCode(c))),
      now,
    );
    return {
      set: { id: setId, userId, total: codes.length, left: codes.length, createdAt: now, lastUsedAt: null },
      codes,
    };
  }

  /** A first set for a person who has none (or none left); undefined when they have codes. */
  async regenerateIfNone(userId: string): Promise<{ set: RecoveryCodeSet; codes: string[] } | undefined> {
    const current = await this.deps.factors.recoveryCodesOf(userId);
    return current && current.left > 0 ? undefined : this.regenerate(userId);
  }

  async use(userId: string, code: string, ip: string): Promise<RecoveryCheck> {
    const decision = await this.deps.throttle.begin(userId, ip);
    if (!decision.allowed) return { outcome: 'throttled', retryAfterSec: decision.retryAfterSec };
    const normal = normaliseRecoveryCode(code);
    const ok = await this.deps.throttle.checking(decision.attempt, async () =>
      normal.length === 10
        ? this.deps.factors.useRecoveryCode(userId, sha256(normal), this.deps.clock.now())
        : false,
    );
    if (!ok) {
      await this.deps.throttle.failed(decision.attempt);
      return { outcome: 'wrong' };
    }
    await this.deps.throttle.succeeded(decision.attempt);
    return { outcome: 'ok', left: (await this.deps.factors.recoveryCodesOf(userId))?.left ?? 0 };
  }
}
