/**
 * Browser sessions and the prompt / max_age / consent rules (OIDC Core §3.1.2.1), over real HTTP,
 * with the injected clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { ManualClock } from '../../src/clock.js';
import { sha256 } from '../../src/crypto.js';
import { authorizeThroughBrowser, Browser, formOf } from '../helpers/browser.js';
import { authorizePath, callback, getCode, pkce, redeem, withServer } from '../helpers/flow.js';
import { createClient, createUser, startTestServer } from '../helpers/server.js';

type App = { clientId: string; redirectUri: string };

describe('sessions, prompt, max_age and consent', () => {
  const s = withServer({
    // Short lifetimes so the test can walk past them with the clock.
    overrides: { sessionIdleSec: 300, sessionAbsoluteSec: 900 },
    users: ['alice'],
    app: { consent: 'none' },
  });
  const p = pkce();

  /** A browser with a signed-in session. */
  async function signedIn(a: App = s.app): Promise<Browser> {
    const b = new Browser(s.server.url);
    await getCode(s.server, a, p, {}, { browser: b });
    assert.ok(b.cookies.has('latchkey_session'));
    return b;
  }

  /** Where a fresh /authorize from this browser goes: 'code', 'signin', 'consent' or an error code. */
  async function outcome(
    b: Browser,
    extra: Record<string, string | null> = {},
    a: App = s.app,
  ): Promise<string> {
    const step = await b.get(authorizePath(a, p, extra));
    assert.equal(step.status, 303, step.body.slice(0, 200));
    if (step.location?.startsWith('/interaction/')) {
      const page = await b.get(step.location);
      assert.equal(page.status, 200);
      return page.body.includes('name="password"') ? 'signin' : 'consent';
    }
    const url = callback(step.location);
    assert.equal(url.searchParams.get('iss'), s.server.issuer);
    return url.searchParams.get('error') ?? (url.searchParams.get('code') ? 'code' : 'nothing');
  }

  describe('the session cookie', () => {
    it('is HttpOnly, SameSite=Lax, Path=/, and stored only as a hash', async () => {
      const b = new Browser(s.server.url);
      const start = await b.get(authorizePath(s.app, p));
      const page = await b.get(start.location!);
      const { csrf, actions } = formOf(page.body);
      const res = await fetch(s.server.url + actions.find((x) => x.endsWith('/login'))!, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: b.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, username: 'alice', password: 'correct horse battery staple' }),
      });
      assert.equal(res.status, 303);
      const set = res.headers.getSetCookie().find((c) => c.startsWith('latchkey_session='));
      assert.ok(set, 'a session cookie is set');
      assert.match(set, /;\s*HttpOnly/i);
      assert.match(set, /;\s*SameSite=Lax/i);
      assert.match(set, /;\s*Path=\//i);
      assert.doesNotMatch(set, /;\s*Secure/i, 'no Secure on an http issuer (it would be dropped)');
      const raw = set.split(';')[0]!.split('=')[1]!;
      assert.ok(raw.length >= 43, 'at least 256 bits');
      assert.equal(
        await s.server.ctx.storage.sessions.get(raw),
        undefined,
        'the cookie value is not a row id',
      );
      const row = await s.server.ctx.storage.sessions.get(sha256(raw));
      assert.ok(row);
      assert.notEqual(row.idHash, raw);
      // The interaction cookie is scoped to /interaction and HttpOnly too.
      const inter = start.headers.getSetCookie().find((c) => c.startsWith('latchkey_interaction='));
      assert.ok(inter);
      assert.match(inter, /HttpOnly/i);
      assert.match(inter, /SameSite=Lax/i);
      const id = start.location!.split('/')[2]!;
      assert.match(inter, new RegExp(`Path=/interaction/${id}(;|$)`, 'i'), 'scoped to this interaction');
    });
  });

  describe('single sign-on and lifetimes', () => {
    it('SSO: a signed-in browser gets a code without the sign-in page; the ID token carries auth_time', async () => {
      const b = await signedIn();
      assert.equal(await outcome(b), 'code');
      s.server.clock.advanceSeconds(30);
      const { code } = await getCode(s.server, s.app, p, { nonce: 'x' }, { browser: b });
      const tok = await redeem(s.server, s.app, code, p.verifier);
      const id = decodeJwt(tok.json['id_token'] as string);
      assert.ok(typeof id['auth_time'] === 'number');
      assert.ok(
        (id.iat as number) - (id['auth_time'] as number) >= 30,
        'auth_time is the sign-in time, not now',
      );
    });
    it('idle lifetime: after sessionIdleSec without use the next authorize asks to sign in again', async () => {
      const b = await signedIn();
      s.server.clock.advanceSeconds(200);
      assert.equal(await outcome(b), 'code', 'still within the idle window; this use refreshes it');
      s.server.clock.advanceSeconds(200);
      assert.equal(await outcome(b), 'code', '400 s since sign-in but only 200 s idle');
      s.server.clock.advanceSeconds(301);
      assert.equal(await outcome(b), 'signin');
    });
    it('absolute lifetime: even an active session ends after sessionAbsoluteSec', async () => {
      const b = await signedIn();
      for (let t = 0; t < 4; t++) {
        s.server.clock.advanceSeconds(200);
        assert.equal(await outcome(b), 'code', `at ${(t + 1) * 200} s`);
      }
      s.server.clock.advanceSeconds(101); // 901 s since sign-in
      assert.equal(await outcome(b), 'signin');
    });
    it('a forged or unknown session cookie is simply not a session', async () => {
      const b = new Browser(s.server.url);
      b.cookies.set('latchkey_session', 'A'.repeat(43));
      assert.equal(await outcome(b), 'signin');
    });
  });

  describe('prompt and max_age', () => {
    it('prompt=login forces the sign-in page even with a session, and auth_time moves', async () => {
      const b = await signedIn();
      assert.equal(await outcome(b, { prompt: 'login' }), 'signin');
      s.server.clock.advanceSeconds(10);
      const before = (await s.server.ctx.storage.sessions.get(sha256(b.cookies.get('latchkey_session')!)))!;
      const step = await authorizeThroughBrowser(b, authorizePath(s.app, p, { prompt: 'login' }));
      assert.equal(step.status, 303);
      const after = (await s.server.ctx.storage.sessions.get(sha256(b.cookies.get('latchkey_session')!)))!;
      assert.ok(after.authTime > before.authTime);
    });
    it('max_age: a small max_age after advancing the clock forces sign-in; within it, SSO', async () => {
      const b = await signedIn();
      assert.equal(await outcome(b, { max_age: '60' }), 'code');
      s.server.clock.advanceSeconds(61);
      assert.equal(await outcome(b, { max_age: '60' }), 'signin');
      assert.equal(await outcome(b, { max_age: '3600' }), 'code');
    });
    it('max_age=0 always forces sign-in, even in the same millisecond as the last one', async () => {
      const b = await signedIn();
      // The clock has not moved since the sign-in.
      assert.equal(await outcome(b, { max_age: '0' }), 'signin');
    });
    it('max_age=0 forces sign-in on a frozen clock too (elapsed time exactly 0)', async () => {
      const frozen = new ManualClock({ now: () => Date.UTC(2030, 0, 1) });
      const s2 = await startTestServer({ clock: frozen });
      try {
        await createUser(s2, 'alice');
        const a2 = await createClient(s2);
        const b = new Browser(s2.url);
        await getCode(s2, a2, p, {}, { browser: b });
        const step = await b.get(authorizePath(a2, p, { max_age: '0' }));
        assert.match(step.location ?? '', /^\/interaction\//, 'max_age=0 means sign in again');
        const ok = await b.get(authorizePath(a2, p, { max_age: '1' }));
        assert.ok(callback(ok.location).searchParams.get('code'), 'max_age=1 with 0 s elapsed is SSO');
      } finally {
        await s2.cleanup();
      }
    });
    it('prompt=none without a session → login_required at the client', async () => {
      assert.equal(await outcome(new Browser(s.server.url), { prompt: 'none' }), 'login_required');
    });
    it('prompt=none with a session and nothing to ask → code', async () => {
      assert.equal(await outcome(await signedIn(), { prompt: 'none' }), 'code');
    });
    it('prompt=none with max_age exceeded → login_required', async () => {
      const b = await signedIn();
      s.server.clock.advanceSeconds(11);
      assert.equal(await outcome(b, { prompt: 'none', max_age: '10' }), 'login_required');
    });
    it('prompt=none with a session but missing consent → consent_required', async () => {
      const needs = await createClient(s.server, { consent: 'required' });
      const b = await signedIn();
      assert.equal(await outcome(b, { prompt: 'none' }, needs), 'consent_required');
    });
  });

  describe('consent', () => {
    it('consent=required: Deny → access_denied with state and iss', async () => {
      const needs = await createClient(s.server, { consent: 'required' });
      const step = await authorizeThroughBrowser(new Browser(s.server.url), authorizePath(needs, p), {
        consent: 'deny',
      });
      assert.equal(step.status, 303);
      const url = callback(step.location);
      assert.equal(url.searchParams.get('error'), 'access_denied');
      assert.equal(url.searchParams.get('state'), 'st-123');
      assert.equal(url.searchParams.get('iss'), s.server.issuer);
      assert.equal(url.searchParams.get('code'), null);
    });
    it('granted consent is remembered: the second authorize goes straight through', async () => {
      const needs = await createClient(s.server, { consent: 'required' });
      const b = new Browser(s.server.url);
      const first = await authorizeThroughBrowser(b, authorizePath(needs, p, { scope: 'openid profile' }), {
        consent: 'allow',
      });
      assert.ok(callback(first.location).searchParams.get('code'));
      assert.equal(await outcome(b, { scope: 'openid profile' }, needs), 'code');
      assert.equal(await outcome(b, { scope: 'openid' }, needs), 'code', 'a subset needs no new consent');
      assert.equal(await outcome(b, { scope: 'openid email' }, needs), 'consent', 'a new scope asks again');
    });
    it('prompt=consent shows the consent page even for a consent=none client', async () => {
      const b = await signedIn();
      assert.equal(await outcome(b, { prompt: 'consent' }), 'consent');
      const deny = await authorizeThroughBrowser(b, authorizePath(s.app, p, { prompt: 'consent' }), {
        consent: 'deny',
      });
      assert.equal(callback(deny.location).searchParams.get('error'), 'access_denied');
    });
    it('the consent page lists the scopes and the application', async () => {
      const needs = await createClient(s.server, { consent: 'required', name: 'Scoped App' });
      const b = await signedIn();
      const step = await b.get(authorizePath(needs, p, { scope: 'openid profile email' }));
      const page = await b.get(step.location!);
      assert.match(page.body, /Scoped App/);
      assert.match(page.body, /Allow/);
      assert.match(page.body, /Deny/);
      assert.ok(page.body.includes('<li>'));
    });
    it('a consent POST replayed after completion → error page, no second code', async () => {
      const needs = await createClient(s.server, { consent: 'required' });
      const b = await signedIn();
      const step = await b.get(authorizePath(needs, p));
      const page = await b.get(step.location!);
      const { csrf, actions } = formOf(page.body);
      const action = actions.find((x) => x.endsWith('/consent'))!;
      const first = await b.post(action, { csrf, decision: 'allow' });
      assert.equal(first.status, 303);
      const second = await b.post(action, { csrf, decision: 'allow' });
      assert.equal(second.status, 400);
      assert.equal(second.location, null);
    });
  });
});
