/**
 * The store contract (src/storage/types.ts), run against every back end: SQLite always,
 * PostgreSQL when LATCHKEY_TEST_POSTGRES is set (then it must connect, or the suite fails), and
 * the in-memory stores for tests (src/storage/memory/), which skip only the tests that read or
 * write the SQL database itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { randomToken } from '../../src/crypto.js';
import { databaseForTests, openStorage, type Storage } from '../../src/storage/index.js';
import type { MemoryStorage } from '../../src/storage/memory/index.js';
import { pendingMigrations } from '../../src/storage/migrations.js';
import type { Stores, ThrottleCounts } from '../../src/storage/types.js';
import {
  type AuthorizationCode,
  type Client,
  type DeviceCode,
  DuplicateError,
  type Grant,
  type SigningKey,
  type User,
} from '../../src/storage/types.js';
import {
  type MemoryBackend,
  memoryBackend,
  type StorageBackend,
  storageBackends,
} from '../helpers/databases.js';

// Realistic epoch-ms times (beyond 2^31, so a 32-bit column or a string bigint would show).
const T0 = 1_790_000_000_000;
const id = (p: string) => `${p}-${randomToken(8)}`;

const backends: (StorageBackend | MemoryBackend)[] = [
  ...storageBackends({
    sqliteFile: 'contract.db',
    tempPrefix: 'latchkey-contract-',
    pgPoolSize: 20,
  }),
  memoryBackend(),
];

/** The SQL Storage (for the tests that reach its database); the in-memory stores have none. */
function sqlOf(s: Storage | MemoryStorage): Storage {
  if ('kind' in s) throw new Error('a SQL back end only');
  return s;
}

const client = (over: Partial<Client> = {}): Client => ({
  clientId: id('client'),
  name: 'Contract app',
  type: 'native',
  redirectUris: ['http://127.0.0.1/callback', 'com.example.app:/cb'],
  postLogoutRedirectUris: [],
  grantTypes: ['authorization_code', 'refresh_token'],
  tokenEndpointAuthMethod: 'none',
  secretHash: null,
  consent: 'required',
  requirePkce: true,
  accessTokenTtl: null,
  refreshTokenTtl: 7200,
  refreshIdleTtl: null,
  refreshGrace: 0,
  rotateRefreshTokens: true,
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

const user = (over: Partial<User> = {}): User => ({
  id: id('user'),
  username: id('name'),
  email: null,
  name: 'Contract User',
  passwordHash: 'hash',
  disabled: false,
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

const grant = (over: Partial<Grant> = {}): Grant => ({
  id: id('grant'),
  clientId: 'c1',
  userId: 'u1',
  sessionHash: null,
  scope: 'openid profile',
  nonce: 'n-1',
  authTime: T0,
  createdAt: T0,
  revokedAt: null,
  ...over,
});

const code = (grantId: string, over: Partial<AuthorizationCode> = {}): AuthorizationCode => ({
  hash: id('code'),
  grantId,
  clientId: 'c1',
  redirectUri: 'http://127.0.0.1/callback',
  codeChallenge: 'challenge',
  expiresAt: T0 + 60_000,
  consumedAt: null,
  ...over,
});

const key = (generation: number, over: Partial<SigningKey> = {}): SigningKey => ({
  kid: id('kid'),
  generation,
  alg: 'RS256',
  privatePem: 'pem',
  publicJwk: { kty: 'RSA', n: 'n', e: 'AQAB' },
  ec: null,
  createdAt: T0,
  activeAt: T0,
  retiredAt: null,
  expiresAt: null,
  ...over,
});

for (const backend of backends) {
  // The `skip` of a test that reads or writes the SQL database itself (migrations, rows written
  // by older versions, columns the stores do not return): not applicable to the in-memory stores.
  const sqlOnly =
    backend.name === 'memory'
      ? 'SQL-specific (reads or writes the database directly): none in memory'
      : false;

  describe(`store contract: ${backend.name}`, { skip: backend.skip }, () => {
    let s: Storage | MemoryStorage;
    let done: () => Promise<void> = async () => {};

    before(async () => {
      const opened = await backend.open();
      s = opened.storage;
      done = opened.done;
    });
    after(async () => {
      await done();
    });

    test('dialect and migrations: nothing pending, running again is a no-op', { skip: sqlOnly }, async () => {
      const db = databaseForTests(sqlOf(s));
      assert.equal(sqlOf(s).dialect, backend.name);
      assert.equal(await pendingMigrations(db), 0);
      const r = await sql<{ one: number }>`select 1 as one`.execute(db);
      assert.equal(Number(r.rows[0]?.one), 1);
    });

    test('throttle: failures per key, newest first, windowed and limited; forget; clear', async () => {
      const key = `account:${Math.random()}`;
      const other = `ip:${Math.random()}`;
      const times = async (k: string, since: number, limit: number) =>
        (await s.throttle.recentFailures(k, since, limit)).map((r) => r.at);
      const ids = await s.throttle.recordFailure([key, other], T0);
      assert.equal(ids.length, 2);
      await s.throttle.recordFailure([key], T0 + 10);
      const [latest] = await s.throttle.recordFailure([key], T0 + 20);
      assert.deepEqual(await times(key, T0 - 1, 10), [T0 + 20, T0 + 10, T0]);
      assert.deepEqual(await times(key, T0, 10), [T0 + 20, T0 + 10], 'strictly after since');
      assert.deepEqual(await times(key, T0 - 1, 2), [T0 + 20, T0 + 10]);
      assert.equal((await s.throttle.recentFailures(key, T0 - 1, 1))[0]?.id, latest);
      await s.throttle.forget([latest!]);
      assert.deepEqual(await times(key, T0 - 1, 10), [T0 + 10, T0]);
      await s.throttle.clear(key);
      assert.deepEqual(await times(key, 0, 10), []);
      assert.deepEqual(await times(other, 0, 10), [T0], 'other keys untouched');
    });

    test('throttle: reservations count within their lease, are no failures, turn into failures', async () => {
      const key = `account:${Math.random()}`;
      const keys = [{ key, limit: 5 }];
      const at = (now: number) => ({ now, since: now - 900_000, leaseUntil: now + 5000 });
      const always = () => true;
      const r = await s.throttle.reserve(keys, at(T0), always);
      assert.equal(r.ids?.length, 1);
      assert.deepEqual(
        r.counts,
        [{ failures: 0, latestFailureAt: null, pending: 0 }],
        'its own row is not counted',
      );
      assert.deepEqual(await s.throttle.recentFailures(key, 0, 10), [], 'a reservation is no failure');
      const second = await s.throttle.reserve(keys, at(T0 + 1), always);
      assert.equal(second.counts[0]?.pending, 1, 'the first one is in progress');
      // clear() (a success) leaves other attempts' reservations alone.
      await s.throttle.clear(key);
      assert.equal((await s.throttle.reserve(keys, at(T0 + 2), () => false)).counts[0]?.pending, 2);
      // A refused reservation wrote nothing.
      assert.equal((await s.throttle.reserve(keys, at(T0 + 3), () => false)).counts[0]?.pending, 2);
      // Past its lease a reservation no longer counts (a crashed process's, say).
      assert.equal((await s.throttle.reserve(keys, at(T0 + 5000), () => false)).counts[0]?.pending, 1);
      assert.equal((await s.throttle.reserve(keys, at(T0 + 5001), () => false)).counts[0]?.pending, 0);
      await s.throttle.fail(r.ids!, T0 + 100);
      assert.deepEqual(
        (await s.throttle.recentFailures(key, 0, 10)).map((f) => f.at),
        [T0 + 100],
        'turned into a failure at the time given',
      );
      await s.throttle.forget(second.ids!);
      const after = await s.throttle.reserve(keys, at(T0 + 200), () => false);
      assert.deepEqual(after.counts, [{ failures: 1, latestFailureAt: T0 + 100, pending: 0 }]);
      await s.throttle.clear(key);
      assert.deepEqual(await s.throttle.recentFailures(key, 0, 10), []);
    });

    test('throttle: 40 concurrent reservations under a limit of 5, from two connections → exactly 5', async () => {
      // A second connection (pool) to the same database, as a second node has; in memory, the
      // same stores (one process: what is tested there is the calls' interleaving).
      const second = 'kind' in s ? undefined : await openStorage(s.location);
      const other: Stores = second ?? s;
      try {
        const keys = [
          { key: `account:${Math.random()}`, limit: 5 },
          { key: `ip:${Math.random()}`, limit: 30 },
        ];
        const opts = { now: T0, since: T0 - 900_000, leaseUntil: T0 + 5000 };
        const admit = (c: ThrottleCounts[]) => c.every((k, i) => k.failures + k.pending < keys[i]!.limit);
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 ? other : s).throttle.reserve(keys, opts, admit)),
        );
        assert.equal(results.filter((x) => x.ids).length, 5);
        // Three of them fail, two are forgotten: 3 failures, and room for exactly 2 more.
        const taken = results.filter((x) => x.ids).map((x) => x.ids!);
        for (const ids of taken.slice(0, 3)) await s.throttle.fail(ids, T0 + 1);
        for (const ids of taken.slice(3)) await other.throttle.forget(ids);
        const again = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 ? other : s).throttle.reserve(keys, { ...opts, now: T0 + 2 }, admit),
          ),
        );
        assert.equal(again.filter((x) => x.ids).length, 2);
      } finally {
        await second?.close();
      }
    });

    test('clients: create, get, list, update, delete; duplicate client_id → DuplicateError', async () => {
      const c = client({ accessTokenTtl: 900 });
      await s.clients.create(c);
      const got = await s.clients.get(c.clientId);
      assert.deepEqual(got, c);
      assert.equal(typeof got?.createdAt, 'number');
      await assert.rejects(s.clients.create({ ...c, name: 'other' }), DuplicateError);
      assert.ok((await s.clients.list()).some((x) => x.clientId === c.clientId));

      const updated = await s.clients.update(c.clientId, {
        name: 'Renamed',
        redirectUris: ['http://127.0.0.1/other'],
        requirePkce: false,
        secretHash: 'h',
        updatedAt: T0 + 1,
      });
      assert.equal(updated?.name, 'Renamed');
      assert.deepEqual(updated?.redirectUris, ['http://127.0.0.1/other']);
      assert.equal(updated?.requirePkce, false);
      assert.equal(updated?.secretHash, 'h');
      assert.equal(updated?.updatedAt, T0 + 1);
      assert.equal(updated?.createdAt, T0);
      assert.equal(await s.clients.update('no-such-client', { name: 'x' }), undefined);

      assert.equal(await s.clients.delete(c.clientId), true);
      assert.equal(await s.clients.delete(c.clientId), false);
      assert.equal(await s.clients.get(c.clientId), undefined);
    });

    test('clients: a dynamic registration and its registration access token hash, kept and cleared', async () => {
      const c = client({ registration: 'dynamic', registrationTokenHash: 'rat-hash-1', consent: 'required' });
      await s.clients.create(c);
      assert.deepEqual(await s.clients.get(c.clientId), c);
      const rotated = await s.clients.update(c.clientId, {
        registrationTokenHash: 'rat-hash-2',
        updatedAt: T0 + 5,
      });
      assert.equal(rotated?.registrationTokenHash, 'rat-hash-2');
      assert.equal(rotated?.registration, 'dynamic');
      const cleared = await s.clients.update(c.clientId, { registrationTokenHash: null });
      assert.equal(cleared?.registrationTokenHash, undefined);
      assert.equal('registrationTokenHash' in (cleared ?? {}), false);
      const admin = client();
      await s.clients.create(admin);
      assert.equal('registration' in ((await s.clients.get(admin.clientId)) ?? {}), false);
      await s.clients.delete(c.clientId);
      await s.clients.delete(admin.clientId);
    });

    test('clients: the registration access token hash is replaced only while it is current (one of two races)', async () => {
      const c = client({ registration: 'dynamic', registrationTokenHash: 'rat-a', consent: 'required' });
      await s.clients.create(c);
      const [x, y] = await Promise.all([
        s.clients.replaceRegistrationTokenHash(c.clientId, 'rat-a', 'rat-x', 5),
        s.clients.replaceRegistrationTokenHash(c.clientId, 'rat-a', 'rat-y', 5),
      ]);
      assert.equal(Number(x) + Number(y), 1, 'exactly one rotation');
      assert.equal((await s.clients.get(c.clientId))?.registrationTokenHash, x ? 'rat-x' : 'rat-y');
      assert.equal(await s.clients.replaceRegistrationTokenHash(c.clientId, 'rat-a', 'rat-z', 6), false);
      assert.equal(await s.clients.replaceRegistrationTokenHash('nobody', 'rat-a', 'rat-z', 6), false);
    });

    test('registration tokens: uses counted atomically up to the limit, expiry, revocation, newest first', async () => {
      const t = {
        id: id('iat'),
        tokenHash: id('hash'),
        createdAt: T0,
        expiresAt: T0 + 3600_000,
        maxUses: 3,
        uses: 0,
        revokedAt: null,
      };
      await s.registrationTokens.create(t);
      await assert.rejects(s.registrationTokens.create({ ...t, id: id('iat') }), DuplicateError);
      // Ten at once for three uses: exactly three win.
      const uses = await Promise.all(
        Array.from({ length: 10 }, () => s.registrationTokens.use(t.tokenHash, T0 + 1)),
      );
      const won = uses.filter((u) => u !== undefined);
      assert.equal(won.length, 3);
      assert.deepEqual(won.map((u) => u!.uses).sort(), [1, 2, 3]);
      assert.equal(await s.registrationTokens.use(t.tokenHash, T0 + 2), undefined);
      assert.equal(await s.registrationTokens.use('no-such-hash', T0 + 2), undefined);

      const later = { ...t, id: id('iat'), tokenHash: id('hash'), createdAt: T0 + 10, maxUses: 5 };
      await s.registrationTokens.create(later);
      assert.equal(
        await s.registrationTokens.use(later.tokenHash, later.expiresAt),
        undefined,
        'expired at its time',
      );
      assert.equal((await s.registrationTokens.use(later.tokenHash, later.expiresAt - 1))?.uses, 1);
      assert.equal(await s.registrationTokens.revoke(later.id, T0 + 20), true);
      assert.equal(await s.registrationTokens.revoke(later.id, T0 + 21), false);
      assert.equal(await s.registrationTokens.use(later.tokenHash, T0 + 22), undefined, 'revoked');
      const listed = (await s.registrationTokens.list()).filter((x) => x.id === t.id || x.id === later.id);
      assert.deepEqual(
        listed.map((x) => [x.id, x.uses, x.revokedAt]),
        [
          [later.id, 1, T0 + 20],
          [t.id, 3, null],
        ],
      );
      assert.equal(typeof listed[0]!.expiresAt, 'number');
    });

    test('mail outbox: one claim wins, the lease, ends only by its holder, bodies emptied when done', async () => {
      const m = {
        id: id('mail'),
        to: 'zoe@example.com',
        toName: 'Zoë',
        subject: 'Hello',
        text: 'text with a link',
        html: '<p>html</p>',
        createdAt: T0,
      };
      await s.outbox.add(m);
      await assert.rejects(s.outbox.add(m), DuplicateError);
      const stored = await s.outbox.get(m.id);
      assert.deepEqual(stored, {
        ...m,
        attempts: 0,
        nextAttemptAt: T0,
        claimedBy: null,
        claimedUntil: null,
        sentAt: null,
        failedAt: null,
        lastError: null,
        purgeAfter: null,
      });
      assert.equal(typeof stored!.createdAt, 'number');
      assert.ok(!(await s.outbox.due(T0 - 1, 1000)).includes(m.id), 'not due before its time');
      assert.ok((await s.outbox.due(T0, 1000)).includes(m.id));
      // Ten claims at once: exactly one wins, and it counts one attempt.
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) => s.outbox.claim(m.id, `owner-${i}`, T0, T0 + 60_000)),
      );
      const won = claims.filter((c) => c !== undefined);
      assert.equal(won.length, 1);
      const owner = won[0]!.claimedBy!;
      assert.equal(won[0]!.attempts, 1);
      assert.equal(won[0]!.claimedUntil, T0 + 60_000);
      assert.ok(!(await s.outbox.due(T0 + 1, 1000)).includes(m.id), 'claimed: not due');
      assert.equal(await s.outbox.claim(m.id, 'other', T0 + 59_999, T0 + 120_000), undefined, 'lease live');
      // Only the holder ends a claim.
      assert.equal(await s.outbox.retry(m.id, 'other', 'E', T0 + 30_000), false);
      assert.equal(await s.outbox.retry(m.id, owner, 'ECONNECTION', T0 + 30_000), true);
      let row = await s.outbox.get(m.id);
      assert.deepEqual(
        [row?.claimedBy, row?.nextAttemptAt, row?.lastError],
        [null, T0 + 30_000, 'ECONNECTION'],
      );
      assert.equal(row?.text, m.text, 'kept while it waits');
      assert.equal(await s.outbox.claim(m.id, 'late', T0 + 29_999, T0 + 90_000), undefined, 'not due yet');
      // A lease that ran out (its holder died) is taken over, and the old holder can end nothing.
      const a = await s.outbox.claim(m.id, 'a', T0 + 30_000, T0 + 40_000);
      assert.equal(a?.attempts, 2);
      const b = await s.outbox.claim(m.id, 'b', T0 + 40_000, T0 + 100_000);
      assert.equal(b?.attempts, 3);
      assert.equal(await s.outbox.sent(m.id, 'a', T0 + 41_000, T0 + 86_400_000), false);
      assert.equal(await s.outbox.sent(m.id, 'b', T0 + 41_000, T0 + 86_400_000), true);
      row = await s.outbox.get(m.id);
      assert.deepEqual(
        [row?.sentAt, row?.purgeAfter, row?.text, row?.html, row?.claimedBy],
        [T0 + 41_000, T0 + 86_400_000, '', '', null],
      );
      assert.equal(
        await s.outbox.claim(m.id, 'c', T0 + 500_000, T0 + 600_000),
        undefined,
        'sent: never again',
      );
      assert.equal(await s.outbox.sent(m.id, 'b', T0 + 42_000, T0 + 1), false, 'sent once');

      const f = { ...m, id: id('mail'), toName: null };
      await s.outbox.add(f);
      assert.ok(await s.outbox.claim(f.id, 'o', T0, T0 + 1000));
      assert.equal(await s.outbox.failed(f.id, 'o', 'EENVELOPE 550', T0 + 1, T0 + 2), true);
      row = await s.outbox.get(f.id);
      assert.deepEqual(
        [row?.failedAt, row?.lastError, row?.text, row?.toName, row?.purgeAfter],
        [T0 + 1, 'EENVELOPE 550', '', null, T0 + 2],
      );
      assert.ok(!(await s.outbox.due(T0 + 1e9, 1000)).includes(f.id), 'failed: never due');
      assert.equal(await s.outbox.get('no-such-mail'), undefined);
    });

    test('apis: create, get, list oldest first, update, delete; duplicate identifier → DuplicateError', async () => {
      const identifier = `https://api.example.com/${randomToken(6)}`;
      const api = {
        identifier,
        name: 'Orders API',
        scopes: [
          { value: 'orders:read', description: 'Read your orders' },
          { value: 'orders:write', description: 'Place orders "for you" — ünïcode' },
        ],
        accessTokenTtl: null,
        tokenAlg: null,
        allowDynamicClients: false,
        createdAt: T0,
        updatedAt: T0,
      };
      await s.apis.create(api);
      assert.deepEqual(await s.apis.get(identifier), api);
      await assert.rejects(s.apis.create({ ...api, name: 'again' }), DuplicateError);
      const later = {
        ...api,
        identifier: `urn:example:${randomToken(6)}`,
        createdAt: T0 + 1,
        updatedAt: T0 + 1,
      };
      await s.apis.create(later);
      const listed = (await s.apis.list()).map((a) => a.identifier);
      assert.ok(listed.indexOf(identifier) < listed.indexOf(later.identifier));
      const changed = await s.apis.update(identifier, {
        name: 'Orders',
        scopes: [{ value: 'orders:read', description: 'Read' }],
        accessTokenTtl: 600,
        tokenAlg: 'ES256',
        allowDynamicClients: true,
        updatedAt: T0 + 5,
      });
      assert.deepEqual(changed, {
        ...api,
        name: 'Orders',
        scopes: [{ value: 'orders:read', description: 'Read' }],
        accessTokenTtl: 600,
        tokenAlg: 'ES256',
        allowDynamicClients: true,
        updatedAt: T0 + 5,
      });
      // null goes back to the server's setting.
      assert.equal(
        (await s.apis.update(identifier, { accessTokenTtl: null, tokenAlg: null }))?.accessTokenTtl,
        null,
      );
      assert.equal((await s.apis.get(identifier))?.tokenAlg, null);
      assert.equal(await s.apis.update('https://nowhere.example', { name: 'x' }), undefined);
      assert.equal(await s.apis.delete(identifier), true);
      assert.equal(await s.apis.delete(identifier), false);
      assert.equal(await s.apis.get(identifier), undefined);
      await s.apis.delete(later.identifier);
    });

    test('users: create, lookups, duplicate username → DuplicateError, password and disabled', async () => {
      const u = user({ email: 'a@example.com' });
      await s.users.create(u);
      assert.deepEqual(await s.users.getById(u.id), u);
      assert.deepEqual(await s.users.getByUsername(u.username), u);
      assert.equal(await s.users.getByUsername(`${u.username}-nope`), undefined);
      await assert.rejects(s.users.create(user({ username: u.username })), (err: unknown) => {
        assert.ok(err instanceof DuplicateError);
        assert.match(err.message, /taken/);
        return true;
      });
      assert.ok((await s.users.list()).some((x) => x.id === u.id));

      assert.equal(await s.users.setPasswordHash(u.id, 'new-hash', T0 + 5), true);
      assert.equal(await s.users.setDisabled(u.id, true, T0 + 6), true);
      const after = await s.users.getById(u.id);
      assert.equal(after?.passwordHash, 'new-hash');
      assert.equal(after?.disabled, true);
      assert.equal(after?.updatedAt, T0 + 6);
      assert.equal(await s.users.setPasswordHash('missing', 'x', T0), false);
      assert.equal(await s.users.setDisabled('missing', true, T0), false);
    });

    test('sessions: create, get, touch, end once, endAllForUser', async () => {
      const userId = id('u');
      const mk = (idHash: string) => ({
        idHash,
        userId,
        authTime: T0,
        createdAt: T0,
        lastSeenAt: T0,
        expiresAt: T0 + 3_600_000,
        endedAt: null,
      });
      const a = mk(id('sa'));
      const b = mk(id('sb'));
      const c = mk(id('sc'));
      for (const x of [a, b, c]) await s.sessions.create(x);
      assert.deepEqual(await s.sessions.get(a.idHash), a);
      assert.equal(await s.sessions.get('missing'), undefined);

      await s.sessions.touch(a.idHash, T0 + 10);
      assert.equal((await s.sessions.get(a.idHash))?.lastSeenAt, T0 + 10);

      await s.sessions.end(a.idHash, T0 + 20);
      await s.sessions.end(a.idHash, T0 + 30); // ending again keeps the first time
      assert.equal((await s.sessions.get(a.idHash))?.endedAt, T0 + 20);

      assert.equal(await s.sessions.endAllForUser(userId, T0 + 40), 2);
      assert.equal((await s.sessions.get(b.idHash))?.endedAt, T0 + 40);
      assert.equal((await s.sessions.get(c.idHash))?.endedAt, T0 + 40);
      assert.equal(await s.sessions.endAllForUser(userId, T0 + 50), 0);
    });

    test('sessions: getWithUser reads the session and its user in one go', async () => {
      const u = user({ isAdmin: true });
      await s.users.create(u);
      const session = {
        idHash: id('sw'),
        userId: u.id,
        authTime: T0,
        createdAt: T0,
        lastSeenAt: T0,
        expiresAt: T0 + 3_600_000,
        endedAt: null,
      };
      await s.sessions.create(session);
      assert.deepEqual(await s.sessions.getWithUser(session.idHash), { session, user: u });
      assert.equal(await s.sessions.getWithUser('missing'), undefined);
      await s.users.setDisabled(u.id, true, T0 + 1);
      assert.equal((await s.sessions.getWithUser(session.idHash))?.user.disabled, true, 'callers refuse it');
      // A session whose user is gone is no session.
      const orphan = { ...session, idHash: id('so'), userId: 'no-such-user' };
      await s.sessions.create(orphan).catch(() => {}); // refused by a foreign key on some back ends
      assert.equal(await s.sessions.getWithUser(orphan.idHash), undefined);
    });

    test('interactions: create, get, setUser, complete exactly once (also under concurrency)', async () => {
      const i = {
        id: id('int'),
        clientId: 'c1',
        request: JSON.stringify({ scope: 'openid' }),
        csrf: 'csrf',
        userId: null,
        sessionHash: null,
        authTime: null,
        createdAt: T0,
        expiresAt: T0 + 900_000,
        completedAt: null,
      };
      await s.interactions.create(i);
      assert.deepEqual(await s.interactions.get(i.id), i);
      assert.equal(await s.interactions.get('missing'), undefined);

      await s.interactions.setUser(i.id, 'u1', 'sess-hash', T0 + 1);
      const withUser = await s.interactions.get(i.id);
      assert.equal(withUser?.userId, 'u1');
      assert.equal(withUser?.sessionHash, 'sess-hash');
      assert.equal(withUser?.authTime, T0 + 1);

      assert.equal(await s.interactions.complete(i.id, T0 + 2), true);
      assert.equal(await s.interactions.complete(i.id, T0 + 3), false);
      assert.equal((await s.interactions.get(i.id))?.completedAt, T0 + 2);
      assert.equal(await s.interactions.complete('missing', T0), false);

      const j = { ...i, id: id('int') };
      await s.interactions.create(j);
      const results = await Promise.all(
        Array.from({ length: 25 }, () => s.interactions.complete(j.id, T0 + 9)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('grants: issueCode then consumeCode: consumed → already-consumed → unknown', async () => {
      const g = grant();
      const c = code(g.id);
      await s.grants.issueCode(g, c);
      assert.deepEqual(await s.grants.getGrant(g.id), g);

      const first = await s.grants.consumeCode(c.hash, T0 + 5);
      assert.equal(first.status, 'consumed');
      assert.ok(first.status === 'consumed');
      assert.deepEqual(first.code, { ...c, consumedAt: T0 + 5 });
      assert.deepEqual(first.grant, g);

      const second = await s.grants.consumeCode(c.hash, T0 + 6);
      assert.equal(second.status, 'already-consumed');
      assert.ok(second.status === 'already-consumed');
      assert.equal(second.code.grantId, g.id);
      assert.equal(second.code.consumedAt, T0 + 5);

      assert.deepEqual(await s.grants.consumeCode('no-such-code', T0), { status: 'unknown' });
    });

    test('grants: issueCode writes grant and code together (a duplicate code leaves no grant)', async () => {
      const g1 = grant();
      const c1 = code(g1.id);
      await s.grants.issueCode(g1, c1);
      const g2 = grant();
      // Same code hash: the write fails as a whole, so there is no grant without its code.
      await assert.rejects(s.grants.issueCode(g2, { ...c1, grantId: g2.id }));
      assert.equal(await s.grants.getGrant(g2.id), undefined);
      // A code must belong to the grant it is written with.
      const g3 = grant();
      await assert.rejects(s.grants.issueCode(g3, code(g1.id)), /belong/);
      assert.equal(await s.grants.getGrant(g3.id), undefined);
    });

    test('grants: a code in the table used before migration 0005 is still redeemed once', {
      skip: sqlOnly,
    }, async () => {
      const g = grant();
      await s.grants.createGrant(g);
      const c = code(g.id);
      await databaseForTests(sqlOf(s))
        .insertInto('codes')
        .values({
          hash: c.hash,
          grant_id: g.id,
          client_id: c.clientId,
          redirect_uri: c.redirectUri,
          code_challenge: c.codeChallenge,
          expires_at: c.expiresAt,
          consumed_at: null,
        })
        .execute();
      const first = await s.grants.consumeCode(c.hash, T0 + 5);
      assert.ok(first.status === 'consumed');
      assert.deepEqual(first.code, { ...c, consumedAt: T0 + 5 });
      assert.deepEqual(first.grant, g);
      const second = await s.grants.consumeCode(c.hash, T0 + 6);
      assert.ok(second.status === 'already-consumed');
      assert.equal(second.code.consumedAt, T0 + 5);
    });

    test('grants: 50 concurrent consumeCode of one code → exactly one consumed', async () => {
      const g = grant();
      const c = code(g.id);
      await s.grants.issueCode(g, c);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, n) => s.grants.consumeCode(c.hash, T0 + n)),
      );
      const consumed = results.filter((r) => r.status === 'consumed');
      assert.equal(consumed.length, 1);
      assert.equal(results.filter((r) => r.status === 'already-consumed').length, 49);
      const won = consumed[0];
      assert.ok(won?.status === 'consumed');
      for (const r of results) {
        if (r.status === 'already-consumed') assert.equal(r.code.consumedAt, won.code.consumedAt);
      }
    });

    test('grants: revokeGrant makes its access tokens revoked; revokeAllForUser counts', async () => {
      const userId = id('u');
      const g = grant({ userId });
      const other = grant({ userId });
      await s.grants.createGrant(g);
      await s.grants.createGrant(other);
      const at = {
        jti: `${g.id}.${id('r')}`,
        grantId: g.id,
        clientId: 'c1',
        sub: userId,
        scope: 'openid',
        expiresAt: T0 + 3_600_000,
      };
      // Nothing is written when an access token is issued: its state is its grant's.
      assert.equal(await s.accessTokens.isRevoked(at.jti, g.id), false);
      assert.equal(await s.accessTokens.isRevoked(`missing.${id('r')}`, 'no-such-grant'), true, 'grant gone');

      await s.grants.revokeGrant(g.id, T0 + 7);
      assert.equal((await s.grants.getGrant(g.id))?.revokedAt, T0 + 7);
      assert.equal(await s.accessTokens.isRevoked(at.jti, g.id), true);
      await s.grants.revokeGrant(g.id, T0 + 8);
      assert.equal((await s.grants.getGrant(g.id))?.revokedAt, T0 + 7, 'first revocation time kept');

      // One token of a live grant is revoked on its own (RFC 7009), the grant's others are not.
      const sibling = { ...at, jti: `${other.id}.${id('r')}`, grantId: other.id };
      await s.accessTokens.revoke(sibling, T0 + 8);
      await s.accessTokens.revoke(sibling, T0 + 9);
      assert.equal(await s.accessTokens.isRevoked(sibling.jti, other.id), true);
      assert.equal(await s.accessTokens.isRevoked(`${other.id}.${id('r')}`, other.id), false);

      // A token without a grant (client_credentials) is revoked on its own.
      const standalone = { ...at, jti: id('jti'), grantId: null };
      assert.equal(await s.accessTokens.isRevoked(standalone.jti, null), false);
      await s.accessTokens.revoke(standalone, T0 + 9);
      assert.equal(await s.accessTokens.isRevoked(standalone.jti, null), true);

      assert.equal(await s.grants.revokeAllForUser(userId, T0 + 10), 1, 'only the one not yet revoked');
      assert.equal((await s.grants.getGrant(other.id))?.revokedAt, T0 + 10);
      assert.equal(await s.grants.revokeAllForUser(userId, T0 + 11), 0);
    });

    test('access tokens (rows as stored): revoking twice keeps the first time; rows written before migration 0005 name their own grant', {
      skip: sqlOnly,
    }, async () => {
      const db = databaseForTests(sqlOf(s));
      const userId = id('u');
      const revoked = grant({ userId });
      const live = grant({ userId });
      await s.grants.createGrant(revoked);
      await s.grants.createGrant(live);
      await s.grants.revokeGrant(revoked.id, T0 + 7);
      const token = {
        jti: `${live.id}.${id('r')}`,
        grantId: live.id,
        clientId: 'c1',
        sub: userId,
        scope: 'openid',
        expiresAt: T0 + 3_600_000,
      };
      await s.accessTokens.revoke(token, T0 + 8);
      await s.accessTokens.revoke(token, T0 + 9);
      const row = await db
        .selectFrom('access_tokens')
        .selectAll()
        .where('jti', '=', token.jti)
        .executeTakeFirst();
      assert.equal(row?.revoked_at, T0 + 8, 'revoking twice keeps the first time');

      // Rows written before migration 0005 (one per issued token) name their own grant.
      const legacy = (grantId: string) => ({
        jti: id('legacy'),
        grant_id: grantId,
        client_id: 'c1',
        sub: userId,
        scope: 'openid',
        expires_at: T0 + 1,
        revoked_at: null,
      });
      const ofRevoked = legacy(revoked.id);
      const ofLive = legacy(live.id);
      await db.insertInto('access_tokens').values([ofRevoked, ofLive]).execute();
      assert.equal(await s.accessTokens.isRevoked(ofRevoked.jti, null), true, 'its grant was revoked');
      assert.equal(await s.accessTokens.isRevoked(ofLive.jti, null), false, 'its grant is live');
    });

    test('refresh tokens: insert, get, consume once (rotated → already-rotated → unknown), successor, touch', async () => {
      const t = {
        hash: id('rt'),
        grantId: id('grant'),
        clientId: 'c1',
        userId: 'u1',
        scope: 'openid offline_access',
        createdAt: T0,
        expiresAt: T0 + 86_400_000,
        idleExpiresAt: T0 + 3_600_000,
        consumedAt: null,
        successor: null,
        graceUntil: null,
      };
      await s.refreshTokens.insert(t);
      assert.deepEqual(await s.refreshTokens.get(t.hash), t);
      assert.equal(await s.refreshTokens.get('missing'), undefined);

      await s.refreshTokens.touch(t.hash, T0 + 7_200_000);
      assert.equal((await s.refreshTokens.get(t.hash))?.idleExpiresAt, T0 + 7_200_000);

      const first = await s.refreshTokens.consume(t.hash, T0 + 1);
      assert.equal(first.status, 'rotated');
      assert.ok(first.status === 'rotated');
      assert.equal(first.token.consumedAt, T0 + 1);
      const again = await s.refreshTokens.consume(t.hash, T0 + 2);
      assert.equal(again.status, 'already-rotated');
      assert.ok(again.status === 'already-rotated');
      assert.equal(again.token.consumedAt, T0 + 1);
      assert.deepEqual(await s.refreshTokens.consume('missing', T0), { status: 'unknown' });

      await s.refreshTokens.saveSuccessor(t.hash, 'sealed-response', T0 + 60_000);
      const kept = await s.refreshTokens.get(t.hash);
      assert.equal(kept?.successor, 'sealed-response');
      assert.equal(kept?.graceUntil, T0 + 60_000);

      const raced = { ...t, hash: id('rt') };
      await s.refreshTokens.insert(raced);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, n) => s.refreshTokens.consume(raced.hash, T0 + n)),
      );
      assert.equal(results.filter((r) => r.status === 'rotated').length, 1);
      assert.equal(results.filter((r) => r.status === 'already-rotated').length, 39);
    });

    test('pushed requests: consumed once, only by their client, only before expiry (also concurrently)', async () => {
      const uri = id('par');
      const params = { response_type: 'code', scope: 'openid', state: 'ü&=x' };
      await s.pushedRequests.save({
        uriHash: uri,
        clientId: 'a',
        params,
        createdAt: T0,
        expiresAt: T0 + 60_000,
      });
      assert.equal(await s.pushedRequests.consume(uri, 'b', T0 + 1), undefined, "another client's");
      const results = await Promise.all(
        Array.from({ length: 20 }, () => s.pushedRequests.consume(uri, 'a', T0 + 2)),
      );
      const won = results.filter((r) => r !== undefined);
      assert.equal(won.length, 1, 'exactly one use');
      assert.deepEqual(won[0], params);
      const late = id('par');
      await s.pushedRequests.save({
        uriHash: late,
        clientId: 'a',
        params,
        createdAt: T0,
        expiresAt: T0 + 60_000,
      });
      assert.equal(await s.pushedRequests.consume(late, 'a', T0 + 60_000), undefined, 'expired');
      await assert.rejects(
        s.pushedRequests.save({ uriHash: late, clientId: 'a', params, createdAt: T0, expiresAt: T0 + 1 }),
        'the same request_uri twice',
      );
    });

    test('device codes: created once per hash and user code; approved or denied once, before expiry', async () => {
      const dc = (over: Partial<DeviceCode> = {}): DeviceCode => ({
        hash: id('dc'),
        userCodeHash: id('uc'),
        clientId: 'c1',
        scope: 'openid offline_access',
        interval: 5,
        createdAt: T0,
        expiresAt: T0 + 600_000,
        lastPolledAt: null,
        status: 'pending',
        grantId: null,
        consumedAt: null,
        ...over,
      });
      const a = dc();
      await s.deviceCodes.create(a);
      assert.deepEqual(await s.deviceCodes.get(a.hash), a);
      assert.deepEqual(await s.deviceCodes.getByUserCode(a.userCodeHash), a);
      assert.equal(await s.deviceCodes.get(id('dc')), undefined);
      // RFC 8707: the APIs asked for come back in order; none stored is no `resources` at all.
      const withApis = dc({ resources: ['https://api.b.example', 'https://api.a.example'] });
      await s.deviceCodes.create(withApis);
      assert.deepEqual(await s.deviceCodes.getByUserCode(withApis.userCodeHash), withApis);
      assert.equal(await s.deviceCodes.approve(withApis.userCodeHash, 'g-apis', T0 + 1), true);
      assert.deepEqual((await s.deviceCodes.consume(withApis.hash, T0 + 2))?.resources, withApis.resources);
      assert.equal('resources' in ((await s.deviceCodes.get(a.hash)) ?? {}), false);
      await assert.rejects(s.deviceCodes.create(dc({ hash: a.hash })), DuplicateError);
      await assert.rejects(s.deviceCodes.create(dc({ userCodeHash: a.userCodeHash })), DuplicateError);
      // Approve and deny race: exactly one decision.
      const decisions = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          i % 2 === 0
            ? s.deviceCodes.approve(a.userCodeHash, `g-${i}`, T0 + 1)
            : s.deviceCodes.deny(a.userCodeHash, T0 + 1),
        ),
      );
      assert.equal(decisions.filter(Boolean).length, 1, 'one decision');
      const decided = await s.deviceCodes.get(a.hash);
      assert.notEqual(decided?.status, 'pending');
      assert.equal(decided?.grantId !== null, decided?.status === 'approved');
      const late = dc();
      await s.deviceCodes.create(late);
      assert.equal(await s.deviceCodes.approve(late.userCodeHash, 'g', T0 + 600_000), false, 'expired');
      assert.equal(await s.deviceCodes.deny(late.userCodeHash, T0 + 600_000), false, 'expired');
      assert.equal((await s.deviceCodes.get(late.hash))?.status, 'pending');
      assert.equal(await s.deviceCodes.approve(id('uc'), 'g', T0), false, 'unknown');
      const denied = dc();
      await s.deviceCodes.create(denied);
      assert.equal(await s.deviceCodes.deny(denied.userCodeHash, T0 + 1), true);
      assert.equal(await s.deviceCodes.approve(denied.userCodeHash, 'g', T0 + 2), false, 'denied stays');
      assert.equal(
        await s.deviceCodes.consume(denied.hash, T0 + 3),
        undefined,
        'a denied code gives nothing',
      );
    });

    test('device codes: polls counted at the interval (once under a race), slow_down, consumed once', async () => {
      const c: DeviceCode = {
        hash: id('dc'),
        userCodeHash: id('uc'),
        clientId: 'c1',
        scope: 'openid',
        interval: 5,
        createdAt: T0,
        expiresAt: T0 + 600_000,
        lastPolledAt: null,
        status: 'pending',
        grantId: null,
        consumedAt: null,
      };
      await s.deviceCodes.create(c);
      const first = await Promise.all(
        Array.from({ length: 10 }, () => s.deviceCodes.poll(c.hash, T0 + 1000)),
      );
      assert.equal(first.filter(Boolean).length, 1, 'one poll counted');
      assert.equal(await s.deviceCodes.poll(c.hash, T0 + 5999), false, 'too soon');
      assert.equal(await s.deviceCodes.poll(c.hash, T0 + 6000), true, 'at the interval');
      await s.deviceCodes.slowDown(c.hash, 5, T0 + 7000);
      const slowed = await s.deviceCodes.get(c.hash);
      assert.equal(slowed?.interval, 10);
      assert.equal(slowed?.lastPolledAt, T0 + 7000);
      assert.equal(await s.deviceCodes.poll(c.hash, T0 + 16_999), false, 'the raised interval holds');
      assert.equal(await s.deviceCodes.poll(c.hash, T0 + 17_000), true);
      assert.equal(await s.deviceCodes.poll(id('dc'), T0), false, 'unknown');
      assert.equal(await s.deviceCodes.consume(c.hash, T0 + 18_000), undefined, 'pending: nothing to take');
      assert.equal(await s.deviceCodes.approve(c.userCodeHash, 'grant-1', T0 + 18_000), true);
      const taken = await Promise.all(
        Array.from({ length: 20 }, () => s.deviceCodes.consume(c.hash, T0 + 19_000)),
      );
      const won = taken.filter((t) => t !== undefined);
      assert.equal(won.length, 1, 'exactly one consume');
      assert.equal(won[0]?.grantId, 'grant-1');
      assert.equal(won[0]?.consumedAt, T0 + 19_000);
      assert.equal(await s.deviceCodes.consume(c.hash, T0 + 20_000), undefined, 'used');
    });

    test('replays: the first use of a key wins, also concurrently; an expired use can be taken over', async () => {
      const k = id('jti');
      const results = await Promise.all(Array.from({ length: 20 }, () => s.replays.use(k, T0 + 1000, T0)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await s.replays.use(k, T0 + 5000, T0 + 999), false, 'still live');
      assert.equal(await s.replays.use(k, T0 + 5000, T0 + 1000), true, 'expired: used again');
      assert.equal(await s.replays.use(k, T0 + 9000, T0 + 2000), false, 'the new use holds');
    });

    test('factors: passkeys by credential id, counters only move forward, once under a race', async () => {
      const userId = id('u');
      const pk = {
        id: id('pk'),
        userId,
        credentialId: id('cred'),
        publicKey: 'pQECAyYgASFYIA',
        counter: 5,
        transports: ['internal', 'hybrid'],
        backupEligible: true,
        backedUp: false,
        aaguid: '00000000-0000-0000-0000-000000000000',
        name: 'Laptop',
        createdAt: T0,
        lastUsedAt: null,
      };
      await s.factors.addPasskey(pk);
      await assert.rejects(
        s.factors.addPasskey({ ...pk, id: id('pk') }),
        DuplicateError,
        'one credential id once',
      );
      assert.deepEqual(await s.factors.passkeyByCredentialId(pk.credentialId), pk);
      assert.deepEqual(await s.factors.passkeysOf(userId), [pk]);
      assert.equal(
        await s.factors.usePasskey(pk.id, { counter: 5, backedUp: true, at: T0 + 1 }),
        false,
        'same',
      );
      assert.equal(
        await s.factors.usePasskey(pk.id, { counter: 4, backedUp: true, at: T0 + 1 }),
        false,
        'back',
      );
      const race = await Promise.all(
        Array.from({ length: 10 }, () =>
          s.factors.usePasskey(pk.id, { counter: 6, backedUp: true, at: T0 + 2 }),
        ),
      );
      assert.equal(race.filter(Boolean).length, 1, 'one assertion with counter 6');
      const used = await s.factors.passkeyByCredentialId(pk.credentialId);
      assert.equal(used?.counter, 6);
      assert.equal(used?.backedUp, true);
      assert.equal(used?.lastUsedAt, T0 + 2);
      // An authenticator without a counter (0 every time) is accepted every time.
      const zero = { ...pk, id: id('pk'), credentialId: id('cred'), counter: 0 };
      await s.factors.addPasskey(zero);
      assert.equal(await s.factors.usePasskey(zero.id, { counter: 0, backedUp: true, at: T0 + 3 }), true);
      assert.equal(await s.factors.usePasskey(zero.id, { counter: 0, backedUp: true, at: T0 + 4 }), true);
      assert.deepEqual(await s.factors.summary(userId), { passkeys: 2, totp: false, recoveryCodesLeft: 0 });
      assert.equal(await s.factors.renamePasskey('someone-else', pk.id, 'x'), false, "another's");
      assert.equal(await s.factors.renamePasskey(userId, pk.id, 'Work laptop'), true);
      assert.equal((await s.factors.passkeysOf(userId)).find((p) => p.id === pk.id)?.name, 'Work laptop');
      assert.equal(await s.factors.removePasskey('someone-else', pk.id), false);
      assert.equal(await s.factors.removePasskey(userId, pk.id), true);
      assert.deepEqual(
        (await s.factors.passkeysOf(userId)).map((p) => p.id),
        [zero.id],
      );
    });

    test('factors: a TOTP step is accepted once (also under a race) and confirms the factor', async () => {
      const userId = id('u');
      const t = {
        id: id('totp'),
        userId,
        secretSealed: 'sealed',
        name: 'Phone',
        createdAt: T0,
        confirmedAt: null,
        lastUsedAt: null,
        lastStep: 0,
      };
      await s.factors.addTotp(t);
      const again = { ...t, id: id('totp'), createdAt: T0 + 1 };
      await s.factors.addTotp(again);
      assert.deepEqual(
        (await s.factors.totpOf(userId)).map((x) => x.id),
        [again.id],
        'a new enrolment drops the unconfirmed one',
      );
      const race = await Promise.all(
        Array.from({ length: 10 }, () => s.factors.useTotpStep(again.id, 100, T0 + 5)),
      );
      assert.equal(race.filter(Boolean).length, 1);
      assert.equal(await s.factors.useTotpStep(again.id, 99, T0 + 6), false, 'an earlier step');
      const [confirmed] = await s.factors.totpOf(userId);
      assert.equal(confirmed?.confirmedAt, T0 + 5);
      assert.equal(confirmed?.lastStep, 100);
      assert.equal(await s.factors.useTotpStep(again.id, 101, T0 + 7), true);
      assert.equal((await s.factors.totpOf(userId))[0]?.confirmedAt, T0 + 5, 'confirmed once');
      await s.factors.addTotp({ ...t, id: id('totp'), createdAt: T0 + 8 });
      assert.equal((await s.factors.totpOf(userId)).length, 2, 'a confirmed factor stays');
      assert.deepEqual(await s.factors.summary(userId), { passkeys: 0, totp: true, recoveryCodesLeft: 0 });
      assert.equal(await s.factors.removeTotp('someone-else', again.id), false);
      assert.equal(await s.factors.removeTotp(userId, again.id), true);
    });

    test('factors: recovery codes are replaced as a set and each is used once', async () => {
      const userId = id('u');
      assert.equal(await s.factors.recoveryCodesOf(userId), undefined);
      const hashes = Array.from({ length: 10 }, () => id('h'));
      await s.factors.replaceRecoveryCodes(userId, 'set-1', hashes, T0);
      assert.deepEqual(await s.factors.recoveryCodesOf(userId), {
        id: 'set-1',
        userId,
        total: 10,
        left: 10,
        createdAt: T0,
        lastUsedAt: null,
      });
      const race = await Promise.all(
        Array.from({ length: 10 }, () => s.factors.useRecoveryCode(userId, hashes[0] as string, T0 + 1)),
      );
      assert.equal(race.filter(Boolean).length, 1);
      assert.equal(await s.factors.useRecoveryCode('someone-else', hashes[1] as string, T0 + 1), false);
      assert.equal((await s.factors.recoveryCodesOf(userId))?.left, 9);
      assert.equal((await s.factors.recoveryCodesOf(userId))?.lastUsedAt, T0 + 1);
      const fresh = Array.from({ length: 10 }, () => id('h'));
      await s.factors.replaceRecoveryCodes(userId, 'set-2', fresh, T0 + 2);
      assert.equal(
        await s.factors.useRecoveryCode(userId, hashes[2] as string, T0 + 3),
        false,
        'the old set is gone',
      );
      assert.equal((await s.factors.recoveryCodesOf(userId))?.id, 'set-2');
      assert.deepEqual(await s.factors.summary(userId), { passkeys: 0, totp: false, recoveryCodesLeft: 10 });
      assert.equal(await s.factors.removeRecoveryCodes(userId, 'set-2'), true);
      assert.equal(await s.factors.recoveryCodesOf(userId), undefined);
    });

    test('webauthn challenges: used once, for their purpose and binding, before expiry', async () => {
      const c = {
        challenge: id('ch'),
        purpose: 'sign-in' as const,
        binding: 'i-1',
        userId: null,
        expiresAt: T0 + 1000,
      };
      await s.webauthnChallenges.save(c);
      assert.equal(await s.webauthnChallenges.consume(c.challenge, 'register', 'i-1', T0), undefined);
      assert.equal(await s.webauthnChallenges.consume(c.challenge, 'sign-in', 'i-2', T0), undefined);
      const race = await Promise.all(
        Array.from({ length: 10 }, () => s.webauthnChallenges.consume(c.challenge, 'sign-in', 'i-1', T0)),
      );
      assert.deepEqual(
        race.filter((r) => r !== undefined),
        [c],
      );
      const late = { ...c, challenge: id('ch') };
      await s.webauthnChallenges.save(late);
      assert.equal(
        await s.webauthnChallenges.consume(late.challenge, 'sign-in', 'i-1', T0 + 1000),
        undefined,
        'expired',
      );
    });

    test('grants keep the amr and acr of their sign-in', async () => {
      const g = grant({ amr: ['pwd', 'otp', 'mfa'], acr: 'urn:latchkey:acr:mfa' });
      await s.grants.createGrant(g);
      assert.deepEqual(await s.grants.getGrant(g.id), g);
      const plain = grant();
      await s.grants.createGrant(plain);
      const back = await s.grants.getGrant(plain.id);
      assert.equal(back?.amr, undefined);
      assert.equal(back?.acr, undefined);
    });

    test('sessions and interactions keep what the person did to sign in', async () => {
      const u = user();
      await s.users.create(u);
      const idHash = id('sess');
      await s.sessions.create({
        idHash,
        userId: u.id,
        authTime: T0,
        createdAt: T0,
        lastSeenAt: T0,
        expiresAt: T0 + 3_600_000,
        endedAt: null,
        authMethods: { pwd: T0 },
      });
      assert.deepEqual((await s.sessions.get(idHash))?.authMethods, { pwd: T0 });
      await s.sessions.setAuthMethods(idHash, { pwd: T0, otp: T0 + 5 }, T0 + 5);
      const got = await s.sessions.getWithUser(idHash);
      assert.deepEqual(got?.session.authMethods, { pwd: T0, otp: T0 + 5 });
      assert.equal(got?.session.authTime, T0 + 5);
      assert.deepEqual(
        (await s.sessions.listForUser(u.id, T0 + 10)).map((x) => x.idHash),
        [idHash],
      );
      assert.deepEqual(await s.sessions.listForUser(u.id, T0 + 3_600_000), [], 'expired');
      assert.equal(await s.users.setMfaEnrolRequired(u.id, true, T0 + 1), true);
      assert.equal((await s.users.getById(u.id))?.mfaEnrolRequired, true);
      assert.equal((await s.sessions.getWithUser(idHash))?.user.mfaEnrolRequired, true);
      await s.users.setMfaEnrolRequired(u.id, false, T0 + 2);
      assert.equal((await s.users.getById(u.id))?.mfaEnrolRequired, undefined);

      const iid = id('int');
      await s.interactions.create({
        id: iid,
        clientId: 'c',
        request: '{}',
        csrf: 'x',
        userId: null,
        sessionHash: null,
        authTime: null,
        createdAt: T0,
        expiresAt: T0 + 600_000,
        completedAt: null,
      });
      await s.interactions.setPartial(iid, u.id, { pwd: T0 + 3 });
      const i = await s.interactions.get(iid);
      assert.equal(i?.userId, u.id);
      assert.equal(i?.sessionHash, null);
      assert.deepEqual(i?.authMethods, { pwd: T0 + 3 });
    });

    test('consents: save remembers the union, also for concurrent saves', async () => {
      const userId = id('u');
      assert.equal(await s.consents.get(userId, 'c1'), undefined);
      await s.consents.save({ userId, clientId: 'c1', scope: 'openid profile', createdAt: T0 });
      await s.consents.save({ userId, clientId: 'c1', scope: 'openid email', createdAt: T0 + 1 });
      const c = await s.consents.get(userId, 'c1');
      assert.deepEqual(new Set(c?.scope.split(' ')), new Set(['openid', 'profile', 'email']));
      assert.equal(c?.createdAt, T0 + 1);
      assert.equal(await s.consents.get(userId, 'c2'), undefined);

      const racer = id('u');
      const scopes = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
      await Promise.all(
        scopes.map((sc) => s.consents.save({ userId: racer, clientId: 'c1', scope: sc, createdAt: T0 })),
      );
      const raced = await s.consents.get(racer, 'c1');
      assert.deepEqual(new Set(raced?.scope.split(' ')), new Set(scopes), 'no concurrent save is lost');
    });

    test("consents: listForUser newest first, only the user's; delete once", async () => {
      const userId = id('u');
      const other = id('u');
      await s.consents.save({ userId, clientId: 'c-old', scope: 'openid', createdAt: T0 });
      await s.consents.save({ userId, clientId: 'c-new', scope: 'openid profile', createdAt: T0 + 5 });
      await s.consents.save({ userId: other, clientId: 'c-old', scope: 'openid', createdAt: T0 + 9 });
      assert.deepEqual(await s.consents.listForUser(userId), [
        { userId, clientId: 'c-new', scope: 'openid profile', createdAt: T0 + 5 },
        { userId, clientId: 'c-old', scope: 'openid', createdAt: T0 },
      ]);
      assert.deepEqual(await s.consents.listForUser(id('nobody')), []);
      assert.equal(await s.consents.delete(userId, 'c-old'), true);
      assert.equal(await s.consents.delete(userId, 'c-old'), false, 'gone already');
      assert.equal(await s.consents.get(userId, 'c-old'), undefined);
      assert.ok(await s.consents.get(other, 'c-old'), "another person's consent stays");
      assert.deepEqual(
        (await s.consents.listForUser(userId)).map((c) => c.clientId),
        ['c-new'],
      );
    });

    test("grants: revokeAllForUserAndClient revokes one person's grants to one client; activeClientsOfUser", async () => {
      const userId = id('u');
      const otherUser = id('u');
      const a1 = grant({ userId, clientId: 'ca', createdAt: T0 });
      const a2 = grant({ userId, clientId: 'ca', createdAt: T0 + 20 });
      const b = grant({ userId, clientId: 'cb', createdAt: T0 + 10 });
      const gone = grant({ userId, clientId: 'cc', createdAt: T0 + 30, revokedAt: T0 + 31 });
      const others = grant({ userId: otherUser, clientId: 'ca', createdAt: T0 });
      for (const g of [a1, a2, b, gone, others]) await s.grants.createGrant(g);
      assert.deepEqual(await s.grants.activeClientsOfUser(userId), [
        { clientId: 'ca', lastGrantAt: T0 + 20 },
        { clientId: 'cb', lastGrantAt: T0 + 10 },
      ]);
      const jti = `${a2.id}.${id('r')}`;
      assert.equal(await s.accessTokens.isRevoked(jti, a2.id), false);

      assert.equal(await s.grants.revokeAllForUserAndClient(userId, 'ca', T0 + 40), 2);
      assert.equal((await s.grants.getGrant(a1.id))?.revokedAt, T0 + 40);
      assert.equal(await s.accessTokens.isRevoked(jti, a2.id), true, 'its access tokens follow');
      assert.equal((await s.grants.getGrant(b.id))?.revokedAt, null, 'another client: untouched');
      assert.equal((await s.grants.getGrant(others.id))?.revokedAt, null, 'another person: untouched');
      assert.equal((await s.grants.getGrant(gone.id))?.revokedAt, T0 + 31, 'first revocation kept');
      assert.equal(await s.grants.revokeAllForUserAndClient(userId, 'ca', T0 + 50), 0);
      assert.deepEqual(await s.grants.activeClientsOfUser(userId), [
        { clientId: 'cb', lastGrantAt: T0 + 10 },
      ]);
      assert.deepEqual(await s.grants.activeClientsOfUser(id('nobody')), []);
    });

    test('sessions keep the IP and User-Agent they were started from (absent when unknown)', async () => {
      const u = user();
      await s.users.create(u);
      const base = {
        userId: u.id,
        authTime: T0,
        createdAt: T0,
        lastSeenAt: T0,
        expiresAt: T0 + 3_600_000,
        endedAt: null,
      };
      const withDevice = {
        ...base,
        idHash: id('sd'),
        ip: '2001:db8::7',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0 — “quoted” ✓',
      };
      const without = { ...base, idHash: id('sn') };
      await s.sessions.create(withDevice);
      await s.sessions.create(without);
      assert.deepEqual(await s.sessions.get(withDevice.idHash), withDevice);
      assert.deepEqual((await s.sessions.getWithUser(withDevice.idHash))?.session, withDevice);
      const plain = await s.sessions.get(without.idHash);
      assert.deepEqual(plain, without);
      assert.equal('ip' in (plain ?? {}), false, 'absent, not null');
      assert.equal('userAgent' in (plain ?? {}), false);
      const listed = await s.sessions.listForUser(u.id, T0 + 1);
      assert.deepEqual(new Set(listed.map((x) => x.ip)), new Set(['2001:db8::7', undefined]));
    });

    test('keys: insertIfGenerationFree once per generation, also concurrently; publish and retire', async () => {
      const base = (await s.keys.listAll())[0]?.generation ?? 0;
      const g1 = base + 1;
      const k1 = key(g1);
      assert.equal(await s.keys.insertIfGenerationFree(k1), true);
      assert.equal(await s.keys.insertIfGenerationFree(key(g1)), false);

      const g2 = base + 2;
      const racers = await Promise.all(
        Array.from({ length: 10 }, () => s.keys.insertIfGenerationFree(key(g2))),
      );
      assert.equal(racers.filter(Boolean).length, 1);

      const all = await s.keys.listAll();
      assert.deepEqual(
        all.slice(0, 2).map((k) => k.generation),
        [g2, g1],
        'newest first',
      );
      assert.deepEqual(all[1], k1);

      await s.keys.retireBefore(g2, T0 + 100, T0 + 1000);
      const retired = (await s.keys.listAll()).find((k) => k.kid === k1.kid);
      assert.equal(retired?.retiredAt, T0 + 100);
      assert.equal(retired?.expiresAt, T0 + 1000);
      assert.ok((await s.keys.listPublished(T0 + 999)).some((k) => k.kid === k1.kid));
      const later = await s.keys.listPublished(T0 + 1000);
      assert.ok(!later.some((k) => k.kid === k1.kid), 'unpublished once expired');
      assert.equal(later[0]?.generation, g2);

      // A generation with an ES256 part keeps it (migration 0006).
      const ec = {
        kid: id('eckid'),
        privatePem: 'ec-pem',
        publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
      };
      const k3 = key(base + 3, { ec });
      assert.equal(await s.keys.insertIfGenerationFree(k3), true);
      assert.deepEqual((await s.keys.listAll())[0], k3);

      // Private parts rewritten in place (sealing, tokens/key-encryption.ts); nothing else changes.
      const k3sealed = { ...k3, privatePem: 'sealed-rsa', ec: { ...ec, privatePem: 'sealed-ec' } };
      await s.keys.replacePrivateParts(k3sealed);
      assert.deepEqual((await s.keys.listAll())[0], k3sealed);
      await s.keys.replacePrivateParts({ ...k1, privatePem: 'sealed-k1' });
      assert.equal((await s.keys.listAll()).find((k) => k.kid === k1.kid)?.privatePem, 'sealed-k1');
      // Without an ES256 part in the call, a generation's ES256 key is left as it is.
      await s.keys.replacePrivateParts({ ...k3sealed, privatePem: 'resealed-rsa', ec: null });
      assert.deepEqual((await s.keys.listAll())[0], { ...k3sealed, privatePem: 'resealed-rsa' });
    });

    test('audit: newest first, filters by type, user and client, limit', async () => {
      const userId = id('u');
      const clientId = id('c');
      const type = id('type');
      for (let n = 0; n < 5; n++) {
        await s.audit.record({
          id: `${(T0 + n).toString().padStart(15, '0')}-${randomToken(6)}`,
          at: T0 + n,
          type,
          clientId: n % 2 === 0 ? clientId : null,
          userId,
          ip: '127.0.0.1',
          detail: { n },
        });
      }
      const mine = await s.audit.list({ userId });
      assert.deepEqual(
        mine.map((e) => e.at),
        [4, 3, 2, 1, 0].map((n) => T0 + n),
      );
      assert.deepEqual(mine[0]?.detail, { n: 4 });
      assert.equal(mine[0]?.ip, '127.0.0.1');
      assert.equal((await s.audit.list({ type })).length, 5);
      assert.equal((await s.audit.list({ type: `${type}-none` })).length, 0);
      const byClient = await s.audit.list({ clientId });
      assert.deepEqual(
        byClient.map((e) => e.at),
        [4, 2, 0].map((n) => T0 + n),
      );
      const limited = await s.audit.list({ userId, limit: 2 });
      assert.deepEqual(
        limited.map((e) => e.at),
        [T0 + 4, T0 + 3],
      );
      await s.audit.record({
        id: id('ev'),
        at: T0,
        type,
        clientId: null,
        userId: null,
        ip: null,
        detail: null,
      });
      const plain = (await s.audit.list({ type })).find((e) => e.userId === null);
      assert.equal(plain?.detail, null);
    });

    test('audit: pages oldest first within [from, to), after a cursor, ties on time by id', async () => {
      const base = T0 + 10_000_000;
      const ids: string[] = [];
      // Two events share each time: the cursor must not skip or repeat one.
      for (let n = 0; n < 7; n++) {
        const e = {
          id: `page-${base}-${n}`,
          at: base + Math.floor(n / 2),
          type: 'x',
          clientId: null,
          userId: null,
          ip: null,
          detail: null,
        };
        await s.audit.record(e);
        ids.push(e.id);
      }
      const seen: string[] = [];
      let after: { at: number; id: string } | undefined;
      for (;;) {
        const page = await s.audit.page({ from: base, to: base + 3, limit: 2, ...(after ? { after } : {}) });
        if (page.length === 0) break;
        seen.push(...page.map((e) => e.id));
        const last = page[page.length - 1]!;
        after = { at: last.at, id: last.id };
      }
      // at base+3 (the 7th event) is outside [from, to).
      assert.deepEqual(seen, ids.slice(0, 6));
      assert.deepEqual(
        (await s.audit.page({ from: base + 3, limit: 10 })).map((e) => e.id),
        [ids[6]],
      );
    });

    test('transaction: its writes commit together, or none does when it rejects', async () => {
      const rt = (grantId: string) => ({
        hash: id('rt'),
        grantId,
        clientId: 'c1',
        userId: 'u1',
        scope: 'openid offline_access',
        createdAt: T0,
        expiresAt: T0 + 86_400_000,
        idleExpiresAt: T0 + 3_600_000,
        consumedAt: null,
        successor: null,
        graceUntil: null,
      });
      const g = grant();
      const t = rt(g.id);
      assert.equal(
        await s.transaction(async (tx) => {
          await tx.grants.createGrant(g);
          await tx.refreshTokens.insert(t);
          return 'committed';
        }),
        'committed',
      );
      assert.deepEqual(await s.grants.getGrant(g.id), g);
      assert.deepEqual(await s.refreshTokens.get(t.hash), t);

      // A failing statement inside, or `fn` rejecting: every earlier write of it is undone.
      for (const failure of ['statement', 'fn'] as const) {
        const g2 = grant();
        const t2 = rt(g2.id);
        await assert.rejects(
          s.transaction(async (tx) => {
            await tx.grants.createGrant(g2);
            assert.equal((await tx.refreshTokens.consume(t.hash, T0 + 1)).status, 'rotated');
            await tx.refreshTokens.insert(t2);
            await tx.refreshTokens.saveSuccessor(t.hash, 'sealed', T0 + 60_000);
            if (failure === 'fn') throw new Error('rejected midway');
            await tx.refreshTokens.insert(t2); // a duplicate
          }),
        );
        assert.equal(await s.grants.getGrant(g2.id), undefined, failure);
        assert.equal(await s.refreshTokens.get(t2.hash), undefined, failure);
        assert.deepEqual(await s.refreshTokens.get(t.hash), t, `${failure}: not consumed, no successor`);
      }
    });

    test('transaction: concurrent ones do not interleave (exactly one consumes and writes)', async () => {
      const t = {
        hash: id('rt'),
        grantId: id('grant'),
        clientId: 'c1',
        userId: 'u1',
        scope: 'openid offline_access',
        createdAt: T0,
        expiresAt: T0 + 86_400_000,
        idleExpiresAt: T0 + 3_600_000,
        consumedAt: null,
        successor: null,
        graceUntil: null,
      };
      await s.refreshTokens.insert(t);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, n) =>
          s.transaction(async (tx) => {
            const r = await tx.refreshTokens.consume(t.hash, T0 + n);
            if (r.status !== 'rotated') return r.status;
            await tx.refreshTokens.saveSuccessor(t.hash, `successor-${n}`, T0 + 60_000);
            return r.status;
          }),
        ),
      );
      assert.equal(results.filter((r) => r === 'rotated').length, 1);
      assert.equal(results.filter((r) => r === 'already-rotated').length, 9);
      const kept = await s.refreshTokens.get(t.hash);
      assert.equal(kept?.successor, `successor-${(kept?.consumedAt ?? 0) - T0}`, 'the winner wrote it');
    });

    test('rows are copies: changing an object written or read back changes nothing stored', async () => {
      const c = client({ allowedScopes: ['api:read'] });
      const asWritten = structuredClone(c);
      await s.clients.create(c);
      c.redirectUris.push('http://127.0.0.1/added');
      c.allowedScopes?.push('api:write');
      c.name = 'changed';
      const read = await s.clients.get(c.clientId);
      read?.redirectUris.push('http://127.0.0.1/read');
      read?.grantTypes.splice(0);
      assert.deepEqual(await s.clients.get(c.clientId), asWritten);
      assert.deepEqual(
        (await s.clients.list()).find((x) => x.clientId === c.clientId),
        asWritten,
      );

      const type = id('type');
      const event = { id: id('ev'), at: T0, type, clientId: null, userId: null, ip: null, detail: { n: 1 } };
      await s.audit.record(event);
      event.detail.n = 2;
      const [listed] = await s.audit.list({ type });
      (listed?.detail as { n: number }).n = 3;
      assert.deepEqual((await s.audit.list({ type }))[0]?.detail, { n: 1 });

      const k = key(((await s.keys.listAll())[0]?.generation ?? 0) + 1);
      await s.keys.insertIfGenerationFree(k);
      k.publicJwk['n'] = 'changed';
      const [newest] = await s.keys.listAll();
      if (newest) newest.publicJwk['e'] = 'changed';
      assert.deepEqual((await s.keys.listAll())[0]?.publicJwk, { kty: 'RSA', n: 'n', e: 'AQAB' });
    });

    test('times are numbers (bigint columns parsed), large values round-trip', async () => {
      const far = 4_102_444_800_000; // 2100-01-01
      const g = grant({ authTime: far, createdAt: far });
      await s.grants.createGrant(g);
      const got = await s.grants.getGrant(g.id);
      assert.equal(got?.authTime, far);
      assert.equal(typeof got?.createdAt, 'number');
    });
  });
}
