/**
 * Upgrading a database across migration 0005 (codes in grant rows, access tokens not recorded at
 * issue): what was written before still works afterwards, on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openDatabase } from '../../src/storage/connect.js';
import { storesFor } from '../../src/storage/index.js';
import { migrate } from '../../src/storage/migrations.js';
import { GRANT_RETENTION_MS, REFRESH_RETENTION_MS } from '../../src/storage/retention.js';
import { createTempDatabase, PG_SKIP } from '../helpers/databases.js';
import { tempDir } from '../helpers/server.js';

const T0 = 1_790_000_000_000;
const DAY = 24 * 3600 * 1000;

const backends = [
  {
    name: 'sqlite',
    skip: false as const,
    async url() {
      const dir = tempDir('latchkey-upgrade-');
      return { url: join(dir, 'old.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  { name: 'postgres', skip: PG_SKIP, url: () => createTempDatabase() },
];

for (const backend of backends) {
  describe(`upgrade across 0005: ${backend.name}`, { skip: backend.skip }, () => {
    test('old codes, recorded access tokens and grants keep working; purge_after is filled in', async () => {
      const target = await backend.url();
      const opened = await openDatabase(target.url);
      const db = opened.db;
      try {
        await migrate(db, { to: '0004_client_allowed_scopes' });
        const grantRow = (id: string) => ({
          id,
          client_id: 'c1',
          user_id: 'u1',
          session_hash: null,
          scope: 'openid offline_access',
          nonce: null,
          auth_time: T0,
          created_at: T0,
          revoked_at: null,
        });
        // Written by the previous version: a grant with its code in the codes table and a
        // recorded access token; a grant with a refresh-token family ending in 90 days.
        // biome-ignore lint/suspicious/noExplicitAny: the pre-0005 schema is not the typed one
        const old = db as any;
        await old
          .insertInto('grants')
          .values([grantRow('g-code'), grantRow('g-family')])
          .execute();
        await old
          .insertInto('codes')
          .values({
            hash: 'old-code',
            grant_id: 'g-code',
            client_id: 'c1',
            redirect_uri: null,
            code_challenge: 'x',
            expires_at: T0 + 60_000,
            consumed_at: null,
          })
          .execute();
        await old
          .insertInto('access_tokens')
          .values({
            jti: 'old-jti',
            grant_id: 'g-code',
            client_id: 'c1',
            sub: 'u1',
            scope: 'openid',
            expires_at: T0 + 3_600_000,
            revoked_at: null,
          })
          .execute();
        await old
          .insertInto('refresh_tokens')
          .values({
            hash: 'old-refresh',
            grant_id: 'g-family',
            client_id: 'c1',
            user_id: 'u1',
            scope: 'openid offline_access',
            created_at: T0,
            expires_at: T0 + 90 * DAY,
            idle_expires_at: T0 + 30 * DAY,
            consumed_at: null,
            successor: null,
            grace_until: null,
          })
          .execute();

        // Later migrations (0007 …) run too; this test is about 0005.
        assert.deepEqual((await migrate(db)).slice(0, 2), [
          '0005_codes_in_grants',
          '0006_signing_key_ec_part',
        ]);
        const s = storesFor(db);

        const purgeAfter = async (id: string) =>
          Number(
            (
              await db
                .selectFrom('grants')
                .select('purge_after')
                .where('id', '=', id)
                .executeTakeFirstOrThrow()
            ).purge_after,
          );
        assert.equal(await purgeAfter('g-code'), T0 + GRANT_RETENTION_MS);
        assert.equal(await purgeAfter('g-family'), T0 + 90 * DAY + REFRESH_RETENTION_MS);

        // The old code is redeemed once, from the old table.
        const consumed = await s.grants.consumeCode('old-code', T0 + 1000);
        assert.ok(consumed.status === 'consumed');
        assert.equal(consumed.grant.id, 'g-code');
        assert.equal((await s.grants.consumeCode('old-code', T0 + 2000)).status, 'already-consumed');

        // The recorded access token (plain jti) follows its grant.
        assert.equal(await s.accessTokens.isRevoked('old-jti', null), false);
        await s.grants.revokeGrant('g-code', T0 + 3000);
        assert.equal(await s.accessTokens.isRevoked('old-jti', null), true);
      } finally {
        await opened.close();
        await target.drop();
      }
    });
  });
}
