/**
 * Grows a Latchkey database for `npm run bench -- --rows N`: N users, N grants (with their codes,
 * half of them redeemed), N refresh tokens and N/5 sessions, as years of traffic leave them.
 * The schema is the real one (openStorage runs the migrations); the rows go in by bulk inserts
 * straight into its tables, 500 per statement, many statements per transaction — the HTTP API
 * would take hours for a million flows.
 *
 * With `backlog` (a share, 0–1), that share of the grants and sessions has expired long ago, as
 * after days of downtime: the server's first purge then has a backlog to work through.
 *
 * Usage: tsx bench/grow.ts '{"db": "…", "rows": 1000000, "backlog": 0}'
 *        tsx bench/grow.ts '{"db": "…", "expire": 0.3}'   (a grown file: that share expires now)
 * Prints one JSON line: { rows, ms, bytes } (bytes: the SQLite file after a checkpoint, or the
 * PostgreSQL database's size after VACUUM ANALYZE).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { sql } from 'kysely';
import { timeOrderedId } from '../src/crypto.js';
import { databaseForTests, openStorage } from '../src/storage/index.js';

const {
  db,
  rows = 0,
  backlog = 0,
  expire,
} = JSON.parse(process.argv[2] ?? '{}') as {
  db: string;
  rows?: number;
  backlog?: number;
  expire?: number;
};

const token = () => randomBytes(32).toString('base64url');
const CHUNK = 500;
const PER_TRANSACTION = 100;
const DAY = 86400_000;
const CLIENT_ID = 'grown-client-0000000';

const storage = await openStorage(db);
// The fill writes through the real schema directly (the same handle tests use); the server's
// code never does: it goes through the stores.
const kdb = databaseForTests(storage);
const started = performance.now();
const now = Date.now();

/** Inserts `count` rows made by `row(i)` into `table`, CHUNK per statement. */
async function fill<T extends Record<string, unknown>>(
  table: string,
  count: number,
  row: (i: number) => T,
): Promise<void> {
  for (let base = 0; base < count; base += CHUNK * PER_TRANSACTION) {
    await kdb.transaction().execute(async (trx) => {
      for (let c = base; c < Math.min(count, base + CHUNK * PER_TRANSACTION); c += CHUNK) {
        const values = Array.from({ length: Math.min(CHUNK, count - c) }, (_, k) => row(c + k));
        // biome-ignore lint/suspicious/noExplicitAny: one helper for every table of the schema
        await (trx as any).insertInto(table).values(values).execute();
      }
    });
  }
}

/**
 * Makes a share of a grown file's grants and sessions expired long ago (the refresh tokens of
 * those grants too), as days of downtime would: the next purge has that backlog to delete.
 */
async function expireShare(share: number): Promise<number> {
  const total = Number(
    (
      await kdb
        .selectFrom('grants')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const n = Math.floor(total * share);
  const ids = kdb.selectFrom('grants').select('id').orderBy('id').limit(n);
  await kdb.transaction().execute(async (trx) => {
    await trx
      .updateTable('refresh_tokens')
      .set({ expires_at: now - 30 * DAY })
      .where('grant_id', 'in', ids)
      .execute();
    await trx
      .updateTable('grants')
      .set({ purge_after: now - DAY })
      .where('id', 'in', ids)
      .execute();
    const sessions = trx
      .selectFrom('sessions')
      .select('id_hash')
      .orderBy('id_hash')
      .limit(Math.floor(n / 5));
    await trx
      .updateTable('sessions')
      .set({ expires_at: now - DAY })
      .where('id_hash', 'in', sessions)
      .execute();
  });
  return n;
}

try {
  if (expire !== undefined) {
    const n = await expireShare(expire);
    process.stdout.write(`${JSON.stringify({ expired: n, ms: Math.round(performance.now() - started) })}\n`);
    process.exit(0);
  }
  const userIds: string[] = Array.from({ length: rows }, () => randomUUID());
  const oldHash = 'grown-users-have-no-password-they-never-sign-in';
  await fill('users', rows, (i) => ({
    id: userIds[i]!,
    username: `grown-${i}`,
    email: `grown-${i}@example.com`,
    name: null,
    password_hash: oldHash,
    disabled: 0,
    is_admin: 0,
    created_at: now - DAY,
    updated_at: now - DAY,
  }));
  const expired = (i: number) => i < rows * backlog;
  // Grant ids are time-ordered as the server makes them (crypto.ts timeOrderedId), from the
  // backdated creation time.
  const grantCreated = Array.from({ length: rows }, (_, i) =>
    expired(i) ? now - 30 * DAY : now - Math.floor(Math.random() * DAY),
  );
  const grantIds: string[] = grantCreated.map((t) => timeOrderedId(t));
  await fill('grants', rows, (i) => {
    const created = grantCreated[i]!;
    return {
      id: grantIds[i]!,
      client_id: CLIENT_ID,
      user_id: userIds[i]!,
      session_hash: token(),
      scope: 'openid profile email offline_access',
      nonce: token().slice(0, 16),
      auth_time: created,
      created_at: created,
      revoked_at: null,
      code_hash: token(),
      code_redirect_uri: 'http://127.0.0.1/callback',
      code_challenge: token(),
      code_expires_at: created + 60_000,
      code_consumed_at: i % 2 === 0 ? created + 1000 : null,
      purge_after: created + 2 * DAY,
    };
  });
  // The refresh tokens of the grants that are not part of the backlog (a family keeps its grant).
  const liveFrom = Math.ceil(rows * backlog);
  await fill('refresh_tokens', rows - liveFrom, (k) => {
    const i = liveFrom + k;
    return {
      hash: token(),
      grant_id: grantIds[i]!,
      client_id: CLIENT_ID,
      user_id: userIds[i]!,
      scope: 'openid offline_access',
      created_at: now - DAY,
      expires_at: now + 89 * DAY,
      idle_expires_at: now + 29 * DAY,
      consumed_at: null,
      successor: null,
      grace_until: null,
    };
  });
  const sessions = Math.floor(rows / 5);
  await fill('sessions', sessions, (i) => ({
    id_hash: token(),
    user_id: userIds[i]!,
    auth_time: now - DAY,
    created_at: now - DAY,
    last_seen_at: now - DAY,
    expires_at: expired(i) ? now - 10 * DAY : now + DAY,
    ended_at: null,
  }));
  let bytes: number | null = null;
  if (storage.dialect === 'sqlite') {
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(kdb);
    bytes = statSync(db).size;
  } else {
    await sql`vacuum analyze`.execute(kdb);
    bytes = Number(
      (await sql<{ n: string }>`select pg_database_size(current_database()) as n`.execute(kdb)).rows[0]?.n,
    );
  }
  process.stdout.write(`${JSON.stringify({ rows, ms: Math.round(performance.now() - started), bytes })}\n`);
} finally {
  await storage.close();
}
