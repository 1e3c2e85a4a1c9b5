import type { Kysely, Selectable } from 'kysely';
import { REFRESH_RETENTION_MS } from '../retention.js';
import type { Database, RefreshTokensTable } from '../schema.js';
import type { RefreshTokenRecord, RefreshTokenStore, RotateResult } from '../types.js';

const toRecord = (r: Selectable<RefreshTokensTable>): RefreshTokenRecord => ({
  hash: r.hash,
  grantId: r.grant_id,
  clientId: r.client_id,
  userId: r.user_id,
  scope: r.scope,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  idleExpiresAt: r.idle_expires_at,
  consumedAt: r.consumed_at,
  successor: r.successor,
  graceUntil: r.grace_until,
  ...(r.dpop_jkt !== null ? { dpopJkt: r.dpop_jkt } : {}),
});

export class SqlRefreshTokenStore implements RefreshTokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(t: RefreshTokenRecord): Promise<void> {
    // The grant stays as long as its family's rows (a no-op, and no write, once it does: every
    // token of a family has the same absolute end). The purge also never deletes a grant that
    // still has refresh-token rows, so the order of the two statements does not matter.
    const keepUntil = t.expiresAt + REFRESH_RETENTION_MS;
    await this.db
      .updateTable('grants')
      .set({ purge_after: keepUntil })
      .where('id', '=', t.grantId)
      .where((eb) => eb.or([eb('purge_after', 'is', null), eb('purge_after', '<', keepUntil)]))
      .execute();
    await this.db
      .insertInto('refresh_tokens')
      .values({
        hash: t.hash,
        grant_id: t.grantId,
        client_id: t.clientId,
        user_id: t.userId,
        scope: t.scope,
        created_at: t.createdAt,
        expires_at: t.expiresAt,
        idle_expires_at: t.idleExpiresAt,
        consumed_at: t.consumedAt,
        successor: t.successor,
        grace_until: t.graceUntil,
        dpop_jkt: t.dpopJkt ?? null,
      })
      .execute();
  }

  async get(hash: string): Promise<RefreshTokenRecord | undefined> {
    const r = await this.db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst();
    return r && toRecord(r);
  }

  async consume(hash: string, at: number): Promise<RotateResult> {
    const won = await this.db
      .updateTable('refresh_tokens')
      .set({ consumed_at: at })
      .where('hash', '=', hash)
      .where('consumed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (won) return { status: 'rotated', token: toRecord(won) };
    const prior = await this.get(hash);
    return prior ? { status: 'already-rotated', token: prior } : { status: 'unknown' };
  }

  async saveSuccessor(hash: string, successor: string, graceUntil: number): Promise<void> {
    await this.db
      .updateTable('refresh_tokens')
      .set({ successor, grace_until: graceUntil })
      .where('hash', '=', hash)
      .execute();
  }

  async touch(hash: string, idleExpiresAt: number): Promise<void> {
    await this.db
      .updateTable('refresh_tokens')
      .set({ idle_expires_at: idleExpiresAt })
      .where('hash', '=', hash)
      .execute();
  }
}
