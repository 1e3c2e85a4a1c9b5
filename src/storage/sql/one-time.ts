/** Things used once: pushed authorization requests (RFC 9126) and replayable `jti`s. */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { PushedRequest, PushedRequestStore, ReplayStore } from '../types.js';

export class SqlPushedRequestStore implements PushedRequestStore {
  constructor(private readonly db: Kysely<Database>) {}

  async save(r: PushedRequest): Promise<void> {
    await this.db
      .insertInto('pushed_requests')
      .values({
        uri_hash: r.uriHash,
        client_id: r.clientId,
        params: JSON.stringify(r.params),
        created_at: r.createdAt,
        expires_at: r.expiresAt,
      })
      .execute();
  }

  async consume(
    uriHash: string,
    clientId: string,
    now: number,
  ): Promise<Record<string, string | string[]> | undefined> {
    // One statement: of two concurrent uses (two nodes), exactly one deletes the row.
    const r = await this.db
      .deleteFrom('pushed_requests')
      .where('uri_hash', '=', uriHash)
      .where('client_id', '=', clientId)
      .where('expires_at', '>', now)
      .returning('params')
      .executeTakeFirst();
    return r ? (JSON.parse(r.params) as Record<string, string | string[]>) : undefined;
  }
}

export class SqlReplayStore implements ReplayStore {
  constructor(private readonly db: Kysely<Database>) {}

  async use(key: string, expiresAt: number, now: number): Promise<boolean> {
    // A row left from an expired use (the purge has not run yet) is taken over; a live one wins.
    const r = await this.db
      .insertInto('replays')
      .values({ key, expires_at: expiresAt })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({ expires_at: expiresAt }).where('replays.expires_at', '<=', now),
      )
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }
}
