/** purgeExpired: removes only expired rows, in batches, on SQLite and PostgreSQL. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CODE_RETENTION_MS,
  DEVICE_CODE_RETENTION_MS,
  GRANT_RETENTION_MS,
  MAIL_RETENTION_MS,
  purgeExpired,
  REFRESH_RETENTION_MS,
} from '../../src/ops/cleanup.js';
import type { Storage } from '../../src/storage/index.js';
import { databaseForTests } from '../../src/storage/index.js';
import { nextBatch, TARGET_STATEMENT_MS } from '../../src/storage/sql/purge.js';
import { storageBackends } from '../helpers/databases.js';

const NOW = 1_790_000_000_000;

describe('the purge batch adapts to time', () => {
  test('halves after a slow statement, doubles after a quick one, within bounds', () => {
    assert.equal(nextBatch(50, TARGET_STATEMENT_MS * 3), 25);
    assert.equal(nextBatch(50, TARGET_STATEMENT_MS / 10), 100);
    assert.equal(nextBatch(50, TARGET_STATEMENT_MS * 0.5), 50);
    assert.equal(nextBatch(6, 1000), 5, 'never below the minimum');
    assert.equal(nextBatch(2000, 0), 2000, 'never above the maximum');
  });
});

describe('a purge pass stops when told (shutdown)', () => {
  test('an aborted pass deletes nothing more; the timer aborts it on stop', async () => {
    const calls: (AbortSignal | undefined)[] = [];
    const store = {
      expired: async (_now: number, opts: { signal?: AbortSignal } = {}) => {
        calls.push(opts.signal);
        await new Promise((r) => setTimeout(r, 30));
        return {} as never;
      },
    };
    const { startPurgeTimer } = await import('../../src/ops/cleanup.js');
    const timer = startPurgeTimer({ purge: store }, { now: () => NOW }, { intervalMs: 10 });
    await new Promise((r) => setTimeout(r, 20));
    await timer.stop();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.aborted, true, 'stop() aborted the pass in progress');
  });
});

const backends = storageBackends({ sqliteFile: 'purge.db', tempPrefix: 'latchkey-purge-' });

async function count(s: Storage, table: 'codes' | 'sessions' | 'interactions' | 'access_tokens') {
  const r = await databaseForTests(s)
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

for (const backend of backends) {
  describe(`purgeExpired: ${backend.name}`, { skip: backend.skip }, () => {
    let s: Storage;
    let done = async () => {};
    before(async () => {
      const o = await backend.open();
      s = o.storage;
      done = o.done;
    });
    after(async () => {
      await done();
    });

    test('deletes expired rows in batches and keeps live ones', async () => {
      const expiredCodes = 1203; // many batches (the first is 50 rows, then it adapts)
      const grant = {
        id: 'g1',
        clientId: 'c1',
        userId: 'u1',
        sessionHash: null,
        scope: 'openid',
        nonce: null,
        authTime: NOW,
        createdAt: NOW,
        revokedAt: null,
      };
      await s.grants.createGrant(grant);
      const rows = Array.from({ length: expiredCodes }, (_, n) => ({
        hash: `old-${n}`,
        grant_id: 'g1',
        client_id: 'c1',
        redirect_uri: null,
        code_challenge: 'x',
        expires_at: NOW - CODE_RETENTION_MS - 1000 - n,
        consumed_at: null,
      }));
      for (let i = 0; i < rows.length; i += 200)
        await databaseForTests(s)
          .insertInto('codes')
          .values(rows.slice(i, i + 200))
          .execute();
      // Expired, but inside the retention window: kept so a late replay is still seen as reuse.
      await databaseForTests(s)
        .insertInto('codes')
        .values([
          { ...rows[0]!, hash: 'recent-expired', expires_at: NOW - 1000 },
          { ...rows[0]!, hash: 'live', expires_at: NOW + 60_000 },
        ])
        .execute();

      const session = (idHash: string, expiresAt: number, endedAt: number | null) => ({
        idHash,
        userId: 'u1',
        authTime: NOW - 10,
        createdAt: NOW - 10,
        lastSeenAt: NOW - 10,
        expiresAt,
        endedAt,
      });
      await s.sessions.create(session('s-expired', NOW - 1, null));
      await s.sessions.create(session('s-ended', NOW + 3_600_000, NOW - 5));
      await s.sessions.create(session('s-live', NOW + 3_600_000, null));

      const interaction = (id: string, expiresAt: number) => ({
        id,
        clientId: 'c1',
        request: '{}',
        csrf: 'x',
        userId: null,
        sessionHash: null,
        authTime: null,
        createdAt: NOW - 10,
        expiresAt,
        completedAt: null,
      });
      await s.interactions.create(interaction('i-expired', NOW - 1));
      await s.interactions.create(interaction('i-live', NOW + 1000));

      const token = (jti: string, expiresAt: number) => ({
        jti,
        grantId: 'g1',
        clientId: 'c1',
        sub: 'u1',
        scope: 'openid',
        expiresAt,
      });
      // Rows exist only for revoked access tokens; kept until the token expires.
      await s.accessTokens.revoke(token('t-expired', NOW - 1), NOW - 100);
      await s.accessTokens.revoke(token('t-live', NOW + 1000), NOW - 100);

      await s.throttle.recordFailure(['account:old'], NOW - 25 * 3600 * 1000);
      await s.throttle.recordFailure(['account:recent'], NOW - 60_000);

      const pushed = (uriHash: string, expiresAt: number) =>
        s.pushedRequests.save({ uriHash, clientId: 'c1', params: {}, createdAt: NOW - 10, expiresAt });
      await pushed('par-expired', NOW - 1);
      await pushed('par-live', NOW + 30_000);
      await s.replays.use('jti-expired', NOW - 1, NOW - 100);
      await s.replays.use('jti-live', NOW + 30_000, NOW - 100);
      const challenge = (c: string, expiresAt: number) =>
        s.webauthnChallenges.save({
          challenge: c,
          purpose: 'sign-in',
          binding: 'i',
          userId: null,
          expiresAt,
        });
      await challenge('wa-expired', NOW - 1);
      await challenge('wa-live', NOW + 30_000);
      // A device code is kept an hour past its expiry (a polling device is told expired_token).
      const device = (hash: string, expiresAt: number) =>
        s.deviceCodes.create({
          hash,
          userCodeHash: `u-${hash}`,
          clientId: 'c1',
          scope: 'openid',
          interval: 5,
          createdAt: NOW - 10,
          expiresAt,
          lastPolledAt: null,
          status: 'pending',
          grantId: null,
          consumedAt: null,
        });
      await device('dc-old', NOW - DEVICE_CODE_RETENTION_MS - 1);
      await device('dc-recent-expired', NOW - 1);
      await device('dc-live', NOW + 30_000);

      const counts = await purgeExpired(s, NOW);
      assert.deepEqual(counts, {
        codes: expiredCodes,
        grants: 0,
        refresh_tokens: 0,
        sessions: 2,
        interactions: 1,
        access_tokens: 1,
        login_failures: 1,
        audit_events: 0,
        pushed_requests: 1,
        replays: 1,
        webauthn_challenges: 1,
        device_codes: 1,
        mail_outbox: 0,
      });
      assert.ok(await s.deviceCodes.get('dc-recent-expired'), 'an expired device code stays an hour');
      assert.equal(await s.deviceCodes.get('dc-old'), undefined);
      assert.ok(await s.webauthnChallenges.consume('wa-live', 'sign-in', 'i', NOW), 'a live challenge stays');
      assert.equal(await s.replays.use('jti-live', NOW + 60_000, NOW), false, 'a live jti stays');
      assert.ok(await s.pushedRequests.consume('par-live', 'c1', NOW), 'a live request stays');
      assert.deepEqual(
        (await s.throttle.recentFailures('account:recent', 0, 5)).map((r) => r.at),
        [NOW - 60_000],
      );
      assert.equal(await count(s, 'codes'), 2);
      assert.equal((await s.grants.consumeCode('recent-expired', NOW)).status, 'consumed');
      assert.equal((await s.grants.consumeCode('old-5', NOW)).status, 'unknown');
      assert.ok(await s.sessions.get('s-live'));
      assert.equal(await s.sessions.get('s-expired'), undefined);
      assert.equal(await s.sessions.get('s-ended'), undefined);
      assert.ok(await s.interactions.get('i-live'));
      assert.equal(await s.interactions.get('i-expired'), undefined);
      assert.equal(await s.accessTokens.isRevoked('t-live', null), true);
      assert.equal(
        await s.accessTokens.isRevoked('t-expired', null),
        false,
        'expired: gone, and the JWT is dead anyway',
      );
      assert.equal(await count(s, 'sessions'), 1);
      assert.equal(await count(s, 'interactions'), 1);
      assert.equal(await count(s, 'access_tokens'), 1);

      // Nothing left to do: a second run is a no-op; a small batch size still drains everything.
      assert.deepEqual(await purgeExpired(s, NOW), {
        codes: 0,
        grants: 0,
        refresh_tokens: 0,
        sessions: 0,
        interactions: 0,
        login_failures: 0,
        audit_events: 0,
        access_tokens: 0,
        pushed_requests: 0,
        replays: 0,
        webauthn_challenges: 0,
        device_codes: 0,
        mail_outbox: 0,
      });
      const later = await purgeExpired(s, NOW + CODE_RETENTION_MS + 120_000, { batchSize: 1 });
      assert.deepEqual(later, {
        codes: 2,
        grants: 0,
        refresh_tokens: 0,
        sessions: 1,
        interactions: 1,
        access_tokens: 1,
        login_failures: 1,
        audit_events: 0,
        pushed_requests: 0,
        replays: 1,
        webauthn_challenges: 0,
        device_codes: 2,
        mail_outbox: 0,
      });
    });

    test('grants go after their retention unless a refresh-token family still has rows', async () => {
      const base = {
        clientId: 'c2',
        userId: 'u2',
        sessionHash: null,
        scope: 'openid offline_access',
        nonce: null,
        authTime: NOW,
        revokedAt: null,
      };
      const old = NOW - GRANT_RETENTION_MS - 1000;
      const code = (grantId: string) => ({
        hash: `code-${grantId}`,
        grantId,
        clientId: 'c2',
        redirectUri: null,
        codeChallenge: 'x',
        expiresAt: old + 60_000,
        consumedAt: null,
      });
      await s.grants.issueCode({ ...base, id: 'g-old', createdAt: old }, code('g-old'));
      await s.grants.issueCode({ ...base, id: 'g-recent', createdAt: NOW - 1000 }, code('g-recent'));
      await s.grants.createGrant({ ...base, id: 'g-family-live', createdAt: old });
      await s.grants.createGrant({ ...base, id: 'g-family-ended', createdAt: old });
      const refresh = (hash: string, grantId: string, expiresAt: number) => ({
        hash,
        grantId,
        clientId: 'c2',
        userId: 'u2',
        scope: base.scope,
        createdAt: old,
        expiresAt,
        idleExpiresAt: expiresAt,
        consumedAt: null,
        successor: null,
        graceUntil: null,
      });
      await s.refreshTokens.insert(refresh('r-live', 'g-family-live', NOW + 1000));
      // Ended, but less than a day ago: kept (reuse is still recognised, its last access token may live).
      await s.refreshTokens.insert(refresh('r-just-ended', 'g-family-live', NOW - 1000));
      await s.refreshTokens.insert(refresh('r-ended', 'g-family-ended', NOW - REFRESH_RETENTION_MS - 1));

      const counts = await purgeExpired(s, NOW, { batchSize: 1 });
      assert.equal(counts.refresh_tokens, 1);
      assert.equal(counts.grants, 2, 'g-old and g-family-ended');
      assert.equal(await s.grants.getGrant('g-old'), undefined);
      assert.equal((await s.grants.consumeCode('code-g-old', NOW)).status, 'unknown');
      assert.equal(await s.grants.getGrant('g-family-ended'), undefined);
      assert.ok(await s.grants.getGrant('g-recent'));
      assert.ok(await s.grants.getGrant('g-family-live'));
      assert.ok(await s.refreshTokens.get('r-just-ended'));
      assert.equal(await s.refreshTokens.get('r-ended'), undefined);
    });

    test('mail: sent and given-up messages go MAIL_RETENTION_MS later; waiting ones stay', async () => {
      const mail = async (id: string) => {
        await s.outbox.add({
          id,
          to: 'a@example.com',
          toName: null,
          subject: 's',
          text: 't',
          html: 'h',
          createdAt: NOW,
        });
        assert.ok(await s.outbox.claim(id, 'o', NOW, NOW + 60_000));
      };
      await mail('mail-sent-old');
      await s.outbox.sent('mail-sent-old', 'o', NOW - MAIL_RETENTION_MS - 1, NOW - 1);
      await mail('mail-failed-old');
      await s.outbox.failed('mail-failed-old', 'o', 'EX', NOW - MAIL_RETENTION_MS - 1, NOW - 1);
      await mail('mail-sent-recent');
      await s.outbox.sent('mail-sent-recent', 'o', NOW, NOW + MAIL_RETENTION_MS);
      await mail('mail-waiting');
      await s.outbox.retry('mail-waiting', 'o', 'EX', NOW + 30_000);
      const counts = await purgeExpired(s, NOW, { batchSize: 1 });
      assert.equal(counts.mail_outbox, 2);
      assert.equal(await s.outbox.get('mail-sent-old'), undefined);
      assert.equal(await s.outbox.get('mail-failed-old'), undefined);
      assert.ok(await s.outbox.get('mail-sent-recent'));
      assert.ok(await s.outbox.get('mail-waiting'), 'a message still to send is never purged');
      assert.equal((await purgeExpired(s, NOW + MAIL_RETENTION_MS + 1)).mail_outbox, 1);
      assert.ok(await s.outbox.get('mail-waiting'));
    });

    test('audit events go after LATCHKEY_AUDIT_RETENTION (index-driven); without one they stay', async () => {
      const day = 86400_000;
      const event = (id: string, at: number) => ({
        id,
        at,
        type: 'login_success',
        clientId: null,
        userId: null,
        ip: null,
        detail: null,
      });
      await s.audit.record(event('audit-old', NOW - 91 * day));
      await s.audit.record(event('audit-edge', NOW - 90 * day + 1));
      await s.audit.record(event('audit-new', NOW - day));
      // No retention given (LATCHKEY_AUDIT_RETENTION=0): nothing goes.
      assert.equal((await purgeExpired(s, NOW)).audit_events, 0);
      const counts = await purgeExpired(s, NOW, { auditRetentionMs: 90 * day, batchSize: 1 });
      assert.equal(counts.audit_events, 1);
      const left = (await s.audit.list({ limit: 1000 }))
        .map((e) => e.id)
        .filter((id) => id.startsWith('audit-'));
      assert.deepEqual(left.sort(), ['audit-edge', 'audit-new']);
    });
  });
}
