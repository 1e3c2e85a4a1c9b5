import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';
import { randomToken } from '../../crypto.js';
import type { Database } from '../schema.js';
import type { ThrottleCounts, ThrottleStore } from '../types.js';

/**
 * First key of the transaction-level advisory locks that serialize reservations per throttle key
 * on PostgreSQL (the second is the key's hashtext); two-int locks never meet the start-up lock's
 * one-bigint key (pg-lock.ts). "LK".
 */
const PG_RESERVE_LOCK_CLASS = 0x4c4b;

/**
 * SQLite: how often a reservation is tried again when the counts changed between reading them
 * and writing the rows (another attempt under the same keys got in between); then it is refused,
 * and the caller asks again later.
 */
const SQLITE_RESERVE_TRIES = 5;

type Key = { key: string; limit: number };
type At = { now: number; since: number };

/** A key's counts as three SQL expressions (ThrottleCounts). */
function countsSql(
  k: Key,
  at: At,
): { failures: RawBuilder<unknown>; latest: RawBuilder<unknown>; pending: RawBuilder<unknown> } {
  const failed = sql`from login_failures where key = ${k.key} and at > ${at.since} and expires_at is null`;
  return {
    failures: sql`(select count(*) from (select 1 as one ${failed} limit ${k.limit}) as f)`,
    latest: sql`(select max(at) ${failed})`,
    pending: sql`(select count(*) from login_failures where key = ${k.key} and at > ${at.since} and expires_at > ${at.now})`,
  };
}

export class SqlThrottleStore implements ThrottleStore {
  readonly #postgres: boolean;
  constructor(private readonly db: Kysely<Database>) {
    this.#postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  }

  async recordFailure(keys: readonly string[], at: number): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = keys.map((key) => ({ id: randomToken(12), key, at, expires_at: null }));
    await this.db.insertInto('login_failures').values(rows).execute();
    return rows.map((r) => r.id);
  }

  async recentFailures(key: string, since: number, limit: number): Promise<{ id: string; at: number }[]> {
    return this.db
      .selectFrom('login_failures')
      .select(['id', 'at'])
      .where('key', '=', key)
      .where('at', '>', since)
      .where('expires_at', 'is', null)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  async reserve(
    keys: readonly Key[],
    opts: { now: number; since: number; leaseUntil: number },
    admit: (counts: ThrottleCounts[]) => boolean,
  ): Promise<{ ids: string[] | undefined; counts: ThrottleCounts[] }> {
    if (keys.length === 0) return { ids: admit([]) ? [] : undefined, counts: [] };
    const rows = keys.map(({ key }) => ({
      id: randomToken(12),
      key,
      at: opts.now,
      expires_at: opts.leaseUntil,
    }));
    const ids = rows.map((r) => r.id);
    if (this.#postgres) {
      // One reservation at a time per key, on every node: transaction-level advisory locks (taken
      // in one order, so never a deadlock), then count, then write.
      const run = async (trx: Kysely<Database>) => {
        for (const key of [...new Set(rows.map((r) => r.key))].sort()) {
          await sql`select pg_advisory_xact_lock(${sql.lit(PG_RESERVE_LOCK_CLASS)}, hashtext(${key}))`.execute(
            trx,
          );
        }
        const counts = await this.#counts(trx, keys, opts);
        if (!admit(counts)) return { ids: undefined, counts };
        await trx.insertInto('login_failures').values(rows).execute();
        return { ids, counts };
      };
      return this.db.isTransaction ? run(this.db) : this.db.transaction().execute(run);
    }
    // SQLite: count, then write in one statement only if the counts are still the same. One
    // statement is atomic (it holds the write lock throughout, against every connection and
    // process), and no multi-statement write transaction holds the lock across an await.
    let counts: ThrottleCounts[] = [];
    for (let i = 0; i < SQLITE_RESERVE_TRIES; i++) {
      counts = await this.#counts(this.db, keys, opts);
      if (!admit(counts)) return { ids: undefined, counts };
      const unchanged = sql.join(
        keys.flatMap((k, j) => {
          const c = countsSql(k, opts);
          const seen = counts[j]!;
          return [
            sql`${c.failures} = ${seen.failures}`,
            sql`${c.latest} is ${seen.latestFailureAt}`,
            sql`${c.pending} = ${seen.pending}`,
          ];
        }),
        sql` and `,
      );
      const values = sql.join(
        rows.map(
          (r) => sql`select ${r.id} as id, ${r.key} as key, ${r.at} as at, ${r.expires_at} as expires_at`,
        ),
        sql` union all `,
      );
      const written = await sql`insert into login_failures (id, key, at, expires_at)
        select id, key, at, expires_at from (${values}) as v where ${unchanged}`.execute(this.db);
      if (Number(written.numAffectedRows ?? 0) === rows.length) return { ids, counts };
    }
    return { ids: undefined, counts };
  }

  async #counts(db: Kysely<Database>, keys: readonly Key[], at: At): Promise<ThrottleCounts[]> {
    const out: ThrottleCounts[] = [];
    for (const k of keys) {
      const c = countsSql(k, at);
      const r = await sql<{
        failures: number | string;
        latest: number | string | null;
        pending: number | string;
      }>`
        select ${c.failures} as failures, ${c.latest} as latest, ${c.pending} as pending`.execute(db);
      const row = r.rows[0];
      out.push({
        failures: Number(row?.failures ?? 0),
        latestFailureAt: row?.latest === null || row?.latest === undefined ? null : Number(row.latest),
        pending: Number(row?.pending ?? 0),
      });
    }
    return out;
  }

  async fail(ids: readonly string[], at: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('login_failures')
      .set({ at, expires_at: null })
      .where('id', 'in', [...ids])
      .execute();
  }

  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .deleteFrom('login_failures')
      .where('id', 'in', [...ids])
      .execute();
  }

  async clear(key: string): Promise<void> {
    await this.db
      .deleteFrom('login_failures')
      .where('key', '=', key)
      .where('expires_at', 'is', null)
      .execute();
  }
}
