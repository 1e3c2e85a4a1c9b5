import type { Kysely, Selectable } from 'kysely';
import type { AccessTokensTable, CodesTable, Database, GrantsTable } from '../schema.js';
import type {
  AccessTokenRecord,
  AccessTokenStore,
  AuthorizationCode,
  ConsumeCodeResult,
  Grant,
  GrantStore,
} from '../types.js';

const toGrant = (r: Selectable<GrantsTable>): Grant => ({
  id: r.id,
  clientId: r.client_id,
  userId: r.user_id,
  sessionHash: r.session_hash,
  scope: r.scope,
  nonce: r.nonce,
  authTime: r.auth_time,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

const toCode = (r: Selectable<CodesTable>): AuthorizationCode => ({
  hash: r.hash,
  grantId: r.grant_id,
  clientId: r.client_id,
  redirectUri: r.redirect_uri,
  codeChallenge: r.code_challenge,
  expiresAt: r.expires_at,
  consumedAt: r.consumed_at,
});

const grantRow = (g: Grant): Selectable<GrantsTable> => ({
  id: g.id,
  client_id: g.clientId,
  user_id: g.userId,
  session_hash: g.sessionHash,
  scope: g.scope,
  nonce: g.nonce,
  auth_time: g.authTime,
  created_at: g.createdAt,
  revoked_at: g.revokedAt,
});

export class SqlGrantStore implements GrantStore {
  constructor(private readonly db: Kysely<Database>) {}

  async issueCode(grant: Grant, code: AuthorizationCode): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('grants').values(grantRow(grant)).execute();
      await tx
        .insertInto('codes')
        .values({
          hash: code.hash,
          grant_id: code.grantId,
          client_id: code.clientId,
          redirect_uri: code.redirectUri,
          code_challenge: code.codeChallenge,
          expires_at: code.expiresAt,
          consumed_at: code.consumedAt,
        })
        .execute();
    });
  }

  async consumeCode(hash: string, at: number): Promise<ConsumeCodeResult> {
    // The single atomic step: only one caller can flip consumed_at from NULL.
    const won = await this.db
      .updateTable('codes')
      .set({ consumed_at: at })
      .where('hash', '=', hash)
      .where('consumed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (won) {
      const grant = await this.getGrant(won.grant_id);
      if (!grant) return { status: 'unknown' };
      return { status: 'consumed', code: toCode(won), grant };
    }
    const prior = await this.db.selectFrom('codes').selectAll().where('hash', '=', hash).executeTakeFirst();
    return prior ? { status: 'already-consumed', code: toCode(prior) } : { status: 'unknown' };
  }

  async getGrant(id: string): Promise<Grant | undefined> {
    const r = await this.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toGrant(r);
  }

  async createGrant(grant: Grant): Promise<void> {
    await this.db.insertInto('grants').values(grantRow(grant)).execute();
  }

  async revokeGrant(id: string, at: number): Promise<void> {
    await this.db
      .updateTable('grants')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async revokeAllForClient(clientId: string, at: number): Promise<number> {
    const r = await this.db
      .updateTable('grants')
      .set({ revoked_at: at })
      .where('client_id', '=', clientId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    await this.db
      .updateTable('access_tokens')
      .set({ revoked_at: at })
      .where('client_id', '=', clientId)
      .where('revoked_at', 'is', null)
      .execute();
    return Number(r.numUpdatedRows);
  }

  async revokeAllForUser(userId: string, at: number): Promise<number> {
    const r = await this.db
      .updateTable('grants')
      .set({ revoked_at: at })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}

const toAccess = (r: Selectable<AccessTokensTable>): AccessTokenRecord => ({
  jti: r.jti,
  grantId: r.grant_id,
  clientId: r.client_id,
  sub: r.sub,
  scope: r.scope,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

export class SqlAccessTokenStore implements AccessTokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async record(t: AccessTokenRecord): Promise<void> {
    await this.db
      .insertInto('access_tokens')
      .values({
        jti: t.jti,
        grant_id: t.grantId,
        client_id: t.clientId,
        sub: t.sub,
        scope: t.scope,
        expires_at: t.expiresAt,
        revoked_at: t.revokedAt,
      })
      .execute();
  }

  async state(jti: string): Promise<{ token: AccessTokenRecord; revoked: boolean } | undefined> {
    const r = await this.db
      .selectFrom('access_tokens as a')
      .leftJoin('grants as g', 'g.id', 'a.grant_id')
      .selectAll('a')
      .select('g.revoked_at as grant_revoked_at')
      .where('a.jti', '=', jti)
      .executeTakeFirst();
    if (!r) return undefined;
    const { grant_revoked_at, ...row } = r;
    return { token: toAccess(row), revoked: row.revoked_at !== null || grant_revoked_at !== null };
  }

  async revoke(jti: string, at: number): Promise<void> {
    await this.db
      .updateTable('access_tokens')
      .set({ revoked_at: at })
      .where('jti', '=', jti)
      .where('revoked_at', 'is', null)
      .execute();
  }
}
