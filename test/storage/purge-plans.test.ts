/**
 * Every purge statement picks its rows through an index, on both engines: on SQLite the query
 * plan (EXPLAIN QUERY PLAN) of each delete shows no SCAN of the purged table; on PostgreSQL,
 * with enable_seqscan = off, EXPLAIN of each shows no Seq Scan of it (the planner still scans
 * when no index can serve, so a missing index shows). The checker is tried on a statement
 * known to scan (a column without an index), so the test cannot pass by reading plans wrongly.
 * Before the sessions_ended index (migration 0009) the session purge, one statement with
 * `expires_at < ? or ended_at < ?`, was such a scan: SCAN sessions, every minute.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompiledQuery, type ExpressionBuilder, type Kysely, sql } from 'kysely';
import { databaseForTests, type Storage } from '../../src/storage/index.js';
import type { Database } from '../../src/storage/schema.js';
import {
  PURGED_TABLES,
  type PurgeStatement,
  purgeQuery,
  purgeStatements,
} from '../../src/storage/sql/purge.js';
import { storageBackends } from '../helpers/databases.js';

const NOW = 1_790_000_000_000;
const backends = storageBackends({ sqliteFile: 'plans.db', tempPrefix: 'latchkey-plans-' });

/** The plan lines of `query` on this engine. */
async function planOf(db: Kysely<Database>, dialect: string, query: CompiledQuery): Promise<string[]> {
  if (dialect === 'sqlite') {
    const r = await db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
    );
    return r.rows.map((row) => row.detail);
  }
  return db.connection().execute(async (conn) => {
    await sql`set enable_seqscan = off`.execute(conn);
    try {
      const r = await conn.executeQuery<{ 'QUERY PLAN': string }>(
        CompiledQuery.raw(`explain ${query.sql}`, [...query.parameters]),
      );
      return r.rows.map((row) => row['QUERY PLAN']);
    } finally {
      await sql`reset enable_seqscan`.execute(conn);
    }
  });
}

/** The plan lines that read the whole of `table`. */
const scans = (plan: string[], table: string) =>
  plan.filter((line) => new RegExp(`^\\s*(->\\s*)?(SCAN ${table}\\b|Seq Scan on ${table}\\b)`).test(line));

for (const backend of backends) {
  describe(`purge statements use indexes: ${backend.name}`, { skip: backend.skip }, () => {
    let s: Storage;
    let done = async () => {};
    before(async () => {
      const o = await backend.open();
      s = o.storage;
      done = o.done;
    });
    after(() => done());

    test('no purge statement scans the table it purges', async () => {
      const db = databaseForTests(s);
      const statements = purgeStatements(NOW, { auditRetentionMs: 90 * 86400_000 });
      // Every purged table has at least one statement.
      assert.deepEqual([...new Set(statements.map((st) => st.table))].sort(), [...PURGED_TABLES].sort());
      for (const st of statements) {
        const plan = await planOf(db, s.dialect, purgeQuery(db, st, 500).compile());
        assert.deepEqual(scans(plan, st.table), [], `${st.label}:\n${plan.join('\n')}`);
      }
    });

    test('the check sees a statement that scans (a column without an index)', async () => {
      const db = databaseForTests(s);
      // last_seen_at has no index: every engine must read the whole table for it.
      const old = {
        table: 'sessions',
        label: 'sessions by last_seen_at (no index)',
        expired: (eb: ExpressionBuilder<Database, 'sessions'>) => eb('last_seen_at', '<', NOW),
      } as unknown as PurgeStatement;
      const query = purgeQuery(db, old, 500).compile();
      const plan = await planOf(db, s.dialect, query);
      assert.ok(scans(plan, 'sessions').length > 0, plan.join('\n'));
    });

    // With enable_seqscan = on and the statistics of a grown table, as a server runs it: the
    // grant purge's "no refresh token left" check stays a per-row index probe. Written as a plain
    // NOT EXISTS it became a hash anti-join over a sequential scan of refresh_tokens here (and
    // 0.5 s per batch on a million rows).
    test('on a grown table with fresh statistics the grant purge probes refresh_tokens by index', async (t) => {
      if (s.dialect !== 'postgres') return t.skip('a PostgreSQL planner question');
      const db = databaseForTests(s);
      await sql`insert into grants (id, client_id, user_id, scope, auth_time, created_at, purge_after)
        select 'g' || i, 'c', 'u' || i, 'openid', 0, 0, case when i % 3 = 0 then 1 else 9000000000000000 end
        from generate_series(1, 60000) as i`.execute(db);
      await sql`insert into refresh_tokens (hash, grant_id, client_id, user_id, scope, created_at, expires_at, idle_expires_at)
        select 'r' || i, 'g' || i, 'c', 'u' || i, 'openid', 0, 9000000000000000, 9000000000000000
        from generate_series(1, 60000) as i where i % 3 <> 0`.execute(db);
      await sql`analyze grants`.execute(db);
      await sql`analyze refresh_tokens`.execute(db);
      try {
        const st = purgeStatements(NOW).find((x) => x.table === 'grants');
        assert.ok(st);
        const q = purgeQuery(db, st, 500).compile();
        const plan = (
          await db.executeQuery<{ 'QUERY PLAN': string }>(
            CompiledQuery.raw(`explain ${q.sql}`, [...q.parameters]),
          )
        ).rows.map((r) => r['QUERY PLAN']);
        // (How the outer delete finds the 500 picked ids is a cost choice: on 60,000 rows a scan,
        // on a million the primary key, as measured in the benchmark.)
        assert.deepEqual(scans(plan, 'refresh_tokens'), [], plan.join('\n'));
        assert.ok(
          plan.some((l) => /SubPlan/.test(l)),
          plan.join('\n'),
        );
      } finally {
        await sql`delete from refresh_tokens`.execute(db);
        await sql`delete from grants`.execute(db);
      }
    });
  });
}
