/**
 * The sign-in page over real HTTP: CSRF protection (token and interaction cookie), the
 * application's name, one generic failure message, disabled users, throttling with audit.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { Browser, formOf, type Step } from '../helpers/browser.js';
import { assertErrorPage, authorizePath, callback, pkce, withServer } from '../helpers/flow.js';
import { createClient, createUser, PASSWORD, startTestServer } from '../helpers/server.js';

// The password hashing threads this file's server starts (to make them fail in one test).
const workers: Worker[] = [];
process.on('worker', (w: Worker) => workers.push(w));

describe('sign-in page', () => {
  const s = withServer({ users: ['alice', 'carol'], app: { name: 'Acme <Notes> & Co' } });

  /** Starts an authorization and returns the sign-in page and its form. */
  async function open(browser = new Browser(s.server.url), extra: Record<string, string | null> = {}) {
    const start = await browser.get(authorizePath(s.app, pkce(), extra));
    assert.equal(start.status, 303);
    assert.match(start.location ?? '', /^\/interaction\//);
    const page = await browser.get(start.location!);
    assert.equal(page.status, 200);
    const { csrf, actions } = formOf(page.body);
    const login = actions.find((a) => a.endsWith('/login'))!;
    return { browser, page, csrf, login, interaction: start.location! };
  }

  const signedIn = (b: Browser) => b.cookies.has('latchkey_session');

  it('shows the application name (escaped) and labelled inputs', async () => {
    const { page } = await open();
    assert.ok(
      page.body.includes('Acme &lt;Notes> &amp; Co') || page.body.includes('Acme &lt;Notes&gt; &amp; Co'),
    );
    assert.match(page.body, /<label for="username">/);
    assert.match(page.body, /<label for="password">/);
    assert.match(page.body, /id="username"/);
    assert.match(page.body, /type="password"/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    // An issuer on an IP address cannot offer passkeys (WebAuthn RP IDs are domains): no script.
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'none'/);
    assert.doesNotMatch(page.body, /<script/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
  });

  describe('CSRF', () => {
    it('a POST without the CSRF token → 403 page, no sign-in', async () => {
      const { browser, login } = await open();
      const r = await browser.post(login, { username: 'alice', password: PASSWORD });
      assertErrorPage(r, 403);
      assert.match(r.body, /CSRF/);
      assert.equal(signedIn(browser), false);
    });
    it('a wrong CSRF token → 403 page, no sign-in', async () => {
      const { browser, login, csrf } = await open();
      const r = await browser.post(login, {
        // The last character changed (a token that ends in x must not stay itself: 1 in 64).
        csrf: `${csrf.slice(0, -1)}${csrf.endsWith('x') ? 'y' : 'x'}`,
        username: 'alice',
        password: PASSWORD,
      });
      assertErrorPage(r, 403);
      assert.equal(signedIn(browser), false);
    });
    it('the CSRF token given twice → 403', async () => {
      const { browser, login, csrf } = await open();
      const body = `csrf=${csrf}&csrf=${csrf}&username=alice&password=${encodeURIComponent(PASSWORD)}`;
      const res = await fetch(s.server.url + login, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: browser.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('set-cookie'), null);
    });
    it('a cross-site POST (right token, but no interaction cookie) → 403, no sign-in', async () => {
      const { login, csrf } = await open();
      const attacker = new Browser(s.server.url);
      const r = await attacker.post(login, { csrf, username: 'alice', password: PASSWORD });
      assertErrorPage(r, 403);
      assert.equal(signedIn(attacker), false);
      assert.equal(r.headers.getSetCookie().length, 0);
    });
    it("another interaction's cookie does not open this one", async () => {
      const victim = await open();
      const other = await open();
      const r = await other.browser.post(victim.login, {
        csrf: victim.csrf,
        username: 'alice',
        password: PASSWORD,
      });
      assertErrorPage(r, 403);
    });
    it('the interaction GET without its cookie → 403 page', async () => {
      const { interaction } = await open();
      assertErrorPage(await new Browser(s.server.url).get(interaction), 403);
    });
  });

  describe('failures', () => {
    beforeEach(() => {
      // A fresh throttle window for each test (15 min sliding window + 5 min lock).
      s.server.clock.advanceSeconds(3600);
    });
    it('wrong password and unknown user get the same generic message and status', async () => {
      const a = await open();
      const wrong = await a.browser.post(a.login, { csrf: a.csrf, username: 'alice', password: 'nope' });
      const b = await open();
      const unknown = await b.browser.post(b.login, { csrf: b.csrf, username: 'mallory', password: 'nope' });
      for (const r of [wrong, unknown]) {
        assert.equal(r.status, 401);
        assert.match(r.body, /Wrong username or password\./);
        assert.equal(r.location, null);
      }
      assert.equal(signedIn(a.browser), false);
      assert.equal(signedIn(b.browser), false);
      // The name typed is kept, the password is not.
      assert.match(unknown.body, /value="mallory"/);
      assert.ok(!wrong.body.includes('value="nope"'));
      // After a failure the same page still works.
      const ok = await a.browser.post(a.login, { csrf: a.csrf, username: 'alice', password: PASSWORD });
      assert.equal(ok.status, 303);
      assert.ok(callback(ok.location).searchParams.get('code'));
    });
    it('empty username or password → 400 with a message', async () => {
      const a = await open();
      const r = await a.browser.post(a.login, { csrf: a.csrf, username: '  ', password: '' });
      assert.equal(r.status, 400);
      assert.match(r.body, /Enter your username and password/);
    });
    it('a disabled user cannot sign in (same generic message)', async () => {
      const dave = await createUser(s.server, 'dave');
      await s.server.ctx.storage.users.setDisabled(dave.id, true, s.server.clock.now());
      const a = await open();
      const r = await a.browser.post(a.login, { csrf: a.csrf, username: 'dave', password: PASSWORD });
      assert.equal(r.status, 401);
      assert.match(r.body, /Wrong username or password\./);
      assert.equal(signedIn(a.browser), false);
    });
    it('a user disabled after signing in loses the session', async () => {
      const erin = await createUser(s.server, 'erin');
      const a = await open();
      const ok = await a.browser.post(a.login, { csrf: a.csrf, username: 'erin', password: PASSWORD });
      assert.equal(ok.status, 303);
      await s.server.ctx.storage.users.setDisabled(erin.id, true, s.server.clock.now());
      const again = await a.browser.get(authorizePath(s.app, pkce()));
      assert.match(again.location ?? '', /^\/interaction\//, 'asked to sign in again');
      const none = await a.browser.get(authorizePath(s.app, pkce(), { prompt: 'none' }));
      assert.equal(callback(none.location).searchParams.get('error'), 'login_required');
    });
    it('a failure to check the password is an error page, never a wrong password or a lock', async () => {
      const kill = (w: Worker) => w.once('online', () => void w.terminate());
      process.on('worker', kill);
      try {
        for (const w of workers) await w.terminate();
        const a = await open();
        for (let i = 0; i < 6; i++) {
          const r = await a.browser.post(a.login, { csrf: a.csrf, username: 'carol', password: PASSWORD });
          assertErrorPage(r, 500);
          assert.doesNotMatch(r.body, /Wrong username or password|HashingThread|at .*\.ts:/);
        }
      } finally {
        process.off('worker', kill);
      }
      const failures = await s.server.ctx.storage.audit.list({ type: 'login_failure' });
      assert.ok(!failures.some((e) => e.detail?.['username'] === 'carol'), 'no login_failure recorded');
      const b = await open();
      const r = await b.browser.post(b.login, { csrf: b.csrf, username: 'carol', password: PASSWORD });
      assert.equal(r.status, 303, 'six failed checks did not lock the account (5 failures would)');
    });
    it('throttles after repeated failures: 429 with a message, Retry-After, audit login_throttled', async () => {
      const a = await open();
      let r: Step | undefined;
      for (let i = 0; i < 5; i++) {
        r = await a.browser.post(a.login, { csrf: a.csrf, username: 'carol', password: `bad-${i}` });
        assert.equal(r.status, 401);
      }
      // Locked now: even the right password is refused, with a clear message.
      r = await a.browser.post(a.login, { csrf: a.csrf, username: 'carol', password: PASSWORD });
      assert.equal(r.status, 429);
      assert.match(r.body, /Too many failed sign-in attempts/);
      assert.ok(Number(r.headers.get('retry-after')) > 0);
      assert.equal(signedIn(a.browser), false);
      // Case does not get around the lock.
      r = await a.browser.post(a.login, { csrf: a.csrf, username: 'CAROL', password: PASSWORD });
      assert.equal(r.status, 429);
      const events = await s.server.ctx.storage.audit.list({ type: 'login_throttled' });
      assert.ok(
        events.some((e) => e.detail?.['username'] === 'carol'),
        JSON.stringify(events),
      );
      const failures = await s.server.ctx.storage.audit.list({ type: 'login_failure' });
      assert.ok(failures.length >= 5);
      // Other accounts are not locked by carol's failures.
      const b = await open();
      const alice = await b.browser.post(b.login, { csrf: b.csrf, username: 'alice', password: PASSWORD });
      assert.equal(alice.status, 303);
      // After the lock ends carol can sign in again.
      s.server.clock.advanceSeconds(301);
      r = await a.browser.post(a.login, { csrf: a.csrf, username: 'carol', password: PASSWORD });
      assert.equal(r.status, 303, r.body.slice(0, 300));
      assert.ok(callback(r.location).searchParams.get('code'));
    });
  });

  describe('per-IP throttling', () => {
    it('30 failures from one address across many names lock that address, for every account', async () => {
      const s2 = await startTestServer();
      try {
        await createUser(s2, 'alice');
        const a2 = await createClient(s2);
        const b = new Browser(s2.url);
        const start = await b.get(authorizePath(a2, pkce()));
        const page = await b.get(start.location!);
        const { csrf, actions } = formOf(page.body);
        const login = actions.find((x) => x.endsWith('/login'))!;
        for (let i = 0; i < 30; i++) {
          const r = await b.post(login, { csrf, username: `nobody-${i}`, password: 'x' });
          assert.equal(r.status, 401, `attempt ${i}`);
        }
        const r = await b.post(login, { csrf, username: 'alice', password: PASSWORD });
        assert.equal(r.status, 429);
        assert.match(r.body, /Too many failed sign-in attempts/);
        const events = await s2.ctx.storage.audit.list({ type: 'login_throttled' });
        assert.equal(events.length, 1);
        assert.equal(events[0]!.ip, '127.0.0.1');
      } finally {
        await s2.cleanup();
      }
    });
  });

  describe('expiry', () => {
    it('a sign-in page left open past its lifetime → expired page, no sign-in', async () => {
      const a = await open();
      s.server.clock.advanceSeconds(15 * 60 + 1);
      const page = await a.browser.get(a.interaction);
      assertErrorPage(page, 400);
      assert.match(page.body, /expired/);
      const r = await a.browser.post(a.login, { csrf: a.csrf, username: 'alice', password: PASSWORD });
      assertErrorPage(r, 400);
      assert.equal(signedIn(a.browser), false);
    });
  });

  describe('cancel', () => {
    it('Cancel sends access_denied to the client with state and iss', async () => {
      const a = await open();
      const cancel = formOf(a.page.body).actions.find((x) => x.endsWith('/cancel'))!;
      const r = await a.browser.post(cancel, { csrf: a.csrf });
      assert.equal(r.status, 303);
      const url = callback(r.location);
      assert.equal(url.searchParams.get('error'), 'access_denied');
      assert.equal(url.searchParams.get('state'), 'st-123');
      assert.equal(url.searchParams.get('iss'), s.server.issuer);
    });
  });
});
