import type { RefreshTokenRecord, RefreshTokenStore, RotateResult } from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type MemoryDb } from './db.js';

const tokenRow = (t: RefreshTokenRecord): RefreshTokenRecord => ({
  hash: t.hash,
  grantId: t.grantId,
  clientId: t.clientId,
  userId: t.userId,
  scope: t.scope,
  createdAt: t.createdAt,
  expiresAt: t.expiresAt,
  idleExpiresAt: t.idleExpiresAt,
  consumedAt: t.consumedAt,
  successor: t.successor,
  graceUntil: t.graceUntil,
  ...(t.dpopJkt !== undefined ? { dpopJkt: t.dpopJkt } : {}),
});

export class MemoryRefreshTokenStore implements RefreshTokenStore {
  constructor(private readonly db: MemoryDb) {}

  // (The SQL store also moves its grant's purge_after here; nothing is purged in memory.)
  async insert(t: RefreshTokenRecord): Promise<void> {
    if (this.db.rows('refreshTokens').has(t.hash)) throw new DuplicateError('the refresh token exists');
    this.db.put('refreshTokens', t.hash, tokenRow(t));
  }

  async get(hash: string): Promise<RefreshTokenRecord | undefined> {
    const t = this.db.rows('refreshTokens').get(hash);
    return t && copy(t);
  }

  async consume(hash: string, at: number): Promise<RotateResult> {
    // No await between the check and the write: exactly one caller gets `rotated`.
    const t = this.db.rows('refreshTokens').get(hash);
    if (!t) return { status: 'unknown' };
    if (t.consumedAt !== null) return { status: 'already-rotated', token: copy(t) };
    const won = { ...t, consumedAt: at };
    this.db.put('refreshTokens', hash, won);
    return { status: 'rotated', token: copy(won) };
  }

  async saveSuccessor(hash: string, successor: string, graceUntil: number): Promise<void> {
    const t = this.db.rows('refreshTokens').get(hash);
    if (t) this.db.put('refreshTokens', hash, { ...t, successor, graceUntil });
  }

  async touch(hash: string, idleExpiresAt: number): Promise<void> {
    const t = this.db.rows('refreshTokens').get(hash);
    if (t) this.db.put('refreshTokens', hash, { ...t, idleExpiresAt });
  }
}
