/**
 * Purging expired rows in small batches, so a large backlog never holds a long lock or
 * blocks requests: each statement deletes at most `batchSize` rows picked by primary key,
 * and the loop yields to the event loop between statements. The timer is in ops/cleanup.ts.
 */
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import { CODE_RETENTION_MS, LOGIN_FAILURE_RETENTION_MS, REFRESH_RETENTION_MS } from '../retention.js';
import type { Database } from '../schema.js';

export const PURGE_BATCH_SIZE = 500;

export interface PurgeCounts {
  codes: number;
  grants: number;
  refreshTokens: number;
  sessions: number;
  interactions: number;
  accessTokens: number;
  loginFailures: number;
}

export interface PurgeStore {
  /** Deletes expired codes (old table), grants, refresh tokens, sessions, interactions,
   * access-token revocations and sign-in failures; returns counts. */
  expired(now: number, opts?: { batchSize?: number }): Promise<PurgeCounts>;
}

export class SqlPurgeStore implements PurgeStore {
  constructor(private readonly db: Kysely<Database>) {}
  expired(now: number, opts: { batchSize?: number } = {}): Promise<PurgeCounts> {
    return purgeExpired(this.db, now, opts);
  }
}

const yieldNow = () => new Promise<void>((r) => setImmediate(r));

/** The tables the purge empties, with the primary key it deletes by. */
const KEYS = {
  codes: 'hash',
  grants: 'id',
  refresh_tokens: 'hash',
  sessions: 'id_hash',
  interactions: 'id',
  access_tokens: 'jti',
  login_failures: 'id',
} as const;
type Purged = keyof typeof KEYS;

/**
 * Deletes the rows of `table` that `expired` selects, at most `batchSize` per statement (chosen
 * by primary key), yielding to the event loop between statements; returns how many went.
 */
async function purgeTable<T extends Purged>(
  db: Kysely<Database>,
  batchSize: number,
  table: T,
  expired: (eb: ExpressionBuilder<Database, T>) => Expression<SqlBool>,
): Promise<number> {
  // Kysely cannot type a table chosen by a parameter; KEYS[table] is that table's key.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  const untyped = db as Kysely<any>;
  const name: string = table;
  const key: string = KEYS[table];
  let total = 0;
  for (;;) {
    const r = await untyped
      .deleteFrom(name)
      .where(
        key,
        'in',
        untyped
          .selectFrom(name)
          .select(key)
          .where(expired as never)
          .limit(batchSize),
      )
      .executeTakeFirst();
    const n = Number(r.numDeletedRows);
    total += n;
    if (n < batchSize) return total;
    await yieldNow();
  }
}

/**
 * Deletes expired codes (old table), grants, refresh tokens, sessions, interactions, access-token
 * revocations and sign-in failures; returns counts.
 */
async function purgeExpired(
  db: Kysely<Database>,
  now: number,
  opts: { batchSize?: number } = {},
): Promise<PurgeCounts> {
  const batch = opts.batchSize ?? PURGE_BATCH_SIZE;
  const codes = await purgeTable(db, batch, 'codes', (eb) => eb('expires_at', '<', now - CODE_RETENTION_MS));
  const refreshTokens = await purgeTable(db, batch, 'refresh_tokens', (eb) =>
    eb('expires_at', '<', now - REFRESH_RETENTION_MS),
  );
  // A grant goes at its purge_after (set when it is made, moved when its refresh-token family
  // is), and never while a refresh-token row of its family is left (belt and braces).
  const grants = await purgeTable(db, batch, 'grants', (eb) =>
    eb.and([
      eb('purge_after', '<', now),
      eb.not(
        eb.exists(
          eb
            .selectFrom('refresh_tokens')
            .select('refresh_tokens.hash')
            .whereRef('refresh_tokens.grant_id', '=', 'grants.id'),
        ),
      ),
    ]),
  );
  // A session is worthless once absolutely expired or ended (sign-out).
  const sessions = await purgeTable(db, batch, 'sessions', (eb) =>
    eb.or([eb('expires_at', '<', now), eb('ended_at', '<', now)]),
  );
  const interactions = await purgeTable(db, batch, 'interactions', (eb) => eb('expires_at', '<', now));
  // An expired access token is inactive whether or not its revocation row exists.
  const accessTokens = await purgeTable(db, batch, 'access_tokens', (eb) => eb('expires_at', '<', now));
  // Sign-in failures matter only inside the throttle window (15 minutes); a day is ample.
  const loginFailures = await purgeTable(db, batch, 'login_failures', (eb) =>
    eb('at', '<', now - LOGIN_FAILURE_RETENTION_MS),
  );
  return { codes, grants, refreshTokens, sessions, interactions, accessTokens, loginFailures };
}
