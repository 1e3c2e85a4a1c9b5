import type { Kysely, Selectable } from 'kysely';
import { GRANT_RETENTION_MS } from '../retention.js';
import type { CodesTable, Database, GrantsTable } from '../schema.js';
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
  ...(r.amr ? { amr: JSON.parse(r.amr) as string[] } : {}),
  ...(r.acr ? { acr: r.acr } : {}),
  ...(r.resources ? { resources: JSON.parse(r.resources) as string[] } : {}),
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
  code_hash: null,
  code_redirect_uri: null,
  code_challenge: null,
  code_expires_at: null,
  code_consumed_at: null,
  code_dpop_jkt: null,
  amr: g.amr ? JSON.stringify(g.amr) : null,
  acr: g.acr ?? null,
  resources: g.resources && g.resources.length > 0 ? JSON.stringify(g.resources) : null,
  purge_after: g.createdAt + GRANT_RETENTION_MS,
});

/** The code written in a grant's row (migration 0005); undefined for grants without one. */
const codeOfGrant = (r: Selectable<GrantsTable>): AuthorizationCode | undefined =>
  r.code_hash === null || r.code_expires_at === null
    ? undefined
    : {
        hash: r.code_hash,
        grantId: r.id,
        clientId: r.client_id,
        redirectUri: r.code_redirect_uri,
        codeChallenge: r.code_challenge,
        expiresAt: r.code_expires_at,
        consumedAt: r.code_consumed_at,
        ...(r.code_dpop_jkt ? { dpopJkt: r.code_dpop_jkt } : {}),
      };

export class SqlGrantStore implements GrantStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** One row, one autocommit insert: the code lives in its grant's row. */
  async issueCode(grant: Grant, code: AuthorizationCode): Promise<void> {
    if (code.grantId !== grant.id || code.clientId !== grant.clientId)
      throw new Error('issueCode: the code must belong to the grant');
    await this.db
      .insertInto('grants')
      .values({
        ...grantRow(grant),
        code_hash: code.hash,
        code_redirect_uri: code.redirectUri,
        code_challenge: code.codeChallenge,
        code_expires_at: code.expiresAt,
        code_consumed_at: code.consumedAt,
        code_dpop_jkt: code.dpopJkt ?? null,
      })
      .execute();
  }

  async consumeCode(hash: string, at: number): Promise<ConsumeCodeResult> {
    // The single atomic step: only one caller can flip code_consumed_at from NULL, and the same
    // statement returns the grant, so a redemption costs one statement.
    const won = await this.db
      .updateTable('grants')
      .set({ code_consumed_at: at })
      .where('code_hash', '=', hash)
      .where('code_consumed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    const wonCode = won && codeOfGrant(won);
    if (won && wonCode) return { status: 'consumed', code: wonCode, grant: toGrant(won) };
    const prior = await this.db
      .selectFrom('grants')
      .selectAll()
      .where('code_hash', '=', hash)
      .executeTakeFirst();
    const priorCode = prior && codeOfGrant(prior);
    if (priorCode) return { status: 'already-consumed', code: priorCode };
    return this.#consumeLegacyCode(hash, at);
  }

  /** Codes in the table used before migration 0005 (written before the upgrade or by an older node). */
  async #consumeLegacyCode(hash: string, at: number): Promise<ConsumeCodeResult> {
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

  async revokeAllForUserAndClient(userId: string, clientId: string, at: number): Promise<number> {
    // Access tokens follow their grant (AccessTokenStore.isRevoked), refresh tokens too.
    const r = await this.db
      .updateTable('grants')
      .set({ revoked_at: at })
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async activeClientsOfUser(userId: string): Promise<{ clientId: string; lastGrantAt: number }[]> {
    const rows = await this.db
      .selectFrom('grants')
      .select(['client_id', (eb) => eb.fn.max('created_at').as('last_grant_at')])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .groupBy('client_id')
      .execute();
    return rows
      .map((r) => ({ clientId: r.client_id, lastGrantAt: Number(r.last_grant_at) }))
      .sort((a, b) => b.lastGrantAt - a.lastGrantAt || (a.clientId < b.clientId ? -1 : 1));
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

export class SqlAccessTokenStore implements AccessTokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async isRevoked(jti: string, grantId: string | null): Promise<boolean> {
    const row = await this.db
      .selectFrom('access_tokens')
      .select(['revoked_at', 'grant_id'])
      .where('jti', '=', jti)
      .executeTakeFirst();
    if (row && row.revoked_at !== null) return true;
    const family = grantId ?? row?.grant_id ?? null;
    if (family === null) return false;
    const grant = await this.db
      .selectFrom('grants')
      .select('revoked_at')
      .where('id', '=', family)
      .executeTakeFirst();
    return !grant || grant.revoked_at !== null;
  }

  async revoke(t: Omit<AccessTokenRecord, 'revokedAt'>, at: number): Promise<void> {
    await this.db
      .insertInto('access_tokens')
      .values({
        jti: t.jti,
        grant_id: t.grantId,
        client_id: t.clientId,
        sub: t.sub,
        scope: t.scope,
        expires_at: t.expiresAt,
        revoked_at: at,
      })
      .onConflict((oc) =>
        oc.column('jti').doUpdateSet({ revoked_at: at }).where('access_tokens.revoked_at', 'is', null),
      )
      .execute();
  }
}
