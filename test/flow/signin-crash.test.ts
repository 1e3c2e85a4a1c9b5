/**
 * A server killed in the middle of sign-ins leaves no failure behind: the attempts in progress
 * were reservations (their lease runs out by itself), never counted failures, so after a restart
 * the account and the IP carry nothing against them and correct sign-ins go through. Real
 * processes: `latchkey serve` killed with SIGKILL while 12 correct sign-ins are being checked.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { getCode, pkce } from '../helpers/flow.js';
import { seed, startServe } from '../helpers/serve-child.js';
import { freePort, tempDir } from '../helpers/server.js';

describe('a crash during sign-ins', () => {
  const dir = tempDir('latchkey-signin-crash-');
  after(async () => {
    const { rmSync } = await import('node:fs');
    rmSync(dir, { recursive: true, force: true });
  });

  it('kill -9 mid-sign-in: no failure counted, and correct sign-ins succeed after the restart', async () => {
    const db = join(dir, 'latchkey.db');
    const seeded = await seed(db, 1);
    const env = { LATCHKEY_RATE_LIMIT: 'true' };
    const first = await startServe(db, await freePort(), env);
    const signIn = (base: string) =>
      getCode(base, seeded.app, pkce(), { scope: 'openid offline_access' }, { username: 'user0' });
    // 12 correct sign-ins at once; the kill lands while their passwords are being checked.
    const inFlight = Array.from({ length: 12 }, () =>
      signIn(first.url).then(
        () => 'ok',
        () => 'cut',
      ),
    );
    await new Promise((r) => setTimeout(r, 150));
    first.child.kill('SIGKILL');
    await first.exited;
    const outcomes = await Promise.all(inFlight);
    assert.ok(outcomes.includes('cut'), `the kill cut sign-ins short: ${outcomes.join(' ')}`);

    const sqlite = new Database(db, { readonly: true });
    try {
      // Rows that are failures (reservations, since migration 0008, carry an expires_at).
      const leased = (sqlite.pragma('table_info(login_failures)') as { name: string }[]).some(
        (c) => c.name === 'expires_at',
      );
      const counted = sqlite
        .prepare(`select count(*) as n from login_failures${leased ? ' where expires_at is null' : ''}`)
        .get() as { n: number };
      assert.equal(counted.n, 0, 'no attempt of the killed server counts as a failure');
    } finally {
      sqlite.close();
    }

    const second = await startServe(db, await freePort(), env);
    try {
      const again = await Promise.all(
        Array.from({ length: 8 }, () =>
          signIn(second.url).then(
            () => 'ok',
            (e: Error) => e.message.slice(0, 120),
          ),
        ),
      );
      assert.deepEqual(again, Array(8).fill('ok'));
    } finally {
      await second.kill();
    }
  });
});
