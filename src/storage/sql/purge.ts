/**
 * Purging expired rows so that no table grows without bound, and without stalling requests:
 * - every statement picks its rows through an index (test/storage/purge-plans.test.ts checks
 *   the query plan of each on both engines: no scan of the purged table);
 * - each statement deletes a batch chosen by primary key; the batch starts small and adapts so
 *   that one statement takes about its engine's target (PURGE_PACE; 500 rows took 170 ms on a 1 GiB file: a
 *   fixed row count is no bound on time). SQLite's statements run on the event loop, so this is
 *   also how long a request may wait behind one;
 * - the loop pauses between statements (on SQLite three times as long as the last one took, at
 *   least MIN_PAUSE_MS): the purge takes at most about a quarter of the time, requests go first, and a
 *   backlog (days of downtime) is worked through in small steps. Measured with
 *   `npm run bench -- --rows 1000000` (bench/README.md), /token p99 while 660,000 expired rows
 *   went: 6× idle with 20 ms statements and 2 ms pauses, 2.5× with 5 ms and pauses of 2×, 0.9×
 *   (no rise) with 2 ms and pauses of 3× (the backlog then takes 3.7 minutes). On PostgreSQL,
 *   whose statements never hold the event loop, that pace cleared ≈ 1,000 rows a second.
 * The timer is in ops/cleanup.ts; `latchkey purge` runs one pass now.
 */
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import {
  CODE_RETENTION_MS,
  DEVICE_CODE_RETENTION_MS,
  LOGIN_FAILURE_RETENTION_MS,
  REFRESH_RETENTION_MS,
} from '../retention.js';
import type { Database } from '../schema.js';

/** The first batch of each statement; it grows or shrinks from there. */
export const PURGE_BATCH_SIZE = 50;
const MIN_BATCH = 5;
const MAX_BATCH = 2000;
/**
 * How long one delete statement may take, about, and how long the loop pauses after it (that
 * many times the statement's time). SQLite runs statements on the event loop: every request waits
 * behind one, so they are short and the pauses long. PostgreSQL runs them on its own server while
 * the event loop goes on; a statement holds only the locks of its rows, and each commits (an
 * fsync): longer statements with shorter pauses clear a backlog without a commit per few rows.
 */
export const PURGE_PACE = {
  sqlite: { statementMs: 2, pauseFactor: 3 },
  postgres: { statementMs: 20, pauseFactor: 1 },
} as const;
export type PurgePace = (typeof PURGE_PACE)[keyof typeof PURGE_PACE];
/** SQLite's target, the tighter one (tests of nextBatch). */
export const TARGET_STATEMENT_MS = PURGE_PACE.sqlite.statementMs;
/** The shortest pause between two statements. */
const MIN_PAUSE_MS = 2;

/** The tables the purge empties, with the primary key it deletes by. */
const KEYS = {
  codes: 'hash',
  refresh_tokens: 'hash',
  grants: 'id',
  sessions: 'id_hash',
  interactions: 'id',
  access_tokens: 'jti',
  login_failures: 'id',
  audit_events: 'id',
  pushed_requests: 'uri_hash',
  replays: 'key',
  webauthn_challenges: 'challenge',
  device_codes: 'hash',
  mail_outbox: 'id',
} as const;
export type PurgedTable = keyof typeof KEYS;
export const PURGED_TABLES = Object.keys(KEYS) as PurgedTable[];

/** Rows deleted per table. */
export type PurgeCounts = Record<PurgedTable, number>;

export interface PurgeOptions {
  /** The first batch of each statement (default PURGE_BATCH_SIZE); tests make it small. */
  batchSize?: number;
  /** Audit events older than this go (ms); null keeps them forever (LATCHKEY_AUDIT_RETENTION=0). */
  auditRetentionMs?: number | null;
  /** Stops the pass before its next statement (shutdown must not wait for a whole backlog). */
  signal?: AbortSignal;
}

export interface PurgeStore {
  /** Deletes what has expired in every table (PURGED_TABLES); returns the counts. */
  expired(now: number, opts?: PurgeOptions): Promise<PurgeCounts>;
}

/** One purge statement: the rows of `table` that `expired` selects. */
export interface PurgeStatement<T extends PurgedTable = PurgedTable> {
  table: T;
  /** A table may take two statements (sessions: expired, ended), each with its own index. */
  label: string;
  expired: (eb: ExpressionBuilder<Database, T>) => Expression<SqlBool>;
}

const statement = <T extends PurgedTable>(
  table: T,
  label: string,
  expired: (eb: ExpressionBuilder<Database, T>) => Expression<SqlBool>,
): PurgeStatement => ({ table, label, expired }) as unknown as PurgeStatement;

/** Every purge statement, in the order they run, for `now`. */
export function purgeStatements(now: number, opts: PurgeOptions = {}): PurgeStatement[] {
  const list: PurgeStatement[] = [
    statement('codes', 'codes', (eb) => eb('expires_at', '<', now - CODE_RETENTION_MS)),
    statement('refresh_tokens', 'refresh_tokens', (eb) => eb('expires_at', '<', now - REFRESH_RETENTION_MS)),
    // A grant goes at its purge_after (set when it is made, moved when its refresh-token family
    // is), and never while a refresh-token row of its family is left (belt and braces). The
    // `limit 1 offset 0` keeps the check a per-row index probe on PostgreSQL: an EXISTS with an
    // OFFSET is not turned into an anti-join, for which, on a grown table with fresh statistics,
    // the planner chose a hash join over a sequential scan of refresh_tokens (0.5 s per batch
    // instead of 28 ms; test/storage/purge-plans.test.ts checks it on a grown table).
    statement('grants', 'grants', (eb) =>
      eb.and([
        eb('purge_after', '<', now),
        eb.not(
          eb.exists(
            eb
              .selectFrom('refresh_tokens')
              .select('refresh_tokens.hash')
              .whereRef('refresh_tokens.grant_id', '=', 'grants.id')
              .limit(1)
              .offset(0),
          ),
        ),
      ]),
    ),
    // A session is worthless once absolutely expired or ended (sign-out): two statements, each
    // on its own index (an `or` of the two could use neither and scanned the table).
    statement('sessions', 'sessions expired', (eb) => eb('expires_at', '<', now)),
    statement('sessions', 'sessions ended', (eb) => eb('ended_at', '<', now)),
    statement('interactions', 'interactions', (eb) => eb('expires_at', '<', now)),
    // An expired access token is inactive whether or not its revocation row exists.
    statement('access_tokens', 'access_tokens', (eb) => eb('expires_at', '<', now)),
    // Sign-in failures matter only inside the throttle window (15 minutes); a day is ample.
    statement('login_failures', 'login_failures', (eb) => eb('at', '<', now - LOGIN_FAILURE_RETENTION_MS)),
    statement('pushed_requests', 'pushed_requests', (eb) => eb('expires_at', '<', now)),
    statement('replays', 'replays', (eb) => eb('expires_at', '<', now)),
    statement('webauthn_challenges', 'webauthn_challenges', (eb) => eb('expires_at', '<', now)),
    statement('device_codes', 'device_codes', (eb) => eb('expires_at', '<', now - DEVICE_CODE_RETENTION_MS)),
    // A mail goes at its purge_after: set when it is sent or given up (MAIL_RETENTION_MS later).
    statement('mail_outbox', 'mail_outbox', (eb) => eb('purge_after', '<', now)),
  ];
  const audit = opts.auditRetentionMs;
  if (audit !== null && audit !== undefined)
    list.push(statement('audit_events', 'audit_events', (eb) => eb('at', '<', now - audit)));
  return list;
}

/**
 * The delete of one batch: `delete from T where key in (select key from T where … limit n)`.
 * Kysely cannot type a table chosen by a parameter; KEYS[table] is that table's key.
 */
export function purgeQuery(db: Kysely<Database>, s: PurgeStatement, batch: number) {
  // biome-ignore lint/suspicious/noExplicitAny: see above
  const untyped = db as Kysely<any>;
  const name: string = s.table;
  const key: string = KEYS[s.table];
  return untyped.deleteFrom(name).where(
    key,
    'in',
    untyped
      .selectFrom(name)
      .select(key)
      .where(s.expired as never)
      .limit(batch),
  );
}

/** Waits pauseFactor times as long as the last statement took, at least MIN_PAUSE_MS. */
const pause = (pace: PurgePace, tookMs = 0) =>
  new Promise<void>((r) => setTimeout(r, Math.max(MIN_PAUSE_MS, pace.pauseFactor * tookMs)));

/** The next batch: about `targetMs` per statement, within MIN_BATCH and MAX_BATCH. */
export function nextBatch(batch: number, tookMs: number, targetMs: number = TARGET_STATEMENT_MS): number {
  if (tookMs > targetMs) return Math.max(MIN_BATCH, Math.floor(batch / 2));
  if (tookMs < targetMs / 4) return Math.min(MAX_BATCH, batch * 2);
  return batch;
}

/** Runs one statement to the end, batch after batch; returns how many rows went. */
async function drain(
  db: Kysely<Database>,
  s: PurgeStatement,
  firstBatch: number,
  pace: PurgePace,
  signal: AbortSignal | undefined,
): Promise<number> {
  let batch = Math.max(MIN_BATCH, firstBatch);
  let total = 0;
  for (;;) {
    if (signal?.aborted) return total;
    const started = performance.now();
    const r = await purgeQuery(db, s, batch).executeTakeFirst();
    const n = Number(r.numDeletedRows);
    const took = performance.now() - started;
    total += n;
    if (n < batch) return total;
    batch = nextBatch(batch, took, pace.statementMs);
    await pause(pace, took);
  }
}

export class SqlPurgeStore implements PurgeStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly pace: PurgePace = PURGE_PACE.sqlite,
  ) {}

  async expired(now: number, opts: PurgeOptions = {}): Promise<PurgeCounts> {
    const counts = Object.fromEntries(PURGED_TABLES.map((t) => [t, 0])) as PurgeCounts;
    for (const s of purgeStatements(now, opts)) {
      if (opts.signal?.aborted) break;
      counts[s.table] += await drain(this.db, s, opts.batchSize ?? PURGE_BATCH_SIZE, this.pace, opts.signal);
      await pause(this.pace);
    }
    return counts;
  }
}
