/**
 * Sign-in factors for the admin tests, written straight through the factor store: a passkey, a
 * confirmed TOTP factor (and a pending one, which admins never see), and a set of ten recovery
 * codes of which three were used.
 */
import { sha256 } from '../../src/crypto.js';
import type { FactorStore } from '../../src/storage/types.js';

export interface MadeFactors {
  passkeyId: string;
  totpId: string;
  pendingTotpId: string;
  recoveryId: string;
}

let seq = 0;

/** Adds the factors at times `at` (created) and `at + 60 s` (used); returns their ids. */
export async function addFactors(
  factors: Pick<
    FactorStore,
    'addPasskey' | 'addTotp' | 'useTotpStep' | 'replaceRecoveryCodes' | 'useRecoveryCode'
  >,
  userId: string,
  at: number,
): Promise<MadeFactors> {
  const n = ++seq;
  const ids: MadeFactors = {
    passkeyId: `pk-${n}-${userId.slice(0, 8)}`,
    totpId: `totp-${n}-${userId.slice(0, 8)}`,
    pendingTotpId: `totp-pending-${n}-${userId.slice(0, 8)}`,
    recoveryId: `rc-${n}-${userId.slice(0, 8)}`,
  };
  await factors.addPasskey({
    id: ids.passkeyId,
    userId,
    credentialId: `cred-${n}-${userId}`,
    publicKey: 'pQECAyYgASFYIA',
    counter: 0,
    transports: ['internal'],
    backupEligible: true,
    backedUp: true,
    aaguid: '00000000-0000-0000-0000-000000000000',
    name: 'MacBook Touch ID',
    createdAt: at,
    lastUsedAt: null,
  });
  await factors.addTotp({
    id: ids.totpId,
    userId,
    secretSealed: 'JBSWY3DPEHPK3PXP',
    name: 'Authenticator app',
    createdAt: at + 1000,
    confirmedAt: null,
    lastUsedAt: null,
    lastStep: 0,
  });
  // The first accepted code confirms the factor (and is its last use).
  await factors.useTotpStep(ids.totpId, Math.floor((at + 60_000) / 30_000), at + 60_000);
  // A second enrolment begun and never finished: pending, so not listed.
  await factors.addTotp({
    id: ids.pendingTotpId,
    userId,
    secretSealed: 'KRSXG5CTMVRXEZLU',
    name: 'Unfinished app',
    createdAt: at + 2000,
    confirmedAt: null,
    lastUsedAt: null,
    lastStep: 0,
  });
  const hashes = Array.from({ length: 10 }, (_, i) => sha256(`code-${n}-${userId}-${i}`));
  await factors.replaceRecoveryCodes(userId, ids.recoveryId, hashes, at + 3000);
  for (const h of hashes.slice(0, 3)) await factors.useRecoveryCode(userId, h, at + 60_000);
  return ids;
}
