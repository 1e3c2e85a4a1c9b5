/**
 * signInWithPassword without HTTP: the throttle and the audit log are the real ones on a SQLite
 * store; the user look-up and the password check are stand-ins that record their calls.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { LoginThrottle, THROTTLE_DEFAULTS } from '../../src/auth/login-throttle.js';
import {
  MAX_USERNAME_LENGTH,
  type PasswordSignIn,
  SIGN_IN_MESSAGES,
  type SignInDeps,
  signInWithPassword,
} from '../../src/auth/sign-in.js';
import { ManualClock } from '../../src/clock.js';
import { Audit } from '../../src/ops/audit-log.js';
import { openStorage, type Storage } from '../../src/storage/index.js';
import type { User } from '../../src/storage/types.js';
import { tempDir } from '../helpers/server.js';

const user = (username: string, extra: Partial<User> = {}): User => ({
  id: `id-${username}`,
  username,
  email: null,
  name: null,
  passwordHash: `hash:right-${username}`,
  disabled: false,
  createdAt: 0,
  updatedAt: 0,
  ...extra,
});

const PEOPLE = [user('alice'), user('bob', { disabled: true }), user('root', { isAdmin: true })];

describe('signInWithPassword', () => {
  let dir: string;
  let storage: Storage;
  let clock: ManualClock;
  let deps: SignInDeps;
  let lookups: string[];
  let verified: (string | undefined)[];
  let failVerify: Error | undefined;
  let n = 0;
  // A distinct IP per test, so the per-IP limit never carries over between tests.
  let ip: string;

  before(async () => {
    dir = tempDir('latchkey-sign-in-');
    storage = await openStorage(join(dir, 'sign-in.db'));
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    // Each test starts with no failures on the accounts (the store is shared).
    for (const u of ['alice', 'bob', 'root', 'nobody']) await storage.throttle.clear(`account:${u}`);
    clock = new ManualClock();
    lookups = [];
    verified = [];
    failVerify = undefined;
    ip = `192.0.2.${++n}`;
    deps = {
      users: {
        getByUsername: async (u) => {
          lookups.push(u);
          return PEOPLE.find((p) => p.username === u);
        },
      },
      throttle: new LoginThrottle(storage.throttle, clock, true),
      audit: new Audit(storage.audit, clock),
      verifyPassword: async (hash, password) => {
        verified.push(hash);
        if (failVerify) throw failVerify;
        return hash === `hash:${password}`;
      },
    };
  });

  const signIn = (username: string, password: string, extra: Partial<PasswordSignIn> = {}) =>
    signInWithPassword(deps, { username, password, ip, via: 'sign-in', ...extra });
  const events = async (type: string) => (await storage.audit.list({ type })).filter((e) => e.ip === ip);

  it('a missing username or password is asked for again: no look-up, no throttle, no audit', async () => {
    for (const [u, p] of [
      ['', 'x'],
      ['   ', 'x'],
      ['alice', ''],
    ] as const) {
      const r = await signIn(u, p);
      assert.equal(r.outcome, 'missing');
      assert.equal(r.outcome === 'missing' && r.message, SIGN_IN_MESSAGES.missing);
    }
    assert.deepEqual(lookups, []);
    assert.equal((await storage.audit.list()).filter((e) => e.ip === ip).length, 0);
  });

  it('the right password signs in (username trimmed) and is audited with the form and application', async () => {
    const r = await signIn('  alice ', 'right-alice', { clientId: 'app-1' });
    assert.equal(r.outcome, 'ok');
    assert.equal(r.outcome === 'ok' && r.user.id, 'id-alice');
    assert.deepEqual(lookups, ['alice']);
    const [ev] = await events('login_success');
    assert.equal(ev?.userId, 'id-alice');
    assert.equal(ev?.clientId, 'app-1');
    assert.deepEqual(ev?.detail, { via: 'sign-in' });
  });

  it('unknown user, wrong password and disabled account: one message, each reason audited', async () => {
    const cases = [
      ['nobody', 'x', 'unknown_user', null],
      ['alice', 'wrong', 'wrong_password', 'id-alice'],
      ['bob', 'right-bob', 'disabled', 'id-bob'],
    ] as const;
    for (const [u, p, reason] of cases) {
      const r = await signIn(u, p, { via: 'console' });
      assert.equal(r.outcome, 'failed');
      assert.ok(r.outcome === 'failed');
      assert.equal(r.reason, reason);
      assert.equal(r.message, SIGN_IN_MESSAGES.failed);
    }
    // The unknown user's password was still checked (against the dummy hash: same time).
    assert.deepEqual(verified, [undefined, 'hash:right-alice', 'hash:right-bob']);
    const failures = (await events('login_failure')).reverse();
    assert.deepEqual(
      failures.map((e) => [e.detail?.['username'], e.detail?.['reason'], e.userId, e.detail?.['via']]),
      cases.map(([u, , reason, userId]) => [u, reason, userId, 'console']),
    );
  });

  it('an overlong username is no user: not looked up, its audit entry cut to the limit', async () => {
    const long = 'a'.repeat(MAX_USERNAME_LENGTH + 50);
    const r = await signIn(long, 'x');
    assert.equal(r.outcome === 'failed' && r.reason, 'unknown_user');
    assert.deepEqual(lookups, []);
    const [ev] = await events('login_failure');
    assert.equal(String(ev?.detail?.['username']).length, MAX_USERNAME_LENGTH);
  });

  it('after the limit of failures the account is throttled: no password checked, retry-after told', async () => {
    for (let i = 0; i < THROTTLE_DEFAULTS.accountFailures; i++) {
      assert.equal((await signIn('alice', `wrong-${i}`)).outcome, 'failed');
    }
    verified = [];
    const r = await signIn('alice', 'right-alice');
    assert.equal(r.outcome, 'throttled');
    assert.ok(r.outcome === 'throttled');
    assert.equal(r.retryAfterSec, THROTTLE_DEFAULTS.lockSec);
    assert.equal(r.message, 'Too many failed sign-in attempts. Try again in 5 minutes.');
    assert.deepEqual(verified, [], 'no password was checked while throttled');
    assert.equal((await events('login_throttled')).length, 1);
    // Once the lock is over, the right password signs in and the account starts afresh.
    clock.advanceSeconds(THROTTLE_DEFAULTS.lockSec + 1);
    assert.equal((await signIn('alice', 'right-alice')).outcome, 'ok');
    assert.equal((await signIn('alice', 'wrong')).outcome, 'failed');
    assert.equal((await signIn('alice', 'right-alice')).outcome, 'ok');
  });

  it('an error while checking is no failure: it goes to the caller and nothing is counted', async () => {
    failVerify = new Error('hashing thread died');
    for (let i = 0; i < THROTTLE_DEFAULTS.accountFailures + 2; i++) {
      await assert.rejects(signIn('alice', 'wrong'), /hashing thread died/);
    }
    assert.equal((await events('login_failure')).length, 0);
    failVerify = undefined;
    assert.equal((await signIn('alice', 'right-alice')).outcome, 'ok');
  });

  it('a form may refuse an account whose password is right: audited, and no failure counted', async () => {
    const adminOnly = { via: 'console' as const, refuse: (u: User) => (u.isAdmin ? undefined : 'not_admin') };
    for (let i = 0; i < THROTTLE_DEFAULTS.accountFailures + 1; i++) {
      const r = await signIn('alice', 'right-alice', adminOnly);
      assert.equal(r.outcome, 'refused');
      assert.equal(r.outcome === 'refused' && r.reason, 'not_admin');
    }
    const [ev] = await events('login_failure');
    assert.deepEqual(ev?.detail, { via: 'console', username: 'alice', reason: 'not_admin' });
    assert.equal((await events('login_success')).length, 0);
    assert.equal((await signIn('root', 'right-root', adminOnly)).outcome, 'ok');
  });

  it('the throttled message counts whole minutes, at least one', () => {
    assert.equal(SIGN_IN_MESSAGES.throttled(5), 'Too many failed sign-in attempts. Try again in 1 minute.');
    assert.equal(SIGN_IN_MESSAGES.throttled(60), 'Too many failed sign-in attempts. Try again in 1 minute.');
    assert.equal(SIGN_IN_MESSAGES.throttled(61), 'Too many failed sign-in attempts. Try again in 2 minutes.');
  });
});
