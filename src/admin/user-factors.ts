/**
 * A person's sign-in factors as administrators see them (CLI, admin API, console): their
 * passkeys, their confirmed TOTP factors, and their recovery codes as one entry. An administrator
 * can remove any of them by id (a lost phone, a lost security key); the audit event and the
 * lookups by user are in actions.ts. TOTP factors still waiting for their first code are not
 * listed: they sign no one in and the next enrolment replaces them.
 */
import type { FactorStore } from '../storage/types.js';

export type FactorType = 'passkey' | 'totp' | 'recovery_codes';

export const FACTOR_TYPES: readonly FactorType[] = ['passkey', 'totp', 'recovery_codes'];

/** One factor of a person (times in ms). */
export interface UserFactor {
  id: string;
  type: FactorType;
  /** The passkey's or the TOTP factor's name; for recovery codes, how many are left. */
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** The public view of a factor (what `--json` prints and the admin API returns). */
export function describeFactor(f: UserFactor): {
  id: string;
  type: FactorType;
  name: string;
  created_at: string;
  last_used_at: string | null;
} {
  return {
    id: f.id,
    type: f.type,
    name: f.name,
    created_at: new Date(f.createdAt).toISOString(),
    last_used_at: f.lastUsedAt === null ? null : new Date(f.lastUsedAt).toISOString(),
  };
}

/** `Recovery codes (7 of 10 left)`. */
export const recoveryCodesName = (left: number, total: number): string =>
  `Recovery codes (${left} of ${total} left)`;

export class UserFactorAdmin {
  constructor(private readonly factors: FactorStore) {}

  /** Passkeys (oldest first), then confirmed TOTP factors, then the recovery codes. */
  async list(userId: string): Promise<UserFactor[]> {
    const [passkeys, totp, codes] = await Promise.all([
      this.factors.passkeysOf(userId),
      this.factors.totpOf(userId),
      this.factors.recoveryCodesOf(userId),
    ]);
    const out: UserFactor[] = passkeys.map((p) => ({
      id: p.id,
      type: 'passkey',
      name: p.name,
      createdAt: p.createdAt,
      lastUsedAt: p.lastUsedAt,
    }));
    for (const t of totp) {
      if (t.confirmedAt === null) continue;
      out.push({ id: t.id, type: 'totp', name: t.name, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt });
    }
    if (codes) {
      out.push({
        id: codes.id,
        type: 'recovery_codes',
        name: recoveryCodesName(codes.left, codes.total),
        createdAt: codes.createdAt,
        lastUsedAt: codes.lastUsedAt,
      });
    }
    return out;
  }

  /**
   * Removes the listed factor with this id, whatever its type (the whole set for recovery codes);
   * returns it, or undefined when the person has no such factor.
   */
  async remove(userId: string, id: string): Promise<UserFactor | undefined> {
    const factor = (await this.list(userId)).find((f) => f.id === id);
    if (!factor) return undefined;
    const removed =
      factor.type === 'passkey'
        ? await this.factors.removePasskey(userId, id)
        : factor.type === 'totp'
          ? await this.factors.removeTotp(userId, id)
          : await this.factors.removeRecoveryCodes(userId, id);
    // Gone in between (the person removed it, or another administrator): nothing was removed here.
    return removed ? factor : undefined;
  }
}
