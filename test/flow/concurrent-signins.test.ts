/**
 * Correct sign-ins are not failures: many at once to one account all succeed, through both
 * sign-in forms (an application's and the admin console's), while parallel wrong passwords are
 * still limited to the throttle's worth of password checks. On SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { before, beforeEach, describe, it } from 'node:test';
import { THROTTLE_DEFAULTS } from '../../src/auth/login-throttle.js';
import { Browser, formOf } from '../helpers/browser.js';
import { PG_SKIP } from '../helpers/databases.js';
import { authorizeQuery, EXAMPLE_CHALLENGE, withServer } from '../helpers/flow.js';
import { createUser, PASSWORD } from '../helpers/server.js';

const MAX = THROTTLE_DEFAULTS.accountFailures;

for (const backend of [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: PG_SKIP },
]) {
  describe(`concurrent sign-ins to one account (${backend.name})`, { skip: backend.skip }, () => {
    const s = withServer({
      ...(backend.name === 'postgres' ? { postgres: 'latchkey_signins', overrides: { pgPoolSize: 10 } } : {}),
      app: { consent: 'none' },
    });
    before(async () => {
      assert.equal(s.server.ctx.storage.dialect, backend.name);
      await s.server.ctx.users.create({ username: 'root', password: PASSWORD, isAdmin: true });
    });
    beforeEach(() => {
      // A fresh throttle window for each test (15 min sliding window + 5 min lock).
      s.server.clock.advanceSeconds(3600);
    });

    /** A browser at the sign-in page of a new interaction. */
    const open = async () => {
      const browser = new Browser(s.server.url);
      const start = await browser.get(`/authorize?${authorizeQuery(s.app, EXAMPLE_CHALLENGE)}`);
      const page = await browser.get(start.location!);
      const { csrf, actions } = formOf(page.body);
      return { browser, csrf, login: actions.find((x) => x.endsWith('/login'))! };
    };
    const openAdmin = async () => {
      const browser = new Browser(s.server.url);
      const { csrf } = formOf((await browser.get('/admin/login')).body);
      return { browser, csrf, login: '/admin/login' };
    };
    const attempts = async (
      n: number,
      form: () => Promise<{ browser: Browser; csrf: string; login: string }>,
      username: string,
      password: (i: number) => string,
    ) => {
      const pages = await Promise.all(Array.from({ length: n }, form));
      const results = await Promise.all(
        pages.map((p, i) => p.browser.post(p.login, { csrf: p.csrf, username, password: password(i) })),
      );
      return results.map((r) => r.status);
    };
    const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

    it('12 concurrent correct sign-ins through an application all succeed', async () => {
      await createUser(s.server, 'hana');
      const statuses = await attempts(12, open, 'hana', () => PASSWORD);
      assert.deepEqual(statuses, Array(12).fill(303), statuses.join(','));
      assert.deepEqual(await s.server.ctx.storage.throttle.recentFailures('account:hana', 0, 100), []);
    });

    it('12 concurrent correct admin console sign-ins all succeed', async () => {
      const statuses = await attempts(12, openAdmin, 'root', () => PASSWORD);
      assert.deepEqual(statuses, Array(12).fill(303), statuses.join(','));
      assert.deepEqual(await s.server.ctx.storage.throttle.recentFailures('account:root', 0, 100), []);
    });

    it('a correct sign-in among parallel wrong ones still gets through while the account is unlocked', async () => {
      await createUser(s.server, 'ines');
      const statuses = await attempts(4, open, 'ines', (i) => (i === 0 ? PASSWORD : `bad-${i}`));
      assert.deepEqual(statuses, [303, 401, 401, 401]);
    });

    for (const [name, form] of [
      ['an application', open],
      ['the admin console', openAdmin],
    ] as const) {
      it(`20 concurrent wrong passwords through ${name}: at most ${MAX} checked, the rest throttled`, async () => {
        const username = `wrong-${name.length}-${backend.name}`;
        await createUser(s.server, username);
        const statuses = await attempts(20, form, username, (i) => `bad-${i}`);
        const checked = count(statuses, 401);
        assert.ok(checked <= MAX, `at most ${MAX} password checks, got ${checked}: ${statuses.join(',')}`);
        assert.ok(checked >= 1, statuses.join(','));
        assert.equal(checked + count(statuses, 429), 20, statuses.join(','));
        const failures = await s.server.ctx.storage.throttle.recentFailures(`account:${username}`, 0, 100);
        assert.equal(failures.length, checked, 'each wrong password checked is one failure');
        // Locked now: the right password too is refused, until the lock ends.
        assert.deepEqual(await attempts(1, form, username, () => PASSWORD), [429]);
        s.server.clock.advanceSeconds(THROTTLE_DEFAULTS.lockSec + 1);
        const expected = name === 'an application' ? 303 : 403; // not an admin
        assert.deepEqual(await attempts(1, form, username, () => PASSWORD), [expected]);
      });
    }
  });
}
