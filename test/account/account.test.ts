/**
 * The account page (/account) over real HTTP, with the injected clock: the sign-in through the
 * same steps as an application's, factors (authenticator app, recovery codes shown once, passkeys
 * of the person only), the last factor under LATCHKEY_MFA=required, sessions with IP and device,
 * revoking an application, the password change, and the recent sign-in every change needs.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { totpCodeAt } from '../../src/auth/totp.js';
import { randomToken, sha256 } from '../../src/crypto.js';
import type { Passkey } from '../../src/storage/types.js';
import { Browser, formOf } from '../helpers/browser.js';
import { authorizePath, getCode, pkce, redeem, refresh, withServer } from '../helpers/flow.js';
import { createClient, createUser, PASSWORD, type TestServer } from '../helpers/server.js';
import {
  Device,
  enrolTotp,
  FIREFOX,
  follow,
  passwordSteps,
  recoveryCodes,
  SAFARI_IOS,
  signInToAccount,
  submit,
  textOf,
  totpSetup,
} from './account-helpers.js';

/** A passkey row as registration would store it (the tests of ownership need no ceremony). */
function passkeyOf(userId: string, name: string, at: number): Passkey {
  return {
    id: randomToken(12),
    userId,
    credentialId: randomToken(16),
    publicKey: randomToken(32),
    counter: 0,
    transports: ['internal'],
    backupEligible: true,
    backedUp: true,
    aaguid: '00000000-0000-0000-0000-000000000000',
    name,
    createdAt: at,
    lastUsedAt: null,
  };
}

/**
 * Records a passkey step in the browser's session: with passkeys, the account page asks for one
 * (LATCHKEY_MFA=optional), and the tests that store passkeys directly stand in for that step.
 */
async function usedPasskey(server: TestServer, b: Browser): Promise<void> {
  const now = server.clock.now();
  const hash = sha256(b.cookies.get('latchkey_session')!);
  await server.ctx.storage.sessions.setAuthMethods(hash, { pwd: now, swk: now, uv: now }, now);
}

const events = async (server: TestServer, type: string, userId: string) =>
  (await server.ctx.audit.list({ type, userId })).map((e) => e.detail);

describe('account page', () => {
  const s = withServer({ users: ['alice'] });
  let server: TestServer;
  before(() => {
    server = s.server;
  });

  it('signs in through the sign-in page of "your Latchkey account" and lists nothing enrolled', async () => {
    const b = new Device(server.url);
    const start = await b.get('/account');
    assert.equal(start.status, 303);
    const login = await b.get(start.location!);
    assert.match(textOf(login.body), /to continue to your Latchkey account/);
    assert.equal(await server.ctx.storage.clients.get('latchkey-account'), undefined, 'not a stored client');
    const done = await passwordSteps(server, b, login, 'alice');
    assert.equal(done.status, 303);
    assert.equal(done.location, '/account', 'no code: back to the page');
    assert.ok(b.cookies.has('latchkey_session'));
    const page = await b.get('/account');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    const text = textOf(page.body);
    assert.match(text, /Signed in as alice/);
    assert.match(text, /No passkeys yet\./);
    assert.match(text, /No authenticator app set up\./);
    assert.match(text, /Recovery codes come with your first passkey or authenticator app\./);
    assert.match(text, /No application has access to your account\./);
    assert.match(text, /Firefox on Linux This device/);
    // No third-party resource, no script on the page itself.
    assert.doesNotMatch(page.body, /<script|https?:\/\/(?!127\.0\.0\.1)/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'none'/);

    // The pseudo-application is no client for /authorize.
    const authorize = await b.get(
      authorizePath({ clientId: 'latchkey-account', redirectUri: '/account' }, pkce()),
    );
    assert.equal(authorize.status, 400);
    assert.equal(authorize.location, null);
  });

  it('without a session: a POST changes nothing and leads to the sign-in; a cancelled sign-in says so', async () => {
    const b = new Browser(server.url);
    const post = await b.post('/account/totp', { csrf: 'x' });
    assert.equal(post.status, 303);
    assert.match(post.location ?? '', /^\/interaction\//);
    const page = await b.get(post.location!);
    const cancelled = await submit(b, page, '/cancel');
    assert.equal(cancelled.status, 303);
    assert.match(cancelled.location ?? '', /^\/account\?error=access_denied/);
    const shown = await b.get(cancelled.location!);
    assert.equal(shown.status, 200);
    assert.match(textOf(shown.body), /Not signed in The sign-in was cancelled\./);
    // Only our own words, whatever the query says.
    const crafted = await b.get('/account?error=x&error_description=Call%20this%20number');
    assert.doesNotMatch(crafted.body, /Call this number/);
  });

  it('sets up an authenticator app: QR code, a wrong code refused, recovery codes shown once, listed', async () => {
    await createUser(server, 'tess');
    const { b, page } = await signInToAccount(server, 'tess');
    const start = await submit(b, page, '/account/totp');
    assert.equal(start.location, '/account/totp');
    const setup = await b.get('/account/totp');
    assert.equal(setup.status, 200);
    assert.match(setup.body, /<svg[^>]*role="img"/, 'a QR code of our own');
    const { secret, factor } = totpSetup(setup);
    const good = totpCodeAt(secret, server.clock.now());
    const wrong = await submit(b, setup, '/account/totp/confirm', {
      factor,
      code: good === '000000' ? '111111' : '000000',
    });
    assert.equal(wrong.status, 401);
    assert.match(textOf(wrong.body), /That code is not right/);
    assert.equal(totpSetup(wrong).factor, factor, 'the same set-up again');

    const confirmed = await submit(b, setup, '/account/totp/confirm', { factor, code: good });
    assert.equal(confirmed.status, 200);
    const codes = recoveryCodes(confirmed);
    assert.equal(codes.length, 10);
    assert.match(textOf(confirmed.body), /shown only now/);

    const after = await b.get('/account');
    const text = textOf(after.body);
    assert.match(text, /Authenticator app Added [^·]+ · last used/);
    assert.match(text, /10 of 10 codes left/);
    for (const c of codes) assert.ok(!after.body.includes(c), 'the codes are not shown again');
    const tess = (await server.ctx.storage.users.getByUsername('tess'))!;
    assert.deepEqual(await events(server, 'totp_enrolled', tess.id), [{ via: 'account', factor }]);
    assert.equal((await events(server, 'recovery_codes_generated', tess.id)).length, 1);

    // New codes replace the old ones, shown once.
    const renewed = await submit(b, after, '/account/recovery-codes');
    assert.equal(renewed.status, 200);
    const next = recoveryCodes(renewed);
    assert.equal(next.length, 10);
    assert.ok(next.every((c) => !codes.includes(c)));
    assert.equal((await events(server, 'recovery_codes_generated', tess.id)).length, 2);

    // Removing the last factor (no policy requires one here) takes the recovery codes with it.
    const id = (await server.ctx.storage.factors.totpOf(tess.id))[0]!.id;
    const removed = await submit(b, await b.get('/account'), `/account/totp/${id}/remove`);
    assert.equal(removed.location, '/account?done=last-factor-removed');
    assert.equal(await server.ctx.storage.factors.recoveryCodesOf(tess.id), undefined);
    assert.match(textOf((await b.get(removed.location!)).body), /your recovery codes were removed too/);
    assert.equal((await events(server, 'totp_removed', tess.id)).length, 1);
    assert.equal((await events(server, 'recovery_codes_removed', tess.id)).length, 1);
  });

  it("passkeys: rename and remove one's own; another person's id is refused and left alone", async () => {
    const paula = await createUser(server, 'paula');
    const bob = await createUser(server, 'bob');
    const mine = passkeyOf(paula.id, 'Laptop', server.clock.now());
    const spare = passkeyOf(paula.id, 'Phone', server.clock.now());
    const theirs = passkeyOf(bob.id, "Bob's key", server.clock.now());
    await server.ctx.storage.factors.addPasskey(theirs);
    const { b, page } = await signInToAccount(server, 'paula');
    for (const p of [mine, spare]) await server.ctx.storage.factors.addPasskey(p);
    await usedPasskey(server, b);
    const withKeys = await b.get('/account');
    assert.match(textOf(withKeys.body), /Laptop Synced passkey · Added/);
    assert.ok(!withKeys.body.includes('Bob&#39;s key') && !withKeys.body.includes("Bob's key"));

    const { csrf } = formOf(page.body);
    const rename = await b.post(`/account/passkeys/${theirs.id}/rename`, { csrf, name: 'Taken' });
    assert.equal(rename.status, 404);
    assert.match(textOf(rename.body), /That passkey is not on your account/);
    const remove = await b.post(`/account/passkeys/${theirs.id}/remove`, { csrf });
    assert.equal(remove.status, 404);
    assert.equal((await server.ctx.storage.factors.passkeysOf(bob.id))[0]?.name, "Bob's key", 'untouched');
    for (const bad of ['..', 'x'.repeat(100), '%00'])
      assert.equal((await b.post(`/account/passkeys/${bad}/remove`, { csrf })).status, 404, bad);

    const empty = await b.post(`/account/passkeys/${mine.id}/rename`, { csrf, name: '  \u0007 ' });
    assert.equal(empty.status, 400);
    assert.match(textOf(empty.body), /Enter a name for the passkey/);
    const renamed = await b.post(`/account/passkeys/${mine.id}/rename`, { csrf, name: '  Work <laptop>  ' });
    assert.equal(renamed.status, 303);
    assert.equal(renamed.location, '/account?done=passkey-renamed');
    const listed = await b.get(renamed.location!);
    assert.match(listed.body, /<strong>Work &lt;laptop><\/strong>/, 'escaped');
    assert.match(textOf(listed.body), /The passkey was renamed\./);
    assert.deepEqual(await events(server, 'passkey_renamed', paula.id), [
      { via: 'account', passkey: mine.id },
    ]);

    const gone = await b.post(`/account/passkeys/${spare.id}/remove`, { csrf });
    assert.equal(gone.location, '/account?done=passkey-removed');
    assert.deepEqual(
      (await server.ctx.storage.factors.passkeysOf(paula.id)).map((p) => p.id),
      [mine.id],
    );
    assert.deepEqual(await events(server, 'passkey_removed', paula.id), [
      { via: 'account', passkey: spare.id },
    ]);
  });

  it('a form without its CSRF token, or with bad input, is refused with a page (never a 500)', async () => {
    await createUser(server, 'cody');
    const { b, page } = await signInToAccount(server, 'cody');
    const { csrf } = formOf(page.body);
    const noToken = await b.post('/account/totp', {});
    assert.equal(noToken.status, 403);
    assert.match(textOf(noToken.body), /CSRF check failed/);
    assert.equal((await b.post('/account/totp', { csrf: `${csrf}x` })).status, 403);
    const json = await fetch(`${server.url}/account/password`, {
      method: 'POST',
      headers: { cookie: b.cookieHeader(), 'content-type': 'application/json' },
      body: JSON.stringify({ csrf }),
    });
    assert.ok(json.status === 400 || json.status === 403, String(json.status));
    assert.equal((await b.post('/account/password', { csrf })).status, 400);
    assert.equal((await b.post('/account/password', { csrf, current: 'x'.repeat(5000) })).status, 400);
    assert.equal((await b.post('/account/applications/revoke', { csrf, client: 'nope' })).status, 404);
    assert.equal((await b.post('/account/applications/revoke', { csrf })).status, 404);
    assert.equal((await b.post('/account/sessions/unknown/end', { csrf })).status, 404);
    assert.equal((await b.post('/account/totp/confirm', { csrf, factor: 'nope', code: '1' })).status, 400);
    assert.equal((await b.post('/account/passkeys', { csrf, credential: '{' })).status, 400);
    const nothing = await b.get('/account/totp');
    assert.equal(nothing.status, 303, 'no set-up waiting: back to the page');
    assert.equal(
      (await events(server, 'totp_enrolled', (await server.ctx.storage.users.getByUsername('cody'))!.id))
        .length,
      0,
    );
  });

  it('sessions: listed with device and IP, this one marked; sign out one, then all others', async () => {
    const sam = await createUser(server, 'sam');
    const first = await signInToAccount(server, 'sam', { userAgent: FIREFOX });
    const phone = await signInToAccount(server, 'sam', { userAgent: SAFARI_IOS });
    const third = await signInToAccount(server, 'sam', { userAgent: 'curl/8.5.0' });
    const page = await first.b.get('/account');
    const text = textOf(page.body);
    assert.match(text, /Firefox on Linux This device IP 127\.0\.0\.1 · Signed in/);
    assert.match(text, /Safari on iOS IP 127\.0\.0\.1/);
    assert.match(text, /curl \(not a browser we know\)/);
    assert.equal(text.match(/This device/g)?.length, 1);
    const stored = await server.ctx.storage.sessions.listForUser(sam.id, server.clock.now());
    assert.deepEqual(new Set(stored.map((x) => x.userAgent)), new Set([FIREFOX, SAFARI_IOS, 'curl/8.5.0']));
    assert.ok(!page.body.includes(stored[0]!.idHash), 'no stored session id on the page');

    // Sign out the phone.
    const phoneHash = sha256(phone.b.cookies.get('latchkey_session')!);
    const handle = [...page.body.matchAll(/action="\/account\/sessions\/([^/"]+)\/end"/g)].map((m) => m[1]!);
    assert.equal(handle.length, 2);
    let ended = 0;
    for (const h of handle) {
      const row = new RegExp(`id="session-${h}"[\\s\\S]*?</li>`).exec(page.body)?.[0] ?? '';
      if (!row.includes('Safari on iOS')) continue;
      const r = await submit(first.b, page, `/account/sessions/${h}/end`);
      assert.equal(r.location, '/account?done=session-ended');
      ended++;
    }
    assert.equal(ended, 1);
    assert.notEqual((await server.ctx.storage.sessions.get(phoneHash))?.endedAt, null);
    const phoneNow = await phone.b.get('/account');
    assert.equal(phoneNow.status, 303, 'the phone must sign in again');
    assert.match(phoneNow.location ?? '', /^\/interaction\//);

    // All others: the third one ends, this one stays.
    const r = await submit(first.b, await first.b.get('/account'), '/account/sessions/end-others');
    assert.equal(r.location, '/account?done=sessions-ended');
    assert.equal((await third.b.get('/account')).status, 303);
    const mine = await first.b.get('/account');
    assert.equal(mine.status, 200);
    assert.match(textOf(mine.body), /You are not signed in anywhere else\./);
    assert.deepEqual(
      (await events(server, 'session_ended', sam.id)).map((d) => d?.['sessions']),
      [1, 1],
    );

    // This device signs out without a fresh sign-in.
    server.clock.advanceSeconds(600);
    const out = await submit(first.b, await first.b.get('/account'), '/account/sign-out');
    assert.equal(out.status, 200);
    assert.match(textOf(out.body), /You are signed out/);
    assert.equal(first.b.cookies.has('latchkey_session'), false);
    assert.equal((await first.b.get('/account')).status, 303);
  });

  it("revoking an application's access: consent forgotten, its refresh token no longer works", async () => {
    await createUser(server, 'rita');
    const app = await createClient(server, { consent: 'required', name: 'Photo Printer' });
    const b = new Device(server.url);
    const p = pkce();
    const got = await getCode(
      server,
      app,
      p,
      { scope: 'openid profile offline_access' },
      { browser: b, username: 'rita' },
    );
    const tokens = await redeem(server, app, got.code, p.verifier);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
    const rt = String(tokens.json['refresh_token']);

    const page = await b.get('/account');
    assert.equal(page.status, 200, 'the session of the sign-in serves the account page');
    const text = textOf(page.body);
    assert.match(text, /Photo Printer Can: .*Allowed .* last signed in/);
    const r = await submit(b, page, '/account/applications/revoke', { client: app.clientId });
    assert.equal(r.location, '/account?done=app-revoked');
    assert.match(textOf((await b.get(r.location!)).body), /No application has access to your account\./);

    const refused = await refresh(server, app, rt);
    assert.equal(refused.status, 400);
    assert.equal(refused.json['error'], 'invalid_grant');
    const rita = (await server.ctx.storage.users.getByUsername('rita'))!;
    assert.equal(await server.ctx.storage.consents.get(rita.id, app.clientId), undefined);
    const [event] = await server.ctx.audit.list({ type: 'grant_revoked_by_user', userId: rita.id });
    assert.equal(event?.clientId, app.clientId);
    assert.deepEqual(event?.detail, { via: 'account', grants: 1, consent: true });
    // The application asks for consent again.
    const again = await b.get(authorizePath(app, pkce(), { scope: 'openid profile' }));
    const consent = await b.get(again.location!);
    assert.match(consent.body, /Allow access\?/);
  });

  it('password change: the current one is checked; the new one works and the other sessions end', async () => {
    const pat = await createUser(server, 'pat');
    const here = await signInToAccount(server, 'pat');
    const elsewhere = await signInToAccount(server, 'pat', { userAgent: SAFARI_IOS });
    const NEW = 'a new password, long enough';
    const wrong = await submit(here.b, here.page, '/account/password', {
      current: 'not my password',
      password: NEW,
      confirm: NEW,
    });
    assert.equal(wrong.status, 401);
    assert.match(textOf(wrong.body), /Your current password is not right\./);
    const short = await submit(here.b, here.page, '/account/password', {
      current: PASSWORD,
      password: 'short',
      confirm: 'short',
    });
    assert.equal(short.status, 400);
    assert.match(textOf(short.body), /The new password must be at least 8 characters\./);
    const mismatch = await submit(here.b, here.page, '/account/password', {
      current: PASSWORD,
      password: NEW,
      confirm: `${NEW}!`,
    });
    assert.equal(mismatch.status, 400);
    assert.equal((await elsewhere.b.get('/account')).status, 200, 'nothing changed yet');
    assert.equal(
      (await server.ctx.audit.list({ type: 'login_failure', userId: pat.id }))[0]?.detail?.['via'],
      'account',
      'the wrong password is a failed attempt like any other',
    );

    const changed = await submit(here.b, here.page, '/account/password', {
      current: PASSWORD,
      password: NEW,
      confirm: NEW,
    });
    assert.equal(changed.status, 303);
    assert.equal(changed.location, '/account?done=password-changed');
    assert.equal((await here.b.get('/account')).status, 200, 'this session stays');
    assert.equal((await elsewhere.b.get('/account')).status, 303, 'the other one ended');
    assert.deepEqual(await events(server, 'password_changed', pat.id), [
      { via: 'account', sessions_ended: 1 },
    ]);

    // The old password no longer signs in; the new one does.
    const old = new Device(server.url);
    const start = await old.get('/account');
    const refused = await submit(old, await old.get(start.location!), '/login', {
      username: 'pat',
      password: PASSWORD,
    });
    assert.equal(refused.status, 401);
    const fresh = new Device(server.url);
    const s2 = await fresh.get('/account');
    const ok = await passwordSteps(server, fresh, await fresh.get(s2.location!), 'pat', { password: NEW });
    assert.equal(ok.location, '/account');
  });

  it('a change more than five minutes after the sign-in asks for a new sign-in and is not made', async () => {
    const vic = await createUser(server, 'vic');
    const { b } = await signInToAccount(server, 'vic');
    const before = sha256(b.cookies.get('latchkey_session')!);
    server.clock.advanceSeconds(6 * 60);
    const page = await b.get('/account');
    assert.equal(page.status, 200, 'viewing needs no new sign-in');
    assert.match(textOf(page.body), /you will be asked to sign in again/);
    const r = await submit(b, page, '/account/totp');
    assert.equal(r.status, 303);
    assert.match(r.location ?? '', /^\/interaction\//);
    assert.deepEqual(await server.ctx.storage.factors.totpOf(vic.id), [], 'not applied');
    const login = await b.get(r.location!);
    assert.match(login.body, /name="password"/, 'a full sign-in (prompt=login)');
    const done = await passwordSteps(server, b, login, 'vic');
    assert.equal(done.location, '/account');
    const after = sha256(b.cookies.get('latchkey_session')!);
    assert.notEqual(after, before, 'a new session');
    assert.notEqual((await server.ctx.storage.sessions.get(before))?.endedAt, null, 'the replaced one ended');
    const again = await submit(b, await b.get('/account'), '/account/totp');
    assert.equal(again.location, '/account/totp', 'now it goes ahead');

    // A page that starts a change (a new passkey) comes back to itself after the sign-in.
    server.clock.advanceSeconds(6 * 60);
    const passkeyPage = await b.get('/account/passkeys/new');
    assert.equal(passkeyPage.status, 303);
    const back = await passwordSteps(server, b, await b.get(passkeyPage.location!), 'vic');
    assert.equal(back.location, '/account/passkeys/new');
    const ceremony = await b.get('/account/passkeys/new');
    assert.equal(ceremony.status, 200);
    assert.match(ceremony.body, /data-webauthn="register"/);
  });

  it('an application session without a second factor is stepped up for the account page', async () => {
    const olga = await createUser(server, 'olga');
    const { b, page } = await signInToAccount(server, 'olga');
    const secret = await enrolTotp(server, b, page);
    // A sign-in to an application that asks for no second factor: password only.
    const lax = await createClient(server, { consent: 'none', name: 'Lax app' });
    await server.ctx.storage.clients.update(lax.clientId, { mfa: 'none' });
    const other = new Device(server.url);
    await getCode(server, lax, pkce(), {}, { browser: other, username: 'olga' });
    const step = await other.get('/account');
    assert.equal(step.status, 303);
    const factor = await other.get(step.location!);
    assert.match(factor.body, /Code from your authenticator app/, 'the account page wants the second factor');
    const done = await submit(other, factor, '/otp', { code: totpCodeAt(secret, server.clock.now()) });
    assert.equal(done.location, '/account');
    assert.equal((await other.get('/account')).status, 200);
    assert.ok((await server.ctx.storage.factors.summary(olga.id)).totp);
  });
});

describe('account page under LATCHKEY_MFA=required', () => {
  const s = withServer({ users: ['mia'], overrides: { mfa: 'required' } });

  it('the last factor cannot be removed; with another one it can', async () => {
    const server = s.server;
    // No factor yet: the sign-in enrols one on the spot (here: an authenticator app).
    const b = new Device(server.url);
    const start = await b.get('/account');
    const r = await passwordSteps(server, b, await b.get(start.location!), 'mia');
    const enrol = await follow(b, r);
    assert.match(enrol.body, /Protect your account/);
    const setup = await submit(b, enrol, '/enrol/totp');
    const { secret, factor } = totpSetup(setup);
    const codes = await submit(b, setup, '/enrol/totp/confirm', {
      factor,
      code: totpCodeAt(secret, server.clock.now()),
    });
    assert.equal(recoveryCodes(codes).length, 10);
    const done = await submit(b, codes, '/continue');
    assert.equal(done.location, '/account');
    const page = await b.get('/account');
    assert.match(textOf(page.body), /Your account must keep a passkey or an authenticator app/);

    const mia = (await server.ctx.storage.users.getByUsername('mia'))!;
    const [totp] = await server.ctx.storage.factors.totpOf(mia.id);
    const refused = await submit(b, page, `/account/totp/${totp!.id}/remove`);
    assert.equal(refused.status, 409);
    assert.match(textOf(refused.body), /This is the last passkey or authenticator app on your account/);
    assert.equal((await server.ctx.storage.factors.totpOf(mia.id)).length, 1, 'still there');

    const key = passkeyOf(mia.id, 'Security key', server.clock.now());
    await server.ctx.storage.factors.addPasskey(key);
    const removed = await submit(b, await b.get('/account'), `/account/totp/${totp!.id}/remove`);
    assert.equal(removed.location, '/account?done=totp-removed');
    assert.ok(await server.ctx.storage.factors.recoveryCodesOf(mia.id), 'the codes stay with the passkey');
    const last = await submit(b, await b.get('/account'), `/account/passkeys/${key.id}/remove`);
    assert.equal(last.status, 409);
    assert.equal((await server.ctx.storage.factors.passkeysOf(mia.id)).length, 1);
  });
});

describe('account page: an application that requires MFA', () => {
  const s = withServer({ users: ['nia'] });

  it('a person who uses it must keep a factor even when the server does not require one', async () => {
    const server = s.server;
    const strict = await createClient(server, { consent: 'none', name: 'Bank' });
    await server.ctx.storage.clients.update(strict.clientId, { mfa: 'required' });
    const nia = (await server.ctx.storage.users.getByUsername('nia'))!;
    const key = passkeyOf(nia.id, 'Phone', server.clock.now());
    const { b } = await signInToAccount(server, 'nia');
    await server.ctx.storage.factors.addPasskey(key);
    await usedPasskey(server, b);
    // No grant for the bank yet: the last factor may go.
    assert.doesNotMatch(textOf((await b.get('/account')).body), /must keep/);
    await server.ctx.storage.grants.createGrant({
      id: randomToken(12),
      clientId: strict.clientId,
      userId: nia.id,
      sessionHash: null,
      scope: 'openid',
      nonce: null,
      authTime: server.clock.now(),
      createdAt: server.clock.now(),
      revokedAt: null,
    });
    const page = await b.get('/account');
    assert.match(textOf(page.body), /must keep a passkey or an authenticator app/);
    assert.match(textOf(page.body), /Bank/);
    const refused = await submit(b, page, `/account/passkeys/${key.id}/remove`);
    assert.equal(refused.status, 409);
  });
});
