import type {
  AccessTokenRecord,
  AccessTokenStore,
  AuthorizationCode,
  ConsumeCodeResult,
  Grant,
  GrantStore,
} from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type GrantRow, type MemoryDb } from './db.js';

const grantRow = (g: Grant): Grant => ({
  id: g.id,
  clientId: g.clientId,
  userId: g.userId,
  sessionHash: g.sessionHash,
  scope: g.scope,
  nonce: g.nonce,
  authTime: g.authTime,
  createdAt: g.createdAt,
  revokedAt: g.revokedAt,
  ...(g.amr ? { amr: [...g.amr] } : {}),
  ...(g.acr ? { acr: g.acr } : {}),
  ...(g.resources && g.resources.length > 0 ? { resources: [...g.resources] } : {}),
});

const codeOf = (r: GrantRow): AuthorizationCode | undefined =>
  r.code === null ? undefined : { ...r.code, grantId: r.grant.id, clientId: r.grant.clientId };

export class MemoryGrantStore implements GrantStore {
  constructor(private readonly db: MemoryDb) {}

  #byCode(hash: string): GrantRow | undefined {
    for (const r of this.db.rows('grants').values()) if (r.code?.hash === hash) return r;
    return undefined;
  }

  #insert(row: GrantRow): void {
    if (this.db.rows('grants').has(row.grant.id)) throw new DuplicateError(`grant ${row.grant.id} exists`);
    if (row.code && this.#byCode(row.code.hash)) throw new DuplicateError('the authorization code exists');
    this.db.put('grants', row.grant.id, row);
  }

  /** One row: both are written or neither (a duplicate code hash leaves no grant). */
  async issueCode(grant: Grant, code: AuthorizationCode): Promise<void> {
    if (code.grantId !== grant.id || code.clientId !== grant.clientId)
      throw new Error('issueCode: the code must belong to the grant');
    this.#insert({
      grant: grantRow(grant),
      code: {
        hash: code.hash,
        redirectUri: code.redirectUri,
        codeChallenge: code.codeChallenge,
        expiresAt: code.expiresAt,
        consumedAt: code.consumedAt,
        ...(code.dpopJkt ? { dpopJkt: code.dpopJkt } : {}),
      },
    });
  }

  async consumeCode(hash: string, at: number): Promise<ConsumeCodeResult> {
    // No await between the check and the write: exactly one caller flips consumedAt from null.
    const row = this.#byCode(hash);
    if (!row?.code) return { status: 'unknown' };
    if (row.code.consumedAt !== null) return { status: 'already-consumed', code: copy(codeOf(row)!) };
    const won: GrantRow = { ...row, code: { ...row.code, consumedAt: at } };
    this.db.put('grants', row.grant.id, won);
    return { status: 'consumed', code: copy(codeOf(won)!), grant: copy(won.grant) };
  }

  async getGrant(id: string): Promise<Grant | undefined> {
    const r = this.db.rows('grants').get(id);
    return r && copy(r.grant);
  }

  async createGrant(grant: Grant): Promise<void> {
    this.#insert({ grant: grantRow(grant), code: null });
  }

  #revokeWhere(match: (g: Grant) => boolean, at: number): number {
    let n = 0;
    for (const r of [...this.db.rows('grants').values()]) {
      if (r.grant.revokedAt !== null || !match(r.grant)) continue;
      this.db.put('grants', r.grant.id, { ...r, grant: { ...r.grant, revokedAt: at } });
      n++;
    }
    return n;
  }

  /** Its tokens follow: AccessTokenStore.isRevoked and the refresh grant read the grant. */
  async revokeGrant(id: string, at: number): Promise<void> {
    this.#revokeWhere((g) => g.id === id, at);
  }

  async revokeAllForClient(clientId: string, at: number): Promise<number> {
    const n = this.#revokeWhere((g) => g.clientId === clientId, at);
    for (const t of [...this.db.rows('accessTokens').values()]) {
      if (t.clientId === clientId && t.revokedAt === null)
        this.db.put('accessTokens', t.jti, { ...t, revokedAt: at });
    }
    return n;
  }

  async revokeAllForUserAndClient(userId: string, clientId: string, at: number): Promise<number> {
    return this.#revokeWhere((g) => g.userId === userId && g.clientId === clientId, at);
  }

  async activeClientsOfUser(userId: string): Promise<{ clientId: string; lastGrantAt: number }[]> {
    const latest = new Map<string, number>();
    for (const { grant: g } of this.db.rows('grants').values()) {
      if (g.userId !== userId || g.revokedAt !== null) continue;
      latest.set(g.clientId, Math.max(latest.get(g.clientId) ?? 0, g.createdAt));
    }
    return [...latest]
      .map(([clientId, lastGrantAt]) => ({ clientId, lastGrantAt }))
      .sort((a, b) => b.lastGrantAt - a.lastGrantAt || (a.clientId < b.clientId ? -1 : 1));
  }

  async revokeAllForUser(userId: string, at: number): Promise<number> {
    return this.#revokeWhere((g) => g.userId === userId, at);
  }
}

export class MemoryAccessTokenStore implements AccessTokenStore {
  constructor(private readonly db: MemoryDb) {}

  /** Revoked: its own row says so, or its grant (named by the jti, else by its row) is revoked or gone. */
  async isRevoked(jti: string, grantId: string | null): Promise<boolean> {
    const row = this.db.rows('accessTokens').get(jti);
    if (row && row.revokedAt !== null) return true;
    const family = grantId ?? row?.grantId ?? null;
    if (family === null) return false;
    const grant = this.db.rows('grants').get(family)?.grant;
    return !grant || grant.revokedAt !== null;
  }

  /** Idempotent: a token revoked before keeps its first time (and its row as first written). */
  async revoke(t: Omit<AccessTokenRecord, 'revokedAt'>, at: number): Promise<void> {
    const prior = this.db.rows('accessTokens').get(t.jti);
    if (prior) {
      if (prior.revokedAt === null) this.db.put('accessTokens', t.jti, { ...prior, revokedAt: at });
      return;
    }
    this.db.put('accessTokens', t.jti, {
      jti: t.jti,
      grantId: t.grantId,
      clientId: t.clientId,
      sub: t.sub,
      scope: t.scope,
      expiresAt: t.expiresAt,
      revokedAt: at,
    });
  }
}
