import type { InitialAccessToken, InitialAccessTokenStore } from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type MemoryDb } from './db.js';

export class MemoryInitialAccessTokenStore implements InitialAccessTokenStore {
  constructor(private readonly db: MemoryDb) {}

  async create(t: InitialAccessToken): Promise<void> {
    const rows = this.db.rows('registrationTokens');
    if (rows.has(t.id) || [...rows.values()].some((r) => r.tokenHash === t.tokenHash))
      throw new DuplicateError(`registration token ${t.id} exists`);
    this.db.put('registrationTokens', t.id, { ...t });
  }

  async list(): Promise<InitialAccessToken[]> {
    return [...this.db.rows('registrationTokens').values()]
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .map(copy);
  }

  async use(tokenHash: string, now: number): Promise<InitialAccessToken | undefined> {
    // Nothing awaits between the check and the write: one winner, as the SQL UPDATE.
    const t = [...this.db.rows('registrationTokens').values()].find((r) => r.tokenHash === tokenHash);
    if (!t || t.revokedAt !== null || t.expiresAt <= now || t.uses >= t.maxUses) return undefined;
    const next = { ...t, uses: t.uses + 1 };
    this.db.put('registrationTokens', t.id, next);
    return copy(next);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    const t = this.db.rows('registrationTokens').get(id);
    if (!t || t.revokedAt !== null) return false;
    this.db.put('registrationTokens', id, { ...t, revokedAt: at });
    return true;
  }
}
