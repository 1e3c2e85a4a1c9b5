/**
 * Purging expired rows in small batches, so a large backlog never holds a long lock or
 * blocks requests: each statement deletes at most `batchSize` rows picked by primary key,
 * and the loop yields to the event loop between statements.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { CODE_RETENTION_MS, REFRESH_RETENTION_MS } from '../storage/retention.js';
import type { Database } from '../storage/schema.js';

export { CODE_RETENTION_MS, GRANT_RETENTION_MS, REFRESH_RETENTION_MS } from '../storage/retention.js';
export const PURGE_BATCH_SIZE = 500;
export const PURGE_INTERVAL_MS = 60_000;
export const LOGIN_FAILURE_RETENTION_MS = 24 * 3600 * 1000;

export interface PurgeCounts {
  codes: number;
  grants: number;
  refreshTokens: number;
  sessions: number;
  interactions: number;
  accessTokens: number;
  loginFailures: number;
}

const yieldNow = () => new Promise<void>((r) => setImmediate(r));

async function purgeTable(
  batchSize: number,
  deleteBatch: (limit: number) => Promise<number>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteBatch(batchSize);
    total += n;
    if (n < batchSize) return total;
    await yieldNow();
  }
}

/**
 * Deletes expired codes (old table), grants, refresh tokens, sessions, interactions, access-token
 * revocations and sign-in failures; returns counts.
 */
export async function purgeExpired(
  storage: { db: Kysely<Database> },
  now: number,
  opts: { batchSize?: number } = {},
): Promise<PurgeCounts> {
  const db = storage.db;
  const batch = opts.batchSize ?? PURGE_BATCH_SIZE;
  const codes = await purgeTable(batch, async (limit) => {
    const r = await db
      .deleteFrom('codes')
      .where(
        'hash',
        'in',
        db
          .selectFrom('codes')
          .select('hash')
          .where('expires_at', '<', now - CODE_RETENTION_MS)
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  });
  const refreshTokens = await purgeTable(batch, async (limit) => {
    const r = await db
      .deleteFrom('refresh_tokens')
      .where(
        'hash',
        'in',
        db
          .selectFrom('refresh_tokens')
          .select('hash')
          .where('expires_at', '<', now - REFRESH_RETENTION_MS)
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  });
  // A grant goes at its purge_after (set when it is made, moved when its refresh-token family
  // is), and never while a refresh-token row of its family is left (belt and braces).
  const grants = await purgeTable(batch, async (limit) => {
    const r = await db
      .deleteFrom('grants')
      .where(
        'id',
        'in',
        db
          .selectFrom('grants')
          .select('id')
          .where('purge_after', '<', now)
          .where((eb) =>
            eb.not(
              eb.exists(
                eb
                  .selectFrom('refresh_tokens')
                  .select('refresh_tokens.hash')
                  .whereRef('refresh_tokens.grant_id', '=', 'grants.id'),
              ),
            ),
          )
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  });
  // A session is worthless once absolutely expired or ended (sign-out).
  const sessions = await purgeTable(batch, async (limit) => {
    const r = await db
      .deleteFrom('sessions')
      .where(
        'id_hash',
        'in',
        db
          .selectFrom('sessions')
          .select('id_hash')
          .where((eb) => eb.or([eb('expires_at', '<', now), eb('ended_at', '<', now)]))
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  });
  const interactions = await purgeTable(batch, async (limit) => {
    const r = await db
      .deleteFrom('interactions')
      .where(
        'id',
        'in',
        db.selectFrom('interactions').select('id').where('expires_at', '<', now).limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  });
  // An expired access token is inactive whether or not its record exists (introspection).
  const accessTokens = await purgeTable(batch, async (limit) => {
    const r = await db
      .deleteFrom('access_tokens')
      .where(
        'jti',
        'in',
        db.selectFrom('access_tokens').select('jti').where('expires_at', '<', now).limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  });
  // Sign-in failures matter only inside the throttle window (15 minutes); a day is ample.
  const loginFailures = await purgeTable(batch, async (limit) => {
    const r = await db
      .deleteFrom('login_failures')
      .where(
        'id',
        'in',
        db
          .selectFrom('login_failures')
          .select('id')
          .where('at', '<', now - LOGIN_FAILURE_RETENTION_MS)
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  });
  return { codes, grants, refreshTokens, sessions, interactions, accessTokens, loginFailures };
}

export interface PurgeTimer {
  stop(): Promise<void>;
}

/**
 * Runs purgeExpired every `intervalMs` (unref'd: it never keeps the process alive).
 * Runs never overlap; stop() waits for a run in progress. Errors are reported, not thrown.
 */
export function startPurgeTimer(
  storage: { db: Kysely<Database> },
  clock: Clock,
  opts: { intervalMs?: number; onError?: (err: unknown) => void } = {},
): PurgeTimer {
  let running: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = purgeExpired(storage, clock.now())
      .then(
        () => {},
        (err) => opts.onError?.(err),
      )
      .finally(() => {
        running = undefined;
      });
  }, opts.intervalMs ?? PURGE_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
