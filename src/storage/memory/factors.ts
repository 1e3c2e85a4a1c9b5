import type {
  FactorStore,
  FactorSummary,
  Passkey,
  RecoveryCodeSet,
  TotpFactor,
  WebauthnChallenge,
  WebauthnChallengeStore,
} from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type MemoryDb } from './db.js';

const byCreation = <T extends { createdAt: number; id: string }>(a: T, b: T) =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class MemoryFactorStore implements FactorStore {
  constructor(private readonly db: MemoryDb) {}

  async summary(userId: string): Promise<FactorSummary> {
    return {
      passkeys: (await this.passkeysOf(userId)).length,
      totp: (await this.totpOf(userId)).some((t) => t.confirmedAt !== null),
      recoveryCodesLeft: (await this.recoveryCodesOf(userId))?.left ?? 0,
    };
  }

  async addPasskey(p: Passkey): Promise<void> {
    const rows = this.db.rows('passkeys');
    if (rows.has(p.id) || [...rows.values()].some((x) => x.credentialId === p.credentialId))
      throw new DuplicateError('the passkey is registered already');
    this.db.put('passkeys', p.id, copy(p));
  }

  async passkeysOf(userId: string): Promise<Passkey[]> {
    return [...this.db.rows('passkeys').values()]
      .filter((p) => p.userId === userId)
      .sort(byCreation)
      .map(copy);
  }

  async passkeyByCredentialId(credentialId: string): Promise<Passkey | undefined> {
    for (const p of this.db.rows('passkeys').values()) if (p.credentialId === credentialId) return copy(p);
    return undefined;
  }

  async usePasskey(id: string, use: { counter: number; backedUp: boolean; at: number }): Promise<boolean> {
    const p = this.db.rows('passkeys').get(id);
    if (!p) return false;
    const moves = use.counter === 0 ? p.counter === 0 : p.counter < use.counter;
    if (!moves) return false;
    this.db.put('passkeys', id, { ...p, counter: use.counter, backedUp: use.backedUp, lastUsedAt: use.at });
    return true;
  }

  async renamePasskey(userId: string, id: string, name: string): Promise<boolean> {
    const p = this.db.rows('passkeys').get(id);
    if (!p || p.userId !== userId) return false;
    this.db.put('passkeys', id, { ...p, name });
    return true;
  }

  async removePasskey(userId: string, id: string): Promise<boolean> {
    const p = this.db.rows('passkeys').get(id);
    if (!p || p.userId !== userId) return false;
    return this.db.delete('passkeys', id);
  }

  async addTotp(t: TotpFactor): Promise<void> {
    for (const x of [...this.db.rows('totpFactors').values()])
      if (x.userId === t.userId && x.confirmedAt === null) this.db.delete('totpFactors', x.id);
    if (this.db.rows('totpFactors').has(t.id)) throw new DuplicateError('the factor exists');
    this.db.put('totpFactors', t.id, copy(t));
  }

  async totpOf(userId: string): Promise<TotpFactor[]> {
    return [...this.db.rows('totpFactors').values()]
      .filter((t) => t.userId === userId)
      .sort(byCreation)
      .map(copy);
  }

  async useTotpStep(id: string, step: number, at: number): Promise<boolean> {
    const t = this.db.rows('totpFactors').get(id);
    if (!t || t.lastStep >= step) return false;
    this.db.put('totpFactors', id, {
      ...t,
      lastStep: step,
      lastUsedAt: at,
      confirmedAt: t.confirmedAt ?? at,
    });
    return true;
  }

  async removeTotp(userId: string, id: string): Promise<boolean> {
    const t = this.db.rows('totpFactors').get(id);
    if (!t || t.userId !== userId) return false;
    return this.db.delete('totpFactors', id);
  }

  async replaceRecoveryCodes(userId: string, setId: string, hashes: string[], at: number): Promise<void> {
    for (const r of [...this.db.rows('recoveryCodes').values()])
      if (r.userId === userId) this.db.delete('recoveryCodes', r.codeHash);
    for (const h of hashes)
      this.db.put('recoveryCodes', h, { codeHash: h, userId, setId, createdAt: at, usedAt: null });
  }

  async useRecoveryCode(userId: string, hash: string, at: number): Promise<boolean> {
    const r = this.db.rows('recoveryCodes').get(hash);
    if (!r || r.userId !== userId || r.usedAt !== null) return false;
    this.db.put('recoveryCodes', hash, { ...r, usedAt: at });
    return true;
  }

  async recoveryCodesOf(userId: string): Promise<RecoveryCodeSet | undefined> {
    const rows = [...this.db.rows('recoveryCodes').values()].filter((r) => r.userId === userId);
    const first = rows[0];
    if (!first) return undefined;
    const used = rows.map((r) => r.usedAt).filter((u): u is number => u !== null);
    return {
      id: first.setId,
      userId,
      total: rows.length,
      left: rows.length - used.length,
      createdAt: first.createdAt,
      lastUsedAt: used.length > 0 ? Math.max(...used) : null,
    };
  }

  async removeRecoveryCodes(userId: string, setId: string): Promise<boolean> {
    let n = 0;
    for (const r of [...this.db.rows('recoveryCodes').values()])
      if (r.userId === userId && r.setId === setId && this.db.delete('recoveryCodes', r.codeHash)) n++;
    return n > 0;
  }
}

export class MemoryWebauthnChallengeStore implements WebauthnChallengeStore {
  constructor(private readonly db: MemoryDb) {}

  async save(c: WebauthnChallenge): Promise<void> {
    if (this.db.rows('webauthnChallenges').has(c.challenge)) throw new DuplicateError('the challenge exists');
    this.db.put('webauthnChallenges', c.challenge, copy(c));
  }

  async consume(
    challenge: string,
    purpose: WebauthnChallenge['purpose'],
    binding: string,
    now: number,
  ): Promise<WebauthnChallenge | undefined> {
    const c = this.db.rows('webauthnChallenges').get(challenge);
    if (!c || c.purpose !== purpose || c.binding !== binding || c.expiresAt <= now) return undefined;
    this.db.delete('webauthnChallenges', challenge);
    return copy(c);
  }
}
