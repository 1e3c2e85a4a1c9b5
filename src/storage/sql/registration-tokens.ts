import type { Kysely, Selectable } from 'kysely';
import type { Database, RegistrationTokensTable } from '../schema.js';
import type { InitialAccessToken, InitialAccessTokenStore } from '../types.js';
import { mapDuplicate } from './errors.js';

const toToken = (r: Selectable<RegistrationTokensTable>): InitialAccessToken => ({
  id: r.id,
  tokenHash: r.token_hash,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  maxUses: Number(r.max_uses),
  uses: Number(r.uses),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

export class SqlInitialAccessTokenStore implements InitialAccessTokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(t: InitialAccessToken): Promise<void> {
    await mapDuplicate(`registration token ${t.id} exists`, () =>
      this.db
        .insertInto('registration_tokens')
        .values({
          id: t.id,
          token_hash: t.tokenHash,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
          max_uses: t.maxUses,
          uses: t.uses,
          revoked_at: t.revokedAt,
        })
        .execute(),
    );
  }

  async list(): Promise<InitialAccessToken[]> {
    const rows = await this.db
      .selectFrom('registration_tokens')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toToken);
  }

  async use(tokenHash: string, now: number): Promise<InitialAccessToken | undefined> {
    // One UPDATE whose WHERE holds every condition: concurrent uses cannot both take the last one.
    const r = await this.db
      .updateTable('registration_tokens')
      .set((eb) => ({ uses: eb('uses', '+', 1) }))
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .where((eb) => eb('uses', '<', eb.ref('max_uses')))
      .returningAll()
      .executeTakeFirst();
    return r && toToken(r);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('registration_tokens')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
